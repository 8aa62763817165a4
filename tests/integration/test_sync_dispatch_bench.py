"""The sync dispatch benchmark's core, tiny and untimed, so that it cannot rot: due Yuki
integrations of several companies, the tick's integrations check sends each one sync task
(exactly once, with an expiry) to a real Redis broker, and a real worker process — the
benchmark's own command line — syncs every one of them once against the Yuki simulator, then
runs the benchmark's two references (the no-op and the floor task)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
import redis
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from bench import sync_dispatch as core
from config import normalise_database_url
from smbfinance.extensions import celery, db
from smbfinance.integrations.sandbox import demo_data
from smbfinance.integrations.sandbox.clock import SystemClock
from smbfinance.integrations.sandbox.yuki import YukiSimulator, access_key_for
from smbfinance.integrations.secrets import SecretBox
from smbfinance.worker import init_celery
from tests.conftest import TEST_DB, make_app

COMPANIES = 20
# Long past: only this test's integrations are that due (others of this process are not).
DUE = datetime(2001, 1, 1, tzinfo=UTC)


def _forget_broker_connections() -> None:
    """Celery's close() drops the connection pool but not the producer pool built on it
    (only its after-fork hook drops both): drop both, so the next publish connects to the
    broker the configuration names now."""
    celery.close()
    celery.amqp._producer_pool = None


@pytest.fixture
def bench(infrastructure, app, tmp_path):
    """The benchmark's plumbing on the test database, and a Redis database of its own."""
    redis_url = core.dedicated_redis(infrastructure.redis_url, embedded=False)
    dispatching = make_app(infrastructure, REDIS_URL=redis_url,
                           RATELIMIT_STORAGE_URI=redis_url, SYNC_DISPATCH=True)
    # Earlier tests of this process may have left the shared Celery app connected to their
    # broker: its pools would publish the tick's tasks there instead of to our database.
    _forget_broker_connections()
    admin = create_engine(make_url(normalise_database_url(infrastructure.urls.admin))
                          .set(database=TEST_DB), pool_size=1)
    store = redis.Redis.from_url(redis_url)
    core.forget_own_keys(store)
    env = {**infrastructure.env(), "REDIS_URL": redis_url, "SMBFINANCE_ENV": "testing",
           "LOG_LEVEL": "WARNING", "LOG_JSON": "false"}
    yield core.Bench(app=dispatching, admin=admin, redis=store,
                     box=SecretBox.from_config(app.config["INTEGRATION_ENCRYPTION_KEYS"]),
                     worker_env={**os.environ, **env}, log=tmp_path / "worker.log")
    core.forget_own_keys(store)
    core.release_redis(store)
    store.close()
    _forget_broker_connections()  # they point at our Redis database
    init_celery(app, celery)  # the shared Celery app goes back to the session's app
    admin.dispose()
    with dispatching.app_context():
        db.engine.dispose()


@pytest.mark.slow
def test_every_due_integration_is_enqueued_once_and_synced_once(bench):
    # given due Yuki integrations of several companies, each its own Yuki administration
    companies = [demo_data.DemoCompany(
        key=f"core{n}", name=f"Core {n} BV", seed=500 + n, accounts=(),
        administration_id=demo_data.stable_id("administration", f"core{n}"),
        vat_number="BE0123456749") for n in range(COMPANIES)]
    simulator = YukiSimulator(clock=SystemClock(), companies=companies)
    server = simulator.serve().start()
    try:
        due = core.seed(bench.admin, bench.box, companies=COMPANIES, per_company=1,
                        due_at=DUE, access_keys=iter(access_key_for(c.key)
                                                     for c in companies))
        since = datetime.now(UTC)
        # when the tick's integrations check runs
        tick = core.tick_once(bench.app, DUE, integrations_only=True)
        # then each due integration is in the broker's queue exactly once, with an expiry
        assert (tick.claimed, tick.published) == (COMPANIES, COMPANIES)
        core.check_enqueued_once(core.queued(bench.redis), due)
        # and a worker process takes them all: each integration synced once, successfully
        env = {**bench.worker_env, "YUKI_SERVICE_URL": simulator.service_url}
        with core.worker(env, bench.log) as process:
            times = core.wait_for(lambda: core.sync_times(bench.admin, due, since),
                                  COMPANIES, process=process, log=bench.log, label="sync")
            # and runs the references: a no-op and a floor task (two calls) per integration
            bench.redis.delete(core.DONE_KEY)
            authenticated = simulator.operations.count("Authenticate")
            core.send_noops(due, bench.app)
            core.send_noops(due, bench.app, calling=(
                simulator.service_url, [access_key_for(c.key) for c in companies]))
            references = core.wait_for(
                lambda: bench.redis.lrange(core.DONE_KEY, 0, -1), 2 * COMPANIES,
                process=process, log=bench.log, label="references")
        assert len(references) == 2 * COMPANIES, bench.log.read_text()[-3000:]
        assert simulator.operations.count("Authenticate") == \
            authenticated + core.FLOOR_CALLS * COMPANIES
        assert len(times) == COMPANIES, bench.log.read_text()[-3000:]
        outcome = core.sync_outcomes(bench.admin, due, since)
        assert outcome == {"statuses": {"success": COMPANIES}, "synced": COMPANIES,
                           "more_than_once": 0}, bench.log.read_text()[-3000:]
        assert bench.redis.llen(core.QUEUE) == 0
    finally:
        simulator.stop_waiting()
        server.stop()
