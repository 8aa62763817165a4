"""Celery tasks of the outbox: relay a tenant's events, the tick's due check, retention."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import text

from smbfinance.db import utcnow
from smbfinance.events.overdue import WINDOW, emit_newly_overdue
from smbfinance.events.relay import relay as relay_events
from smbfinance.extensions import celery, db
from smbfinance.scheduler.registry import register_due_check
from smbfinance.tenancy import dangerously_unscoped
from smbfinance.webhooks import delivery, dispatch

log = logging.getLogger(__name__)

MIN_RETENTION_DAYS = 30


@celery.task(name=dispatch.RELAY_TASK, tenant_scoped=True)
def relay(*, tenant_id: uuid.UUID, now_iso: str | None = None) -> dict[str, int]:
    """Publish the tenant's new events, then send every delivery that is due."""
    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    published = 0
    while True:
        result = relay_events(session=db.session, now=now)
        published += result.published
        if not result.more:
            break
    due = delivery.due(session=db.session, now=now)
    for delivery_id in due:
        dispatch.deliver_later(tenant_id, delivery_id)
    return {"published": published, "deliveries_sent": len(due)}


def webhook_work(now: datetime) -> int:
    """The tick's check: a relay for each tenant with unpublished events or due
    deliveries (crashes between commit and relay, retries, lost messages)."""
    session = db.session
    with dangerously_unscoped(session, reason="find tenants with events or deliveries due"):
        tenants = session.execute(text("SELECT tenant_id FROM cross_tenant_webhook_work(:now)"),
                                  {"now": now}).scalars().all()
        session.rollback()
    for tenant_id in tenants:
        dispatch.relay_later(tenant_id)
    return len(tenants)


register_due_check("webhooks", webhook_work)

OVERDUE_TASK = "smbfinance.events.overdue"
OVERDUE_MINUTE = 7  # once an hour: tenants reach midnight in their own time zones


@celery.task(name=OVERDUE_TASK, tenant_scoped=True)
def overdue(*, tenant_id: uuid.UUID) -> int:
    return emit_newly_overdue(session=db.session, tenant_id=tenant_id)


def overdue_scan(now: datetime) -> int:
    """The tick's check, acting once an hour: an overdue scan for each tenant with
    unsettled invoices due in the window."""
    if now.minute != OVERDUE_MINUTE:
        return 0
    session = db.session
    with dangerously_unscoped(session, reason="find tenants whose invoices may be overdue"):
        tenants = session.execute(
            text("SELECT tenant_id FROM cross_tenant_overdue_invoice_tenants(:since)"),
            {"since": (now - WINDOW - timedelta(days=1)).date()}).scalars().all()
        session.rollback()
    for tenant_id in tenants:
        dispatch.send(OVERDUE_TASK, tenant_id=str(tenant_id))
    return len(tenants)


register_due_check("invoice-overdue", overdue_scan)


@celery.task(name="smbfinance.events.purge")
def purge(now_iso: str | None = None) -> int:
    """Remove published events older than EVENTS_RETENTION_DAYS (at least 30)."""
    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    days = max(int(current_app.config.get("EVENTS_RETENTION_DAYS", 90)), MIN_RETENTION_DAYS)
    session = db.session
    with dangerously_unscoped(session, reason="event retention across tenants"):
        removed = session.execute(text("SELECT cross_tenant_purge_outbox(:before)"),
                                  {"before": now - timedelta(days=days)}).scalar_one()
        session.commit()
    log.info("events purged", extra={"removed": removed, "retention_days": days})
    return int(removed)
