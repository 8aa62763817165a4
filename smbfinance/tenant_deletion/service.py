"""Deleting a whole company, in two steps by an owner (ADR 0038).

1. `request_deletion`: the owner re-enters their password and types the company's name;
   they get a one-time confirmation token (15 minutes, stored as a SHA-256 only) and the
   earliest date the data may be purged.
2. `confirm_deletion`: with that token, the company is closed at once — every sign-in is
   revoked, tokens and API keys are refused, webhook endpoints and integrations are
   paused — and the purge waits for the end of the legal retention.

A pending request can be cancelled (`cancel_deletion`); a closed company can be reopened
by an owner with their email and password (`reopen`), since nobody can hold a token for
it. The purge itself is in `purge.py`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from smbfinance.audit import service as audit
from smbfinance.auth import passwords
from smbfinance.auth.models import Membership, RefreshTokenFamily, Role, Tenant, User
from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.db import transaction, utcnow
from smbfinance.errors import Conflict, ErrorList, Forbidden, NotFound, Unauthenticated
from smbfinance.integrations.models import Integration
from smbfinance.tenancy import public_scope, tenant_scope
from smbfinance.tenant_deletion.models import CANCELLED, CLOSED, PENDING, TenantDeletion
from smbfinance.webhooks.models import WebhookEndpoint

TOKEN_TTL = timedelta(minutes=15)
TOKEN_PREFIX = "tdc_"
INVALID_CREDENTIALS = "the email or password is incorrect"
CREDENTIALS_LOST = "CredentialsLost"
CONSEQUENCES = (
    "When you confirm, the company is closed at once: every member is signed out and "
    "nobody can sign in, partner API keys stop working, webhook endpoints and bank or "
    "accounting integrations are paused.",
    "Its data is kept, unreadable, until the legal retention ends (Belgian law keeps "
    "invoices and VAT records 10 years), then every row is deleted, including the audit "
    "log, and member accounts that belong to no other company.",
    "Until the purge an owner can reopen the company (POST /api/v1/tenant/reopen with "
    "their email and password).",
    "Export your data first if you need it (POST /api/v1/gdpr/export).",
)

_RETENTION_ENDS_ON = text("SELECT tenant_retention_ends_on(:tenant_id)")


@dataclass(frozen=True)
class Requested:
    deletion: TenantDeletion
    token: str


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def retention_ends_on(session: Session, tenant_id: uuid.UUID) -> date | None:
    """1 January of the 11th year after the company's latest invoice date, booking date or
    audit entry (its own deletion's entries aside); None when it holds no such record.
    The same database function decides at purge time."""
    return session.execute(_RETENTION_ENDS_ON, {"tenant_id": tenant_id}).scalar_one()


def earliest_purge(ends_on: date | None, now: datetime) -> datetime:
    if ends_on is None:
        return now
    return max(now, datetime.combine(ends_on, time.min, tzinfo=UTC))


def _owner(actor: Actor) -> uuid.UUID:
    require(actor, Permission.OWNERSHIP)
    if actor.kind != "user" or actor.user_id is None:
        raise Forbidden("only a signed-in owner can delete the company")
    return actor.user_id


def _live(session: Session, *, lock: bool = False) -> TenantDeletion | None:
    query = select(TenantDeletion).where(TenantDeletion.status.in_((PENDING, CLOSED)))
    if lock:
        query = query.with_for_update()
    return session.execute(query).scalar_one_or_none()


# ---------------------------------------------------------------- step 1: ask

def request_deletion(*, session: Session, actor: Actor, password: str, confirm_name: str,
                     now: datetime | None = None) -> Requested:
    """Issue a confirmation token. Asking again replaces the pending request's token."""
    user_id = _owner(actor)
    now = now or utcnow()
    with transaction(session):
        tenant = session.execute(select(Tenant).where(Tenant.id == actor.tenant_id)
                                 .with_for_update()).scalar_one_or_none()
        user = session.get(User, user_id)
        if tenant is None or user is None:
            raise NotFound("company not found")
        errors = ErrorList()
        if not passwords.verify_password(user.password_hash, password):
            errors.add("password", "does not match your password", "wrong_password")
        if confirm_name.strip() != tenant.legal_name:
            errors.add("confirm_name", "type the company's name exactly as it is registered",
                       "mismatch")
        if errors.errors:
            raise Forbidden("re-enter your password and type the company's name to confirm",
                            errors=errors.errors)
        deletion = _live(session, lock=True)
        if deletion is not None and deletion.status == CLOSED:
            raise Conflict("the company is already closed for deletion")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        ends_on = retention_ends_on(session, actor.tenant_id)
        if deletion is None:
            deletion = TenantDeletion(requested_by=user_id)
            session.add(deletion)
        deletion.requested_by = user_id
        deletion.requested_at = now
        deletion.token_hash = _digest(token)
        deletion.token_expires_at = now + TOKEN_TTL
        deletion.retention_ends_on = ends_on
        deletion.purge_after = earliest_purge(ends_on, now)
        session.flush()
        audit.record(session, actor=actor, action="tenant_deletion.requested",
                     entity_type="tenant", entity_id=actor.tenant_id, after=_state(deletion))
    return Requested(deletion=deletion, token=token)


# ---------------------------------------------------------------- step 2: confirm

def confirm_deletion(*, session: Session, actor: Actor, token: str,
                     now: datetime | None = None) -> TenantDeletion:
    """Close the company at once; the purge waits for the end of the retention."""
    user_id = _owner(actor)
    now = now or utcnow()
    with transaction(session):
        deletion = _live(session, lock=True)
        if deletion is None or deletion.status != PENDING or deletion.token_hash is None:
            raise Conflict("no deletion is pending: ask for one first "
                           "(POST /api/v1/tenant/deletion)")
        if not hmac.compare_digest(deletion.token_hash, _digest(token)):
            raise Forbidden("token: not the confirmation token of this request",
                            extra={"field": "token"})
        if deletion.requested_by != user_id:
            raise Forbidden("only the owner who asked can confirm")
        if deletion.token_expires_at is None or deletion.token_expires_at <= now:
            raise Forbidden("token: expired; ask again", extra={"field": "token"})
        tenant = session.execute(select(Tenant).where(Tenant.id == actor.tenant_id)
                                 .with_for_update()).scalar_one()
        ends_on = retention_ends_on(session, actor.tenant_id)
        before = _state(deletion)
        deletion.status = CLOSED
        deletion.token_hash = None
        deletion.confirmed_by = user_id
        deletion.confirmed_at = now
        deletion.retention_ends_on = ends_on
        deletion.purge_after = earliest_purge(ends_on, now)
        deletion.paused = _pause(session, now=now)
        tenant.closed_at = now
        session.flush()
        audit.record(session, actor=actor, action="tenant_deletion.confirmed",
                     entity_type="tenant", entity_id=actor.tenant_id, before=before,
                     after=_state(deletion))
    return deletion


def _pause(session: Session, *, now: datetime) -> dict[str, Any]:
    """Everything that acts for the company by itself stops; what was on is remembered."""
    session.execute(update(RefreshTokenFamily).where(RefreshTokenFamily.revoked_at.is_(None))
                    .values(revoked_at=now, revoked_reason="tenant_closed"),
                    execution_options={"synchronize_session": False})
    endpoints = session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.enabled.is_(True), WebhookEndpoint.deleted_at.is_(None))
        .values(enabled=False).returning(WebhookEndpoint.id),
        execution_options={"synchronize_session": False}).scalars().all()
    integrations = session.execute(
        update(Integration).where(Integration.status == "connected")
        .values(status="disconnected", next_sync_at=None).returning(Integration.id),
        execution_options={"synchronize_session": False}).scalars().all()
    return {"webhook_endpoints": sorted(str(i) for i in endpoints),
            "integrations": sorted(str(i) for i in integrations)}


