"""The relay: publishes a tenant's committed, unpublished events in order.

Publishing gives each event its feed position and fans it out to the tenant's webhook
endpoints as deliveries, in one transaction, under a per-tenant advisory lock held to
commit: two relays of one tenant never interleave, positions follow commit order, and a
relay that dies half-way leaves every row as it was for the next one (the tick runs one
every minute). Running it twice is harmless: published rows are not selected again and
the deliveries' unique key ignores a second fan-out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from smbfinance.db import transaction, utcnow
from smbfinance.events.models import OutboxEvent
from smbfinance.tenancy import current_tenant_id

BATCH = 500


@dataclass(frozen=True)
class RelayResult:
    published: int
    deliveries: int
    more: bool


def relay(*, session: Session, now: datetime | None = None, batch: int = BATCH) -> RelayResult:
    from smbfinance.webhooks import fanout

    now = now or utcnow()
    with transaction(session):
        tenant_id = current_tenant_id(session)
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                        {"key": f"outbox-relay:{tenant_id}"})
        events = session.execute(
            select(OutboxEvent).where(OutboxEvent.seq.is_(None))
            .order_by(OutboxEvent.created_at, OutboxEvent.id).limit(batch)
        ).scalars().all()
        if not events:
            return RelayResult(published=0, deliveries=0, more=False)
        positions = sorted(session.execute(
            text("SELECT nextval('outbox_feed_seq') FROM generate_series(1, :n)"),
            {"n": len(events)}).scalars().all())
        for event, position in zip(events, positions, strict=True):
            event.seq = position
            event.relayed_at = now
        session.flush()
        deliveries = fanout.fan_out(session=session, events=events, now=now)
    return RelayResult(published=len(events), deliveries=deliveries, more=len(events) == batch)
