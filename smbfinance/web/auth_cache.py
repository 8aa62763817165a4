"""Remembered authentications (ADR 0019): the membership and sign-in check of a request
answered from this worker's memory while a Redis epoch says nothing changed since.

Every request still asks Redis (one GET of two keys, much cheaper than the PostgreSQL join
it replaces) whether its tenant's auth epoch is the one the remembered answer was read
under. Any committed change that can refuse or alter a sign-in — a refresh-token family
revoked (logout, reuse detected), a membership removed or its role changed, the tenant's
profile or settings changed — deletes that tenant's epoch after the commit, so the next
request anywhere misses and asks PostgreSQL again. A bulk UPDATE/DELETE on those tables
deletes the epoch of every tenant at once.

An answer is remembered for at most TTL seconds, and only when the sign-in stays valid
for that long (the check is run with `now + TTL`), so an expiring family is never
accepted late. Without Redis (down, flushed, unreachable) nothing is trusted: every
request asks PostgreSQL, as before.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from smbfinance.auth.models import Membership, RefreshTokenFamily, Tenant
from smbfinance.auth.profile import TenantProfile
from smbfinance.platform import redis_client

log = logging.getLogger(__name__)

TTL = timedelta(seconds=30)
_MAX_ENTRIES = 4096
_CACHE_KEY = "smbfinance.remembered_authentications"
_CHANGED = "smbfinance.auth_epochs_to_drop"
_ALL = "all"
_WATCHED_TABLES = frozenset({"memberships", "refresh_token_families", "tenants"})


def epoch_key(tenant: uuid.UUID | str) -> str:
    return f"smbfinance:auth-epoch:{tenant}"


@dataclass(frozen=True)
class Remembered:
    role: str
    profile: TenantProfile
    epochs: tuple[bytes, bytes]
    until: float  # time.time() after which PostgreSQL is asked again


def _entries() -> dict[tuple[uuid.UUID, uuid.UUID, uuid.UUID], Remembered]:
    return current_app.extensions.setdefault(_CACHE_KEY, {})  # type: ignore[no-any-return]


def _keys(tenant_id: uuid.UUID) -> list[str]:
    return [epoch_key(tenant_id), epoch_key(_ALL)]


def recall(tenant_id: uuid.UUID, user_id: uuid.UUID,
           family_id: uuid.UUID) -> Remembered | None:
    """The remembered answer when it is fresh and both epochs are unchanged (one Redis
    round trip); None otherwise, and always when Redis cannot be asked."""
    entry = _entries().get((tenant_id, user_id, family_id))
    if entry is None or entry.until <= time.time():
        return None
    try:
        current = redis_client(current_app).mget(_keys(tenant_id))
    except Exception:  # noqa: BLE001 - no Redis, no trust: PostgreSQL answers
        log.warning("auth epochs unavailable; checking the sign-in in PostgreSQL")
        return None
    if tuple(current) != entry.epochs:
        return None
    return entry


def current_epochs(tenant_id: uuid.UUID) -> tuple[bytes, bytes] | None:
    """The epochs to remember an answer under, read BEFORE PostgreSQL is asked (a change
    committed in between deletes them, so the answer is never trusted). Missing epochs
    are created; None when Redis cannot be asked."""
    keys = _keys(tenant_id)
    try:
        client = redis_client(current_app)
        values = client.mget(keys)
        if None in values:
            for key, value in zip(keys, values, strict=True):
                if value is None:
                    client.set(key, secrets.token_hex(16), nx=True)
            values = client.mget(keys)
    except Exception:  # noqa: BLE001
        log.warning("auth epochs unavailable; not remembering the sign-in")
        return None
    if None in values:
        return None
    return (values[0], values[1])


def remember(tenant_id: uuid.UUID, user_id: uuid.UUID, family_id: uuid.UUID, *, role: str,
             profile: TenantProfile, epochs: tuple[bytes, bytes], checked_at: float) -> None:
    entries = _entries()
    if len(entries) >= _MAX_ENTRIES:
        entries.pop(next(iter(entries)), None)  # the oldest
    entries[(tenant_id, user_id, family_id)] = Remembered(
        role=role, profile=profile, epochs=epochs,
        until=checked_at + TTL.total_seconds())


# ------------------------------------------------------------------ invalidation

def _note(session: Session, tenants: set[str]) -> None:
    session.info.setdefault(_CHANGED, set()).update(tenants)


@event.listens_for(Session, "after_flush")
def _note_changes(session: Session, _context: Any) -> None:
    changed: set[str] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Membership | RefreshTokenFamily):
            changed.add(str(obj.tenant_id) if obj.tenant_id is not None else _ALL)
        elif isinstance(obj, Tenant):
            changed.add(str(obj.id) if obj.id is not None else _ALL)
    if changed:
        _note(session, changed)


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_changes(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in _WATCHED_TABLES:
        _note(state.session, {_ALL})


@event.listens_for(Session, "after_commit")
def _drop_epochs(session: Session) -> None:
    changed = session.info.pop(_CHANGED, None)
    if not changed or not has_app_context():
        return
    try:
        redis_client(current_app).delete(*(epoch_key(tenant) for tenant in changed))
    except Exception:
        # This worker forgets everything; others fall back to PostgreSQL within TTL.
        current_app.extensions.pop(_CACHE_KEY, None)
        log.exception("could not drop auth epochs after a sign-in change")


@event.listens_for(Session, "after_rollback")
def _forget_changes(session: Session) -> None:
    session.info.pop(_CHANGED, None)
