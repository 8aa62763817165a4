"""Background work: the scheduler tick records itself in Redis, tenant-scoped tasks see
only their tenant, and a real worker process runs a tick sent through the broker."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from celery import Celery
from sqlalchemy import text

from smbfinance.extensions import celery, db
from smbfinance.scheduler.tasks import LAST_TICK_KEY, tick
from tests.conftest import make_app, register_tenant

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def worker_app(infrastructure):
    """A fresh app: creating it binds the shared Celery app to it (and to our Redis)."""
    app = make_app(infrastructure)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture()
def store(infrastructure):
    client = redis.Redis.from_url(infrastructure.redis_url, decode_responses=True)
    yield client
    client.close()


@celery.task(name="tests.visible_tenants", tenant_scoped=True)
def visible_tenants(tenant_id):
    rows = db.session.execute(text("SELECT id FROM tenants")).scalars().all()
    members = db.session.execute(text("SELECT DISTINCT tenant_id FROM memberships")).scalars()
    return {"tenant_id": str(tenant_id), "tenants": sorted(map(str, rows)),
            "memberships": sorted(map(str, members))}


def test_the_tick_writes_its_record_to_redis(worker_app, store):
    # given no tick recorded
    store.delete(LAST_TICK_KEY)
    # when the tick runs in-process at a known time
    result = tick.apply(kwargs={"now_iso": "2026-11-22T10:00:00+00:00"})
    # then it succeeded and its record is in Redis
    assert result.successful(), result.traceback
    record = json.loads(store.get(LAST_TICK_KEY))
    assert record["at"] == "2026-11-22T10:00:00+00:00"
    assert isinstance(record["enqueued"], dict) and record["seconds"] >= 0


def test_a_tenant_scoped_task_sees_only_its_tenant(worker_app):
    # given two tenants registered for real
    client = worker_app.test_client()
    a = register_tenant(client, "Task Alpha")
    b = register_tenant(client, "Task Beta")
    # when a tenant-scoped task runs for each, with no filter in its SQL
    seen_by_a = visible_tenants.apply(kwargs={"tenant_id": str(a.tenant_id)}, throw=True).get()
    seen_by_b = visible_tenants.apply(kwargs={"tenant_id": str(b.tenant_id)}, throw=True).get()
    # then each sees only its own rows
    assert seen_by_a == {"tenant_id": str(a.tenant_id), "tenants": [str(a.tenant_id)],
                         "memberships": [str(a.tenant_id)]}
    assert seen_by_b["tenants"] == [str(b.tenant_id)]
    assert seen_by_b["memberships"] == [str(b.tenant_id)]


def test_a_tenant_scoped_task_refuses_to_run_without_tenant_id(worker_app):
    # given the tenant-scoped task
    # when it is called without tenant_id
    # then it refuses before touching the database
    with pytest.raises(TypeError, match="tenant_id"):
        visible_tenants.apply(kwargs={}, throw=True)


def test_a_tenant_scoped_task_refuses_a_malformed_tenant_id(worker_app):
    # given the tenant-scoped task
    # when it is called with something that is not a UUID
    # then it refuses
    with pytest.raises(ValueError):
        visible_tenants.apply(kwargs={"tenant_id": "not-a-uuid"}, throw=True)


# ---------------------------------------------------------------- a real worker process

@pytest.fixture()
def worker_process(infrastructure, tmp_path):
    env = {**os.environ, **infrastructure.env(), "SMBFINANCE_ENV": "testing"}
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("celery")), "-A", "celery_worker.celery", "worker",
         "--pool=solo", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "--loglevel=INFO", "-n", f"test-{uuid.uuid4().hex[:8]}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    log.close()


@pytest.mark.slow
def test_a_worker_process_runs_a_tick_sent_through_the_broker(infrastructure, store,
                                                              worker_process, tmp_path):
    # given a running worker and Redis announcing every write to the tick key
    with contextlib.suppress(redis.ResponseError):  # a managed Redis may refuse CONFIG
        store.config_set("notify-keyspace-events", "K$")
    notifications = store.pubsub(ignore_subscribe_messages=True)
    notifications.subscribe(f"__keyspace@0__:{LAST_TICK_KEY}")
    marker = f"2026-11-22T10:{uuid.uuid4().int % 60:02d}:00+00:00"
    store.delete(LAST_TICK_KEY)
    # when the tick is sent through the broker by name, as beat does
    sender = Celery("sender", broker=infrastructure.redis_url)
    sender.send_task("smbfinance.scheduler.tick", kwargs={"now_iso": marker})
    # then the worker records it (waiting on the notification, bounded)
    deadline = time.monotonic() + 90
    record = None
    while record is None and time.monotonic() < deadline:
        assert worker_process.poll() is None, (tmp_path / "worker.log").read_text()
        notifications.get_message(timeout=min(5.0, deadline - time.monotonic()))
        raw = store.get(LAST_TICK_KEY)
        record = json.loads(raw) if raw else None
    notifications.close()
    sender.close()
    assert record is not None, (tmp_path / "worker.log").read_text()
    assert record["at"] == marker
