"""Fan-out: each published event becomes one pending delivery per endpoint that wants it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from smbfinance.db import new_id
from smbfinance.events.models import OutboxEvent
from smbfinance.webhooks.filters import wants
from smbfinance.webhooks.models import WebhookDelivery, WebhookEndpoint


def fan_out(*, session: Session, events: Sequence[OutboxEvent], now: datetime) -> int:
    """Insert the deliveries (idempotent: one per endpoint and event); returns how many
    rows the statement offered. Joins the caller's transaction."""
    endpoints = session.execute(select(WebhookEndpoint).where(
        WebhookEndpoint.enabled.is_(True), WebhookEndpoint.deleted_at.is_(None))).scalars().all()
    rows: list[dict[str, Any]] = [
        {"id": new_id(), "endpoint_id": endpoint.id, "event_id": event.id,
         "message_id": str(event.id), "event_type": event.type, "object_id": event.object_id,
         "seq": event.seq, "status": "pending", "attempt_count": 0, "attempts": [],
         "next_attempt_at": now, "created_at": now, "updated_at": now}
        for event in events for endpoint in endpoints
        if wants(endpoint.event_types, endpoint.filter, event.type, event.data)
    ]
    if rows:
        session.execute(insert(WebhookDelivery).values(rows).on_conflict_do_nothing(
            index_elements=["tenant_id", "endpoint_id", "event_id"],
            index_where=text("event_id IS NOT NULL")))
    return len(rows)