# ---------------------------------------------------------------- state, cancel, reopen

def get_deletion(*, session: Session, actor: Actor) -> TenantDeletion:
    """The live request, else the latest cancelled one."""
    _owner(actor)
    with transaction(session):
        deletion = _live(session) or session.execute(
            select(TenantDeletion).order_by(TenantDeletion.requested_at.desc(),
                                            TenantDeletion.id.desc()).limit(1)
        ).scalar_one_or_none()
    if deletion is None:
        raise NotFound("no deletion was ever asked for this company")
    return deletion


def cancel_deletion(*, session: Session, actor: Actor,
                    now: datetime | None = None) -> TenantDeletion:
    """Cancel a pending request (a closed company is reopened with `reopen`)."""
    user_id = _owner(actor)
    with transaction(session):
        deletion = _live(session, lock=True)
        if deletion is None or deletion.status != PENDING:
            raise NotFound("no deletion is pending")
        before = _state(deletion)
        _cancel(deletion, user_id=user_id, now=now or utcnow())
        session.flush()
        audit.record(session, actor=actor, action="tenant_deletion.cancelled",
                     entity_type="tenant", entity_id=actor.tenant_id, before=before,
                     after=_state(deletion))
    return deletion


def _cancel(deletion: TenantDeletion, *, user_id: uuid.UUID, now: datetime) -> None:
    deletion.status = CANCELLED
    deletion.token_hash = None
    deletion.cancelled_by = user_id
    deletion.cancelled_at = now


