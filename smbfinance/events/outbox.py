"""emit(): an event is written in the caller's transaction, so it exists if and only if
the change that caused it is committed. Pure of Flask (services call it)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy.orm import Session, scoped_session

from smbfinance.db import on_commit
from smbfinance.events.catalogue import EVENT_TYPES, object_type_of
from smbfinance.events.models import OutboxEvent
from smbfinance.tenancy import current_tenant_id


def json_safe(value: Any) -> Any:
    """Decimals and ids as strings (never floats), dates in ISO form."""
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return json_safe(value.value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    return value


def emit(*, session: Session, type: str, obj: Mapping[str, Any],
         object_id: uuid.UUID | None) -> OutboxEvent:
    """Record event `type` about `obj` (its representation as the API shows it, now).

    Call it inside the service's `transaction(session)`: a rollback removes the event with
    the change. After commit the relay is nudged; if that nudge is lost (crash, broker
    down), the scheduler's tick finds the unpublished row anyway."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}: add it to events.catalogue")
    event = OutboxEvent(type=type, object_type=object_type_of(type), object_id=object_id,
                        data=json_safe(obj))
    session.add(event)
    session.connection()  # begins the transaction (and its tenant scope) if not yet begun
    # One nudge per transaction is enough: remember which transaction already has one.
    real = session() if isinstance(session, scoped_session) else session
    root = real.get_transaction()
    if real.info.get(_KICKED) is not root:
        real.info[_KICKED] = root
        on_commit(session, _Kick(current_tenant_id(session)))
    return event


_KICKED = "smbfinance.events.kicked"


@dataclass(frozen=True)
class _Kick:
    tenant_id: uuid.UUID

    def __call__(self) -> None:
        from smbfinance.webhooks.dispatch import relay_later

        relay_later(self.tenant_id)
