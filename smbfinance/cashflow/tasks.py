"""Background work for cash flow: after an import or a sync (and once a day), rebuild the
tenant's recent position snapshots and recompute its low-cash alerts. Tenant-scoped and
idempotent: a redelivered or duplicated task rewrites the same snapshots and finds the same
live alerts."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import text

from smbfinance.cashflow import service
from smbfinance.extensions import celery, db
from smbfinance.scheduler.registry import register_due_check
from smbfinance.tenancy import dangerously_unscoped

REFRESH_TASK = "smbfinance.cashflow.refresh"
# The tick runs every minute; looking a little further back costs a duplicate at worst.
CHECK_WINDOW = timedelta(seconds=90)
SNAPSHOT_DAYS = 7


@celery.task(name=REFRESH_TASK, tenant_scoped=True)
def refresh(*, tenant_id: uuid.UUID, now_iso: str | None = None) -> dict[str, str]:
    """Recurring series detected afresh, snapshots of the last week (an import may add
    older movements), then alerts from the updated forecast."""
    now = datetime.fromisoformat(now_iso) if now_iso else None
    session = db.session
    service.refresh_detection(session=session, tenant_id=tenant_id, now=now)
    written = service.rebuild_positions(session=session, tenant_id=tenant_id, now=now,
                                        days=SNAPSHOT_DAYS)
    outcome = service.recompute_alerts(session=session, tenant_id=tenant_id, now=now)
    return {**outcome, "snapshots": str(written)}


def stale_tenants(now: datetime) -> list[uuid.UUID]:
    session = db.session
    with dangerously_unscoped(session, reason="find tenants whose cash picture is stale"):
        rows = session.execute(text("SELECT tenant_id FROM cross_tenant_cashflow_work("
                                    ":since, :day)"),
                               {"since": now - CHECK_WINDOW, "day": now.date()}).scalars().all()
        session.rollback()
    return list(rows)


def cashflow_work(now: datetime) -> int:
    """The tick's check: a refresh for each tenant with new data or no snapshot today."""
    tenants = stale_tenants(now)
    for tenant_id in tenants:
        refresh.delay(tenant_id=str(tenant_id))
    return len(tenants)


register_due_check("cashflow", cashflow_work)
