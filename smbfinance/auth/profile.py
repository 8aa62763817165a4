"""The tenant's profile as the rules need it (base currency, time zone, settings), cached
for the current transaction only: the authentication query already reads it, so the
request's use case need not read it again. A commit or rollback forgets it, so a change
to the profile is seen by the next transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, scoped_session

from smbfinance.auth.models import Tenant

_KEY = "smbfinance.tenant_profile"


@dataclass(frozen=True)
class TenantProfile:
    tenant_id: uuid.UUID
    base_currency: str
    time_zone: str
    settings: dict[str, Any]


def _real(session: Session | scoped_session[Session]) -> Session:
    return session() if isinstance(session, scoped_session) else session


def remember(session: Session, profile: TenantProfile) -> None:
    session = _real(session)
    if session.in_transaction():
        session.info[_KEY] = profile


def tenant_profile(session: Session, tenant_id: uuid.UUID) -> TenantProfile | None:
    """The profile of `tenant_id` (None if invisible), from this transaction's cache if any."""
    real = _real(session)
    cached = real.info.get(_KEY)
    if cached is not None and cached.tenant_id == tenant_id and real.in_transaction():
        return cached  # type: ignore[no-any-return]
    row = session.execute(
        select(Tenant.base_currency, Tenant.time_zone, Tenant.settings)
        .where(Tenant.id == tenant_id)
    ).one_or_none()
    if row is None:
        return None
    profile = TenantProfile(tenant_id, row.base_currency, row.time_zone, row.settings or {})
    real.info[_KEY] = profile
    return profile


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_KEY, None)
