"""Recording audit entries inside the caller's transaction (issue 7 adds the hash chain
and append-only guarantees; the call sites stay the same)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy.orm import Session

from smbfinance.audit.models import AuditEntry
from smbfinance.auth.permissions import Actor
from smbfinance.logs import log_context


def snapshot(values: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe copy: Decimals and dates as strings, so nothing is lost or rounded."""
    return {key: _plain(value) for key, value in values.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal | uuid.UUID | date | datetime):
        return str(value) if not isinstance(value, date | datetime) else value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return snapshot(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor_type=actor.kind, actor_id=actor.user_id, action=action, entity_type=entity_type,
        entity_id=entity_id, before=snapshot(before) if before is not None else None,
        after=snapshot(after) if after is not None else None,
        request_id=log_context().get("request_id"),
    )
    session.add(entry)
    return entry
