"""The event feed: a tenant's published events in order, behind an opaque cursor.

Positions (`seq`) are assigned by the relay in commit order, so reading "after position N"
never skips an event that committed late. Events are kept at least 30 days
(EVENTS_RETENTION_DAYS); a cursor older than that resumes at the oldest event kept.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.db import transaction
from smbfinance.errors import ErrorList, Invalid, NotFound
from smbfinance.events.catalogue import EVENT_TYPES
from smbfinance.events.models import OutboxEvent
from smbfinance.pagination import check_limit

_CURSOR_PREFIX = "evc1:"


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise Invalid.field("cursor", "is not a cursor from this feed") from None
    if not raw.startswith(_CURSOR_PREFIX) or not raw[len(_CURSOR_PREFIX):].isdigit():
        raise Invalid.field("cursor", "is not a cursor from this feed")
    return int(raw[len(_CURSOR_PREFIX):][:18])


def representation(event: OutboxEvent) -> dict[str, Any]:
    """An event as the feed and webhooks show it (the webhook body is exactly this)."""
    return {
        "id": str(event.id),
        "object": "event",
        "type": event.type,
        "created_at": event.created_at.isoformat(),
        "object_id": str(event.object_id) if event.object_id else None,
        "data": event.data,
    }


@dataclass(frozen=True)
class FeedPage:
    data: list[dict[str, Any]]
    has_more: bool
    next_cursor: str | None


def _types(raw: Sequence[str] | None) -> list[str]:
    if not raw:
        return []
    errors = ErrorList()
    for index, value in enumerate(raw):
        if value not in EVENT_TYPES:
            errors.add(f"types.{index}", f"unknown event type {value!r}")
    errors.raise_if_any()
    return list(dict.fromkeys(raw))


def list_events(*, session: Session, actor: Actor, cursor: str | None = None,
                types: Sequence[str] | None = None, limit: int | None = None) -> FeedPage:
    """Events after `cursor` (from the oldest kept when absent), oldest first.
    `next_cursor` is returned even on an empty page: poll with it to wait for new events."""
    require(actor, Permission.FINANCE_READ)
    limit = check_limit(limit)
    after = decode_cursor(cursor) if cursor else 0
    wanted = _types(types)
    query = select(OutboxEvent).where(OutboxEvent.seq.is_not(None), OutboxEvent.seq > after)
    if wanted:
        query = query.where(OutboxEvent.type.in_(wanted))
    with transaction(session):
        rows = session.execute(query.order_by(OutboxEvent.seq).limit(limit + 1)).scalars().all()
    page = list(rows[:limit])
    last = page[-1].seq if page else after
    return FeedPage(data=[representation(e) for e in page], has_more=len(rows) > limit,
                    next_cursor=encode_cursor(last or 0))


def get_event(*, session: Session, actor: Actor, event_id: uuid.UUID) -> dict[str, Any]:
    require(actor, Permission.FINANCE_READ)
    with transaction(session):
        event = session.execute(select(OutboxEvent).where(
            OutboxEvent.id == event_id, OutboxEvent.seq.is_not(None))).scalar_one_or_none()
    if event is None:
        raise NotFound(f"no event {event_id}")
    return representation(event)
