"""A worker killed (SIGKILL) in the middle of a sync: the task, acknowledged late, is handed
by Redis to another worker once its visibility timeout passes, and that worker completes the
sync once — the interrupted run is closed as such, the invoices written exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smbfinance.extensions import db
from smbfinance.integrations import service
from smbfinance.integrations.models import SyncLog
from smbfinance.integrations.sandbox.clock import SystemClock
from smbfinance.integrations.sandbox.yuki import YukiSimulator, access_key_for
from smbfinance.integrations.secrets import SecretBox
from smbfinance.invoices.models import Invoice
from smbfinance.tenancy import tenant_scope
from tests.conftest import register_tenant
from tests.integration.sync_fixtures import owner

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def yuki():
    simulator = YukiSimulator(clock=SystemClock())
    server = simulator.serve().start()
    yield simulator
    simulator.stop_waiting()
    server.stop()


def _worker(infrastructure, yuki, queue, log_path):
    env = {**os.environ, **infrastructure.env(), "SMBFINANCE_ENV": "testing",
           "YUKI_SERVICE_URL": yuki.service_url, "CELERY_VISIBILITY_TIMEOUT": "3"}
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("celery")), "-A", "celery_worker.celery", "worker",
         "--pool=solo", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "--loglevel=INFO", "-Q", queue, "-n", f"killed-{uuid.uuid4().hex[:8]}@%h"],
        cwd=ROOT, env=env, stdout=log_path.open("ab"), stderr=subprocess.STDOUT)


def _logs(app, tenant_id):
    with app.app_context():
        session = Session(db.engine)
        with tenant_scope(session, tenant_id):
            rows = [(r.status, r.error_code) for r in session.execute(
                select(SyncLog).order_by(SyncLog.id)).scalars()]
            invoices = session.execute(select(func.count()).select_from(Invoice)).scalar_one()
        session.close()
    return rows, invoices


def _until(condition, *, seconds, process=None, log=None):
    """Wait for another process, bounded (it runs outside this one: no event to join)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(log.read_text() if log else "worker exited")
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not reached in {seconds}s" + (f"\n{log.read_text()}" if log else ""))


@pytest.mark.slow
def test_a_killed_workers_sync_is_redelivered_and_completes_once(app, infrastructure, yuki,
                                                                 tmp_path):
    # given a connected Yuki integration, and Yuki holding the first request of the run
    tenant = register_tenant(app.test_client(), "Killed Worker Studio")
    with app.app_context():
        session = Session(db.engine, expire_on_commit=False)
        with tenant_scope(session, tenant.tenant_id):
            integration = service.create_integration(
                session=session, actor=owner(tenant),
                box=SecretBox.from_config(app.config["INTEGRATION_ENCRYPTION_KEYS"]),
                provider="yuki", credentials={"access_key": access_key_for("studio")})
        session.close()
    yuki.faults.add("timeout", seconds=300, times=1)
    queue = f"sync-killed-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    first = _worker(infrastructure, yuki, queue, log)
    sender = Celery("sender", broker=infrastructure.redis_url)
    try:
        # when the sync task is sent and its worker is killed while Yuki holds the call
        sender.send_task("smbfinance.integrations.sync", queue=queue, kwargs={
            "tenant_id": str(tenant.tenant_id), "integration_id": str(integration.id),
            "trigger": "manual"})
        _until(lambda: _logs(app, tenant.tenant_id)[0] == [("running", None)], seconds=90,
               process=first, log=log)
        first.kill()
        first.wait(timeout=10)
        # and another worker starts
        second = _worker(infrastructure, yuki, queue, log)
        try:
            # then the task comes back to it and the sync completes, once
            rows, invoices = _until(
                lambda: (lambda r: r if ("success", None) in r[0] else None)(
                    _logs(app, tenant.tenant_id)), seconds=120, process=second, log=log)
        finally:
            second.terminate()
            second.wait(timeout=20)
    finally:
        sender.close()
        if first.poll() is None:
            first.kill()
    assert rows == [("failed", "Interrupted"), ("success", None)]
    open_items = len(yuki.open_items("studio", "receivable")) + len(
        yuki.open_items("studio", "payable"))
    assert invoices == open_items > 0
