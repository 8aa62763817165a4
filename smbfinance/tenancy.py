"""Tenant scope: PostgreSQL decides what a session can see.

A session carries a scope in `session.info`. One `after_begin` listener turns it into the
transaction-local setting `app.tenant_id` that every RLS policy reads, so a pooled
connection can never carry a tenant into the next transaction. A session with no scope
that is not explicitly public raises `TenantNotSet` before any SQL runs.

Three scopes exist:
- `tenant_scope(session, tenant_id)`: the normal case, from a verified token, API key or task.
- `public_scope(session)`: no tenant; RLS shows no tenant-owned row. Sign-up, login, health.
- `dangerously_unscoped(session, reason=...)`: also no tenant, but additionally allows the
  few SECURITY DEFINER functions (named `cross_tenant_*`) that read across tenants, such as
  listing a user's tenants at login. Every use names its reason and is logged.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

log = logging.getLogger(__name__)

# The expression every RLS policy compares tenant_id with. NULLIF matters: once a
# transaction-local setting ends it reads as '', and then nothing must match.
TENANT_SETTING = "(SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)"
# Column defaults cannot hold a subquery; this is the same value without it.
TENANT_DEFAULT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"

_SCOPE = "smbfinance.scope"
# Sent through the driver directly: it runs at the start of every transaction.
_SET_SCOPE = (
    "SELECT set_config('app.tenant_id', %(tenant_id)s, true),"
    " set_config('app.cross_tenant', %(cross_tenant)s, true)"
)


class TenantNotSet(RuntimeError):
    """A session tried to reach the database without a tenant scope."""


class ScopeChangeInTransaction(RuntimeError):
    """A scope cannot change inside an open transaction: the setting is fixed at BEGIN."""


@dataclass(frozen=True)
class Scope:
    tenant_id: uuid.UUID | None
    cross_tenant: bool = False
    reason: str = ""


PUBLIC = Scope(tenant_id=None)


def _real(session: Session | scoped_session[Session]) -> Session:
    return session() if isinstance(session, scoped_session) else session


def current_scope(session: Session) -> Scope | None:
    return _real(session).info.get(_SCOPE)


def current_tenant_id(session: Session) -> uuid.UUID:
    scope = current_scope(session)
    if scope is None or scope.tenant_id is None:
        raise TenantNotSet("this operation needs a tenant scope")
    return scope.tenant_id


def set_scope(session: Session, scope: Scope | None) -> None:
    """Set the scope for the session's next transactions (used for a whole request)."""
    session = _real(session)
    if session.in_transaction() and current_scope(session) != scope:
        raise ScopeChangeInTransaction(
            "commit or roll back before changing the tenant scope of a session"
        )
    if scope is None:
        session.info.pop(_SCOPE, None)
    else:
        session.info[_SCOPE] = scope


@contextmanager
def _scoped(session: Session, scope: Scope) -> Iterator[Session]:
    session = _real(session)
    previous = current_scope(session)
    set_scope(session, scope)
    try:
        yield session
    finally:
        if session.in_transaction() and previous != scope:
            session.rollback()
        set_scope(session, previous)


def tenant_scope(session: Session, tenant_id: uuid.UUID) -> AbstractContextManager[Session]:
    if not isinstance(tenant_id, uuid.UUID):
        raise TypeError("tenant_id must be a UUID")
    return _scoped(session, Scope(tenant_id=tenant_id))


def public_scope(session: Session) -> AbstractContextManager[Session]:
    return _scoped(session, PUBLIC)


def dangerously_unscoped(session: Session, *, reason: str) -> AbstractContextManager[Session]:
    """Open the narrow cross-tenant path. Keep uses to a handful and name why."""
    if not reason:
        raise ValueError("dangerously_unscoped() needs a reason")
    log.info("cross-tenant scope opened", extra={"reason": reason})
    return _scoped(session, Scope(tenant_id=None, cross_tenant=True, reason=reason))


@event.listens_for(Session, "after_begin")
def _apply_scope(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    scope = current_scope(session)
    if scope is None:
        raise TenantNotSet(
            "no tenant scope on this session: wrap the work in tenant_scope(), "
            "public_scope() or dangerously_unscoped()"
        )
    connection.exec_driver_sql(
        _SET_SCOPE,
        {
            "tenant_id": str(scope.tenant_id) if scope.tenant_id else "",
            "cross_tenant": "on" if scope.cross_tenant else "",
        },
    )


class TenantOwnedMixin:
    """Marks a model as tenant-owned: tenant_id is filled from the session scope at flush.

    Application code never sets tenant_id by hand; the RLS policy's WITH CHECK rejects a
    row whose tenant differs from the transaction's scope anyway.
    """


@event.listens_for(Session, "before_flush")
def _fill_tenant_id(session: Session, flush_context: object, instances: object) -> None:
    for obj in session.new:
        if isinstance(obj, TenantOwnedMixin) and getattr(obj, "tenant_id", None) is None:
            obj.tenant_id = current_tenant_id(session)  # type: ignore[attr-defined]