def reopen(*, session: Session, tenant_id: uuid.UUID, email: str, password: str,
           now: datetime | None = None) -> TenantDeletion:
    """An owner undoes a confirmed deletion before the purge. Nobody holds a token for a
    closed company, so the owner proves who they are with their email and password;
    members sign in again afterwards (their sign-ins were revoked at closing)."""
    now = now or utcnow()
    with public_scope(session):
        user = session.execute(
            select(User.id, User.password_hash)
            .where(func.lower(User.email) == email.strip().lower())).one_or_none()
        session.rollback()
    if not passwords.verify_password(user.password_hash if user else None, password) \
            or user is None:
        raise Unauthenticated(INVALID_CREDENTIALS)
    with tenant_scope(session, tenant_id), transaction(session):
        membership = session.get(Membership, (tenant_id, user.id))
        if membership is None:
            raise Unauthenticated(INVALID_CREDENTIALS)  # do not confirm the company exists
        if Role(membership.role) is not Role.OWNER:
            raise Forbidden("only an owner can reopen the company")
        tenant = session.execute(select(Tenant).where(Tenant.id == tenant_id)
                                 .with_for_update()).scalar_one()
        deletion = _live(session, lock=True)
        if tenant.closed_at is None or deletion is None or deletion.status != CLOSED:
            raise Conflict("the company is not closed")
        before = _state(deletion)
        _cancel(deletion, user_id=user.id, now=now)
        tenant.closed_at = None
        _resume(session, deletion.paused, now=now)
        session.flush()
        actor = Actor(user_id=user.id, tenant_id=tenant_id, role=Role.OWNER)
        audit.record(session, actor=actor, action="tenant_deletion.reopened",
                     entity_type="tenant", entity_id=tenant_id, before=before,
                     after=_state(deletion))
    return deletion


def _resume(session: Session, paused: dict[str, Any], *, now: datetime) -> None:
    endpoints = [uuid.UUID(i) for i in paused.get("webhook_endpoints", [])]
    integrations = [uuid.UUID(i) for i in paused.get("integrations", [])]
    if endpoints:
        session.execute(update(WebhookEndpoint)
                        .where(WebhookEndpoint.id.in_(endpoints),
                               WebhookEndpoint.deleted_at.is_(None))
                        .values(enabled=True),
                        execution_options={"synchronize_session": False})
    if integrations:
        still_paused = (Integration.id.in_(integrations), Integration.status == "disconnected",
                        Integration.disconnected_at.is_(None))
        session.execute(update(Integration)
                        .where(*still_paused, Integration.credentials.is_not(None))
                        .values(status="connected", next_sync_at=now),
                        execution_options={"synchronize_session": False})
        # Paused without credentials (a sync that ended during the closing forgot them,
        # before ADR 0038's amendment): connected again it could only fail; it waits for
        # the owner to connect it again, and says so.
        session.execute(update(Integration)
                        .where(*still_paused, Integration.credentials.is_(None))
                        .values(health="disconnected", last_error_code=CREDENTIALS_LOST,
                                last_error="its credentials were lost while the company "
                                           "was closed: connect it again"),
                        execution_options={"synchronize_session": False})


def _state(deletion: TenantDeletion) -> dict[str, Any]:
    return {"status": deletion.status, "retention_ends_on": deletion.retention_ends_on,
            "purge_after": deletion.purge_after,
            "token_expires_at": deletion.token_expires_at}
