"""The sync engine's tick and workers. `python -m bench.sync_dispatch [--quick]`.

1. Dispatch: 5,000 due integrations of 500 companies (10 each). The beat's tick task
   (`smbfinance.scheduler.tick`, run in this process as a worker would run it) claims them
   through `cross_tenant_claim_due_integrations` in chunks (FOR UPDATE SKIP LOCKED, a
   lease) and sends one sync task each, with `expires`, to a real Redis broker. Printed:
   the tick's time, start to end (the last sync task is in Redis by then), as a share of
   the one-minute period; median of 3 ticks after a warm-up, each past the previous one's
   lease so that all 5,000 are due again. Target ≤ 10 %. Nothing runs these tasks: the
   queue is read back (every integration exactly once, each with an expiry) and emptied.
2. Throughput: N Yuki integrations (100; 20 with --quick), each its own company in the
   Yuki simulator (real loopback HTTP and SOAP, served by this process). A real Celery
   worker process — prefork, concurrency 2, as deployed — runs the tasks the tick sent:
   integrations synced per second, for a company's first sync (its open items imported)
   and for a re-sync (the usual run: the same items read again; the rows are made due as
   if an hour had passed), each divided by the same worker setup's throughput of a no-op
   task (same base class, tenant scope, acks_late, expiry; it records its end in Redis,
   one round trip) measured in the same run, rounds taking turns. Rates count from the
   tenth completion to the last: worker start-up and first calls are left out.
   Target ≥ 0.5.
3. The floor: the same worker's throughput of a task that makes only the two calls a
   re-sync cannot do without (open receivables, open payables), each answered as cheaply
   as the simulator answers anything (`Authenticate`: no items generated, nothing parsed,
   over a kept-alive connection) and writes nothing, divided by the no-op's. No sync that
   reads Yuki can reach a higher ratio on this machine, whatever our own code costs.

Database: BENCH_DATABASE_URL (an admin URL) or embedded PostgreSQL, a database of its own,
dropped at the end. Redis: BENCH_REDIS_URL or embedded; on a given server the bench uses
database BENCH_SYNC_REDIS_DB (13), never the URL's own, and deletes only its own keys.
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from celery.signals import after_task_publish
from flask import current_app

from smbfinance.extensions import celery
from smbfinance.platform import redis_client

ROOT = Path(__file__).resolve().parent.parent
DATABASE = f"smbfinance_bench_sync_{os.getpid()}"  # two runs at once do not collide
REDIS_DB = int(os.environ.get("BENCH_SYNC_REDIS_DB", "13"))
QUEUE = "celery"  # the default queue, alone in its Redis database
PERIOD = 60.0
DISPATCH = (500, 10)  # companies × integrations each
DISPATCH_ROUNDS = 3
SYNCS, SYNCS_QUICK = 100, 20
SYNC_ROUNDS = 2
WARM_UP = 10  # completions left out of a rate
# The references run each integration's task this many times: at ~700 no-ops a second, 100
# tasks last a seventh of a second, too short a window to read a rate from.
REFERENCE_REPEAT = 10
NOOP_TASK = "bench.sync_dispatch.noop"
FLOOR_TASK = "bench.sync_dispatch.floor"
FLOOR_CALLS = 2  # a re-sync's least: OutstandingDebtorItems and OutstandingCreditorItems
DONE_KEY = "bench:sync_dispatch:noop-done"
IN_USE_KEY = "bench:sync_dispatch:in-use"
OWN_KEYS = ("celery*", "_kombu.*", "unacked*", "yuki:session:*", "bench:sync_dispatch:*",
            "smbfinance:integrations:breaker:*", "smbfinance:scheduler:last_tick")
PHASE_SECONDS = 300  # a phase that has not finished by then is reported, not waited for
STALLED_SECONDS = 70  # longer than a task lives (55 s): nothing more will come


@celery.task(name=NOOP_TASK, tenant_scoped=True, acks_late=True, reject_on_worker_lost=True)
def noop(*, tenant_id: uuid.UUID, integration_id: str, trigger: str = "tick",
         customer_ip: str | None = None) -> None:
    """The reference: what the sync task costs the worker without the sync."""
    redis_client(current_app).rpush(DONE_KEY, repr(time.time()))


_connections: dict[str, Any] = {}


@celery.task(name=FLOOR_TASK, tenant_scoped=True, acks_late=True, reject_on_worker_lost=True)
def floor(*, tenant_id: uuid.UUID, integration_id: str, trigger: str = "tick",
          customer_ip: str | None = None, service_url: str, access_key: str) -> None:
    """The floor: the no-op plus a re-sync's unavoidable provider calls, at their cheapest."""
    import requests

    from smbfinance.integrations.sandbox.yuki import NS, SOAP11

    session = _connections.setdefault("session", requests.Session())
    envelope = (f"<soap:Envelope xmlns:soap='{SOAP11}'><soap:Body><Authenticate xmlns='{NS}'>"
                f"<accessKey>{access_key}</accessKey></Authenticate></soap:Body>"
                "</soap:Envelope>").encode()
    for _ in range(FLOOR_CALLS):
        answer = session.post(service_url, data=envelope, timeout=5, headers={
            "Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{NS}Authenticate"'})
        if answer.status_code != 200 or b"AuthenticateResult" not in answer.content:
            raise RuntimeError(f"Authenticate answered {answer.status_code}")
    redis_client(current_app).rpush(DONE_KEY, repr(time.time()))


def say(message: str) -> None:
    print(message, flush=True)


# -- set-up -------------------------------------------------------------------------------

def dedicated_redis(url: str, *, embedded: bool) -> str:
    """An embedded Redis is ours alone; on a given server, a database of our own: the
    first of 13, 12 … 8 that no other run of this benchmark holds (a key with a TTL marks
    it; `release_redis` frees it)."""
    if embedded:
        return url
    import redis as redis_lib

    parts = urlsplit(url)
    for number in range(REDIS_DB, REDIS_DB - 6, -1):
        candidate = urlunsplit(parts._replace(path=f"/{number}"))
        client = redis_lib.Redis.from_url(candidate)
        try:
            if client.set(IN_USE_KEY, os.getpid(), nx=True, ex=3600):
                return candidate
        finally:
            client.close()
    raise RuntimeError("every Redis database this benchmark may use is held by another run")


def release_redis(redis: Any) -> None:
    redis.delete(IN_USE_KEY)


def forget_own_keys(redis: Any) -> None:
    """The keys a run writes (its queue, kombu's bookkeeping, Yuki sessions, breakers),
    in its own Redis database; not the key that holds the database."""
    for pattern in OWN_KEYS:
        for key in redis.scan_iter(pattern):
            if key != IN_USE_KEY.encode():
                redis.delete(key)


def seed(admin: Any, box: Any, *, companies: int, per_company: int, due_at: datetime,
         access_keys: Iterator[str]) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Companies and connected Yuki integrations, due at `due_at`, written in bulk by the
    server's admin (no per-company transaction: this is set-up, not what is measured)."""
    from sqlalchemy import insert

    from smbfinance.auth.models import Tenant
    from smbfinance.db import new_id
    from smbfinance.integrations.models import Integration
    from smbfinance.integrations.service import credentials_context

    tenants, integrations, made = [], [], []
    for n in range(companies):
        tenant_id = new_id()
        tenants.append({"id": tenant_id, "legal_name": f"Bench sync {n}", "settings": {}})
        for _ in range(per_company):
            integration_id = new_id()
            sealed = box.encrypt(json.dumps({"access_key": next(access_keys)}),
                                 context=credentials_context(tenant_id, integration_id))
            integrations.append({
                "tenant_id": tenant_id, "id": integration_id, "provider": "yuki",
                "status": "connected", "health": "ok", "credentials": sealed,
                "credentials_key_id": box.primary.id, "cursors": {}, "next_sync_at": due_at,
                "consecutive_failures": 0, "calls_today": 0, "bank_syncs_today": {},
                "version": 1})
            made.append((tenant_id, integration_id))
    with admin.begin() as connection:
        connection.execute(insert(Tenant.__table__), tenants)
        for start in range(0, len(integrations), 1000):
            connection.execute(insert(Integration.__table__), integrations[start:start + 1000])
    return made


# -- the tick -----------------------------------------------------------------------------

@dataclass
class Tick:
    seconds: float  # the tick task, start to end: its last sync task is in Redis by then
    claimed: int
    published: int  # sync tasks handed to the producer


def tick_once(app: Any, now: datetime, *, integrations_only: bool = False) -> Tick:
    """The beat's tick task, run here as a worker runs it. Its end is the figure: sends
    are batched, so the last task reaches Redis when the last chunk is flushed.
    `integrations_only` runs just the tick's integrations check (a test database holds
    other companies, whose other due work must not be sent)."""
    from smbfinance.integrations.tasks import SYNC_TASK, due_syncs
    from smbfinance.scheduler.tasks import tick

    published: list[float] = []

    def on_publish(sender: str | None = None, **_: Any) -> None:
        if sender == SYNC_TASK:
            published.append(time.perf_counter())

    after_task_publish.connect(on_publish, weak=False)
    try:
        with app.app_context():
            started = time.perf_counter()
            if integrations_only:
                claimed = due_syncs(now)
            else:
                result = tick.apply(kwargs={"now_iso": now.isoformat()})
                if not result.successful():
                    raise RuntimeError(f"the tick failed: {result.traceback}")
                claimed = int(result.get()["integrations"])
            ended = time.perf_counter()
    finally:
        after_task_publish.disconnect(on_publish)
    return Tick(ended - started, claimed, len(published))


def queued(redis: Any, queue: str = QUEUE) -> list[dict[str, Any]]:
    """The queue's messages as a worker would receive them: task, kwargs, expiry."""
    messages = []
    for raw in redis.lrange(queue, 0, -1):
        message = json.loads(raw)
        body = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        _args, kwargs, _embed = json.loads(body)
        messages.append({"task": message["headers"]["task"], "kwargs": kwargs,
                         "expires": message["headers"].get("expires")})
    return messages


def check_enqueued_once(messages: Sequence[dict[str, Any]],
                        due: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """Every due integration exactly once, for its own company, with an expiry."""
    from smbfinance.integrations.tasks import SYNC_TASK

    sent = [(m["kwargs"]["tenant_id"], m["kwargs"]["integration_id"]) for m in messages
            if m["task"] == SYNC_TASK]
    expected = sorted((str(t), str(i)) for t, i in due)
    if sorted(sent) != expected:
        raise AssertionError(f"{len(sent)} sync tasks queued ({len(set(sent))} distinct) "
                             f"for {len(expected)} due integrations")
    if any(m["expires"] is None for m in messages if m["task"] == SYNC_TASK):
        raise AssertionError("a sync task was queued without an expiry")


# -- the worker ---------------------------------------------------------------------------

@contextmanager
def worker(env: dict[str, str], log: Path, *, concurrency: int = 2) -> Iterator[Any]:
    """A real worker process, as deployed (prefork), that also knows the no-op task."""
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_worker.celery", "worker",
         f"--concurrency={concurrency}", "--without-gossip", "--without-mingle",
         "--without-heartbeat", "--loglevel=WARNING", "-Q", QUEUE,
         "-I", "bench.sync_dispatch", "-n", f"bench-{uuid.uuid4().hex[:8]}@%h"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def wait_for(done: Callable[[], list[float]], expected: int, *, process: Any, log: Path,
             label: str) -> list[float]:
    """Poll completions until `expected`, printing progress now and then; give up when
    nothing finished for longer than a task lives (the rest expired) or after
    PHASE_SECONDS."""
    deadline = time.monotonic() + PHASE_SECONDS
    shown = moved = time.monotonic()
    times: list[float] = []
    while time.monotonic() < deadline and time.monotonic() - moved < STALLED_SECONDS:
        latest = done()
        if len(latest) > len(times):
            moved = time.monotonic()
        times = latest
        if len(times) >= expected:
            return sorted(times)
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited:\n{log.read_text()[-3000:]}")
        if time.monotonic() - shown > 5:
            say(f"  … {label}: {len(times)}/{expected}")
            shown = time.monotonic()
        time.sleep(0.2)
    say(f"  ✗ {label}: {len(times)}/{expected} done; the rest expired or are stuck")
    return sorted(times)


def rate(times: Sequence[float]) -> float:
    """Completions per second from the WARM_UP-th to the last."""
    if len(times) <= WARM_UP + 1:
        return (len(times) - 1) / max(times[-1] - times[0], 1e-9) if len(times) > 1 else 0.0
    return (len(times) - WARM_UP) / max(times[-1] - times[WARM_UP - 1], 1e-9)


def send_noops(due: Sequence[tuple[uuid.UUID, uuid.UUID]], app: Any, *,
               calling: tuple[str, Sequence[str]] | None = None) -> None:
    """No-op tasks for these integrations; with `calling` (the simulator's service URL
    and an access key per integration), floor tasks."""
    from smbfinance.integrations.dispatch import TASK_EXPIRES_SECONDS

    with app.app_context():
        for n, (tenant_id, integration_id) in enumerate(due):
            kwargs = {"tenant_id": str(tenant_id), "integration_id": str(integration_id),
                      "trigger": "tick", "customer_ip": None}
            task = noop
            if calling is not None:
                task = floor
                kwargs.update(service_url=calling[0], access_key=calling[1][n])
            task.apply_async(kwargs=kwargs, expires=TASK_EXPIRES_SECONDS)


def sync_times(admin: Any, due: Sequence[tuple[uuid.UUID, uuid.UUID]],
               since: datetime) -> list[float]:
    """End times of the finished runs of these integrations started after `since` (read
    by the admin: across companies)."""
    from sqlalchemy import text

    with admin.connect() as connection:
        return [float(t) for t in connection.execute(text(
            "SELECT extract(epoch FROM finished_at) FROM sync_logs "
            "WHERE integration_id = ANY(:ids) AND started_at >= :since "
            "AND status <> 'running'"),
            {"ids": [i for _, i in due], "since": since}).scalars()]


def sync_outcomes(admin: Any, due: Sequence[tuple[uuid.UUID, uuid.UUID]],
                  since: datetime) -> dict[str, Any]:
    """Runs per status, integrations synced, and integrations run more than once."""
    from sqlalchemy import text

    with admin.connect() as connection:
        rows = connection.execute(text(
            "SELECT integration_id, status, error_code FROM sync_logs "
            "WHERE integration_id = ANY(:ids) AND started_at >= :since"),
            {"ids": [i for _, i in due], "since": since}).all()
    per: dict[uuid.UUID, int] = {}
    statuses: dict[str, int] = {}
    for row in rows:
        per[row.integration_id] = per.get(row.integration_id, 0) + 1
        key = row.status if row.error_code is None else f"{row.status}:{row.error_code}"
        statuses[key] = statuses.get(key, 0) + 1
    return {"statuses": statuses, "synced": sum(1 for c in per.values() if c),
            "more_than_once": sum(1 for c in per.values() if c > 1)}


def due_again(admin: Any, due: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """As if an hour had passed since their last run: due now, the budget allowing a run
    (the simulated equivalent of waiting out YUKI_INTERVAL)."""
    from sqlalchemy import text

    with admin.begin() as connection:
        connection.execute(text(
            "UPDATE integrations SET next_sync_at = now() - interval '1 second', "
            "last_sync_started_at = last_sync_started_at - interval '1 hour', "
            "last_success_at = last_success_at - interval '1 hour' "
            "WHERE id = ANY(:ids)"), {"ids": [i for _, i in due]})


# -- the run ------------------------------------------------------------------------------

@dataclass
class Bench:
    app: Any
    admin: Any
    redis: Any
    box: Any
    worker_env: dict[str, str]
    log: Path


def measure_dispatch(bench: Bench) -> list[Tick]:
    companies, each = DISPATCH
    total = companies * each
    say(f"• dispatch: {total:,} due integrations of {companies:,} companies …")
    base = datetime.now(UTC).replace(second=30, microsecond=0)
    due = seed(bench.admin, bench.box, companies=companies, per_company=each,
               due_at=base - timedelta(minutes=1),
               access_keys=(f"unused-{n}" for n in range(total)))
    from smbfinance.integrations.dispatch import LEASE_SECONDS

    ticks = []
    for n in range(DISPATCH_ROUNDS + 1):
        # Each tick runs past the last one's lease: all are due again.
        now = base + timedelta(seconds=n * (LEASE_SECONDS + 1))
        if now.minute == 7:  # the hourly overdue scan would join in; keep the tick alike
            now += timedelta(minutes=1)
        tick = tick_once(bench.app, now)
        messages = queued(bench.redis)
        check_enqueued_once(messages, due)
        bench.redis.delete(QUEUE)
        label = "warm-up" if n == 0 else f"{n}/{DISPATCH_ROUNDS}"
        say(f"  tick {label}: {tick.claimed:,} claimed, {tick.published:,} published "
            f"(each once, with expiry) in {tick.seconds:.2f} s")
        if n:
            ticks.append(tick)
    return ticks


@dataclass
class Rates:
    noop: list[float]
    floor: list[float]  # a re-sync's provider calls at their cheapest, nothing written
    first: list[float]  # a company's first sync: its open items imported
    again: list[float]  # the usual run: the same items read again, little changed
    outcomes: dict[str, int]

    def add(self, result: dict[str, Any]) -> None:
        for status, count in result["statuses"].items():
            self.outcomes[status] = self.outcomes.get(status, 0) + count
        self.outcomes["more than once"] = self.outcomes.get("more than once", 0) + \
            result["more_than_once"]


def measure_throughput(bench: Bench, count: int, rounds: int = SYNC_ROUNDS) -> Rates:
    """Rounds of no-op, first-sync and re-sync phases, each with a fresh worker. No-ops
    are queued before their worker starts (else sending them would be the limit); syncs
    are sent by the tick once the worker is up, as in production."""
    from smbfinance.integrations.sandbox import demo_data
    from smbfinance.integrations.sandbox.clock import SystemClock
    from smbfinance.integrations.sandbox.yuki import YukiSimulator, access_key_for

    template = demo_data.DEMO_COMPANIES
    companies = [demo_data.DemoCompany(
        key=f"bench{n}", name=f"Bench {n} BV", seed=1000 + n, accounts=(),
        administration_id=demo_data.stable_id("administration", f"bench{n}"),
        vat_number=template[n % len(template)].vat_number) for n in range(count * rounds)]
    simulator = YukiSimulator(clock=SystemClock(), companies=companies)
    server = simulator.serve().start()
    env = {**bench.worker_env, "YUKI_SERVICE_URL": simulator.service_url}
    access = [access_key_for(c.key) for c in companies]
    keys = iter(access)
    rates = Rates([], [], [], [], {})

    def noops(label: str, due: list[tuple[uuid.UUID, uuid.UUID]],
              calling: tuple[str, Sequence[str]] | None = None) -> float:
        # Queued before the worker starts: sending one by one would otherwise be the limit.
        bench.redis.delete(DONE_KEY)
        send_noops(due, bench.app, calling=calling)
        with worker(env, bench.log) as process:
            value = rate(wait_for(
                lambda: [float(t) for t in bench.redis.lrange(DONE_KEY, 0, -1)], len(due),
                process=process, log=bench.log, label=label))
        say(f"  {label}: {value:.0f}/s")
        return value

    def syncs(label: str, due: list[tuple[uuid.UUID, uuid.UUID]]) -> float:
        with worker(env, bench.log) as process:
            # The worker is up (it ran two no-ops) before the tick, as in production: the
            # tasks' 55 s start with the tick.
            bench.redis.delete(DONE_KEY)
            send_noops(due[:2], bench.app)
            wait_for(lambda: [float(t) for t in bench.redis.lrange(DONE_KEY, 0, -1)], 2,
                     process=process, log=bench.log, label=f"{label}, worker start")
            since = datetime.now(UTC)
            tick = tick_once(bench.app, datetime.now(UTC))
            if tick.published < len(due):
                raise RuntimeError(f"{label}: the tick sent {tick.published} of {len(due)}")
            value = rate(wait_for(lambda: sync_times(bench.admin, due, since), len(due),
                                  process=process, log=bench.log, label=label))
        result = sync_outcomes(bench.admin, due, since)
        rates.add(result)
        say(f"  {label}: {value:.1f}/s, {result['synced']}/{len(due)} synced "
            f"{result['statuses']}")
        return value

    try:
        for n in range(1, rounds + 1):
            # One Yuki administration per company of ours (two of one company would
            # share invoice numbers).
            due = seed(bench.admin, bench.box, companies=count, per_company=1,
                       due_at=datetime.now(UTC) - timedelta(seconds=1), access_keys=keys)
            rates.noop.append(noops(f"no-op {n}/{rounds}", due * REFERENCE_REPEAT))
            rates.floor.append(noops(
                f"floor {n}/{rounds}", due * REFERENCE_REPEAT,
                (simulator.service_url, access[(n - 1) * count:n * count] * REFERENCE_REPEAT)))
            rates.first.append(syncs(f"first sync {n}/{rounds}", due))
            due_again(bench.admin, due)
            rates.again.append(syncs(f"re-sync {n}/{rounds}", due))
    finally:
        simulator.stop_waiting()
        server.stop()
    return rates


@contextmanager
def infrastructure() -> Iterator[Bench]:
    """A database of its own (per process: two runs at once do not recreate each other's),
    dropped at the end; a Redis database of its own, our keys deleted at the end."""
    import redis as redis_lib
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from bench.harness import ROOT as BENCH_ROOT
    from config import normalise_database_url
    from smbfinance import create_app
    from smbfinance.devstack.prepare import migrate, provide
    from smbfinance.extensions import db
    from smbfinance.integrations.secrets import SecretBox

    infra = provide(
        data_dir=BENCH_ROOT / ".data" / "bench", database=DATABASE, database_url=None,
        migration_url=None, admin_url=os.environ.get("BENCH_DATABASE_URL"),
        redis_url=os.environ.get("BENCH_REDIS_URL"), recreate=True, persist_redis=False,
        say=say)
    redis_url = dedicated_redis(infra.redis_url, embedded=infra.redis is not None)
    store = redis_lib.Redis.from_url(redis_url)
    admin_url = None
    try:
        migrate(env_name="testing", infrastructure=infra, say=say)
        assert infra.urls is not None
        admin_url = make_url(normalise_database_url(infra.urls.admin))
        admin = create_engine(admin_url.set(database=DATABASE), pool_size=2)
        app = create_app("testing", overrides={
            "SQLALCHEMY_DATABASE_URI": normalise_database_url(infra.database_url),
            "REDIS_URL": redis_url, "RATELIMIT_STORAGE_URI": redis_url,
            "LOG_LEVEL": "WARNING", "SYNC_DISPATCH": True})
        forget_own_keys(store)
        env = {**os.environ, **infra.env(), "REDIS_URL": redis_url,
               "SMBFINANCE_ENV": "testing", "LOG_LEVEL": "WARNING", "LOG_JSON": "false"}
        log = ROOT / ".data" / "bench" / "sync-dispatch-worker.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("")
        try:
            yield Bench(app=app, admin=admin,
                        redis=store, worker_env=env, log=log,
                        box=SecretBox.from_config(app.config["INTEGRATION_ENCRYPTION_KEYS"]))
        finally:
            forget_own_keys(store)
            celery.close()
            admin.dispose()
            with app.app_context():
                db.engine.dispose()
    finally:
        if admin_url is not None:
            dropper = create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with suppress(Exception), dropper.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
            dropper.dispose()
        release_redis(store)
        store.close()
        infra.stop()


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main(argv: list[str] | None = None) -> None:
    quick = "--quick" in (sys.argv[1:] if argv is None else argv)
    with infrastructure() as bench:
        ticks = measure_dispatch(bench)
        seconds = statistics.median(t.seconds for t in ticks)
        share = seconds / PERIOD
        total = DISPATCH[0] * DISPATCH[1]
        say(f"sync dispatch: tick → last enqueue for {total:,} integrations "
            f"{seconds:.2f} s = {share:.1%} of the {PERIOD:.0f} s period (median of "
            f"{len(ticks)}, {min(t.seconds for t in ticks):.2f}–"
            f"{max(t.seconds for t in ticks):.2f} s; target ≤ 10%) {verdict(share <= 0.10)}")
        count = SYNCS_QUICK if quick else SYNCS
        say(f"• throughput: {count} Yuki integrations a round against the simulator, a "
            "worker process (prefork, concurrency 2) …")
        rates = measure_throughput(bench, count)
        noop_rate = statistics.median(rates.noop)
        for label, values in (("first sync", rates.first), ("re-sync", rates.again)):
            ratios = [v / r for v, r in zip(values, rates.noop, strict=True) if r]
            ratio = statistics.median(ratios)
            say(f"sync dispatch: {label} {statistics.median(values):.1f} integrations/s, "
                f"no-op tasks {noop_rate:.0f}/s, ratio {ratio:.3f} (N = {count} a round, "
                f"median of {len(ratios)} rounds, {min(ratios):.3f}–{max(ratios):.3f}; "
                f"target ≥ 0.5) {verdict(ratio >= 0.5)}")
        floors = [v / r for v, r in zip(rates.floor, rates.noop, strict=True) if r]
        say(f"sync dispatch: floor — a task making {FLOOR_CALLS} of the simulator's "
            f"cheapest calls and writing nothing {statistics.median(rates.floor):.0f}/s, ratio "
            f"{statistics.median(floors):.3f} ({min(floors):.3f}–{max(floors):.3f}): the "
            "highest ratio any sync that reads Yuki could reach on this machine")
        say(f"sync dispatch: runs {rates.outcomes}")


if __name__ == "__main__":
    main()
