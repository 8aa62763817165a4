"""Races with real commits: two ticks and a person's "sync now" at once make one sync; a
worker killed mid-sync leaves a run that the redelivered task closes and completes once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from smbfinance.extensions import db
from smbfinance.integrations import dispatch, service, sync
from smbfinance.integrations.models import SyncLog
from smbfinance.integrations.sandbox.yuki import access_key_for
from smbfinance.tenancy import tenant_scope
from tests.conftest import register_tenant
from tests.integration import sync_fixtures as fx
from tests.integration.sync_fixtures import *  # noqa: F403  - the fixtures


def _connected_yuki(app: Flask, box) -> tuple[Any, Any]:
    tenant = register_tenant(app.test_client(), "Racing Studio")
    with app.app_context():
        session = Session(db.engine, expire_on_commit=False)
        with tenant_scope(session, tenant.tenant_id):
            integration = service.create_integration(
                session=session, actor=fx.owner(tenant), box=box, provider="yuki",
                credentials={"access_key": access_key_for("studio")})
        session.close()
    return tenant, integration


def _race(app: Flask, *actions: Callable[[Session], Any]) -> list[Any]:
    start = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def worker(position: int, action: Callable[[Session], Any]) -> None:
        with app.app_context():
            session = Session(db.engine, expire_on_commit=False)
            try:
                start.wait()
                results[position] = action(session)
            except Exception as error:  # noqa: BLE001  - reported in the assertion
                results[position] = error
            finally:
                session.close()

    threads = [threading.Thread(target=worker, args=(n, a)) for n, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _logs(app: Flask, tenant) -> list[SyncLog]:
    with app.app_context():
        session = Session(db.engine)
        with tenant_scope(session, tenant.tenant_id):
            rows = session.execute(select(SyncLog)).scalars().all()
            session.expunge_all()
        session.close()
    return list(rows)


def test_two_ticks_and_a_manual_sync_racing_make_one_sync(app, box, yuki_sim, connectors,
                                                          clock):
    # given a due Yuki integration, and Yuki answering slowly enough for the runs to overlap
    tenant, integration = _connected_yuki(app, box)
    yuki_sim.faults.add("latency", seconds=0.3, times=100)
    now = clock.now()

    def tick(session: Session) -> list[str]:
        claimed = dispatch.claim_due(session=session, now=now)
        outcomes = []
        for tenant_id, integration_id in claimed:
            if integration_id != integration.id:
                continue  # another test's committed integration, due at this clock
            with tenant_scope(session, tenant_id):
                outcomes.append(sync.sync_integration(
                    session=session, tenant_id=tenant_id, integration_id=integration_id,
                    trigger="tick", connectors=connectors).status)
        return outcomes

    def manual(session: Session) -> str:
        with tenant_scope(session, tenant.tenant_id):
            return sync.sync_integration(session=session, tenant_id=tenant.tenant_id,
                                         integration_id=integration.id, trigger="manual",
                                         connectors=connectors).status

    # when two ticks and a manual sync start at once
    results = _race(app, tick, tick, manual)
    # then one sync ran: one success, the others found it running, claimed or just done
    flat = [r for result in results
            for r in (result if isinstance(result, list) else [result])]
    assert not [r for r in flat if isinstance(r, Exception)], flat
    assert flat.count("success") == 1, flat
    assert set(flat) <= {"success", "already_running", "skipped"}
    assert [entry.status for entry in _logs(app, tenant)] == ["success"]


def test_a_run_left_running_by_a_killed_worker_is_closed_and_completed_once(
        app, box, yuki_sim, connectors, clock):
    # given a run whose worker died after starting it (its log says running)
    tenant, integration = _connected_yuki(app, box)
    with app.app_context():
        session = Session(db.engine, expire_on_commit=False)
        with tenant_scope(session, tenant.tenant_id):
            session.add(SyncLog(integration_id=integration.id, trigger="tick",
                                status="running", started_at=clock.now()))
            session.commit()
        # when the redelivered task runs
        with tenant_scope(session, tenant.tenant_id):
            outcome = sync.sync_integration(session=session, tenant_id=tenant.tenant_id,
                                            integration_id=integration.id, trigger="tick",
                                            connectors=connectors)
        session.close()
    # then the interrupted run is closed as such and the sync completed, once
    assert outcome.status == "success"
    logs = sorted(_logs(app, tenant), key=lambda entry: entry.id)
    assert [(entry.status, entry.error_code) for entry in logs] == [
        ("failed", "Interrupted"), ("success", None)]
