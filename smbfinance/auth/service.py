"""Auth use cases: sign-up, sign-in, token rotation, sign-out, profile, tenant, members.

Plain functions with keyword-only arguments; no Flask, marshmallow or strawberry here.
Each function moves between scopes explicitly: public (users are global identities),
the narrow cross-tenant path (a user's list of tenants), and a tenant scope.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from smbfinance.auth import passwords, profile, tenant_settings, tokens
from smbfinance.auth.identifiers import (
    normalise_enterprise_number,
    normalise_peppol_id,
    normalise_vat_number,
    validate_currency,
    validate_time_zone,
)
from smbfinance.auth.models import Membership, RefreshTokenFamily, Role, Tenant, User
from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.db import new_id, transaction, utcnow
from smbfinance.errors import Conflict, ErrorList, Invalid, NotFound, Unauthenticated
from smbfinance.tenancy import dangerously_unscoped, public_scope, tenant_scope

INVALID_CREDENTIALS = "the email or password is incorrect"


@dataclass(frozen=True)
class TenantChoice:
    tenant_id: uuid.UUID
    legal_name: str
    role: Role


@dataclass(frozen=True)
class SignedIn:
    user: User
    tenant: Tenant
    role: Role
    tokens: tokens.TokenPair


@dataclass(frozen=True)
class Me:
    user: User
    tenant: Tenant
    role: Role
    memberships: list[TenantChoice]


@dataclass(frozen=True)
class Member:
    user_id: uuid.UUID
    email: str
    full_name: str | None
    role: Role
    joined_at: datetime


# ---------------------------------------------------------------- sign-up and sign-in

def register(
    *,
    session: Session,
    settings: tokens.TokenSettings,
    company_name: str,
    email: str,
    password: str,
    full_name: str | None = None,
    now: datetime | None = None,
) -> SignedIn:
    """Create a company, its owner and a first sign-in, all in one transaction."""
    now = now or utcnow()
    errors = ErrorList()
    passwords.check_policy(password, errors=errors)
    if not company_name.strip():
        errors.add("company_name", "must not be blank")
    errors.raise_if_any()
    email = _normalise_email(email)
    tenant_id = new_id()
    with tenant_scope(session, tenant_id), transaction(session):
        if _find_user(session, email) is not None:
            raise Conflict(
                "an account with this email already exists: sign in instead",
                errors=[],
                extra={"field": "email"},
            )
        tenant = Tenant(id=tenant_id, legal_name=company_name.strip(), settings={})
        user = User(email=email, password_hash=passwords.hash_password(password),
                    full_name=full_name)
        session.add_all([tenant, user])
        try:
            session.flush()
        except IntegrityError:
            # Two sign-ups with one email at the same moment: the unique index decides.
            raise Conflict("an account with this email already exists: sign in instead",
                           extra={"field": "email"}) from None
        session.add(Membership(user_id=user.id, role=Role.OWNER.value))
        session.flush()
        pair = _start_family(session, settings=settings, user_id=user.id,
                             tenant_id=tenant_id, now=now)
        user.last_login_at = now
    return SignedIn(user=user, tenant=tenant, role=Role.OWNER, tokens=pair)


def login(
    *,
    session: Session,
    settings: tokens.TokenSettings,
    email: str,
    password: str,
    tenant_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> SignedIn:
    """Sign in for one tenant. A user of several tenants who names none gets a Conflict
    listing them. Unknown email and wrong password cost the same and read the same."""
    now = now or utcnow()
    with public_scope(session):
        user = _find_user(session, _normalise_email(email))
        # Plain values: a rollback expires ORM objects, and a reload would open a new
        # transaction in whatever scope comes next.
        user_id, password_hash = (user.id, user.password_hash) if user else (None, None)
        session.rollback()
    if not passwords.verify_password(password_hash, password) or user_id is None:
        raise Unauthenticated(INVALID_CREDENTIALS)
    choices = _tenants_of(session, user_id)
    if tenant_id is None:
        if len(choices) > 1:
            raise Conflict(
                "you belong to several companies: repeat the request with tenant_id",
                extra={"tenants": [_choice_dict(c) for c in choices]},
            )
        if not choices:
            raise Unauthenticated("this account has no company access any more")
        tenant_id = choices[0].tenant_id
    elif tenant_id not in {c.tenant_id for c in choices}:
        # Same answer as a wrong password: do not confirm which tenants exist.
        raise Unauthenticated(INVALID_CREDENTIALS)
    return _sign_in(session, settings=settings, user_id=user_id, tenant_id=tenant_id, now=now,
                    password=password)


def switch_tenant(
    *,
    session: Session,
    settings: tokens.TokenSettings,
    actor: Actor,
    tenant_id: uuid.UUID,
    now: datetime | None = None,
) -> SignedIn:
    """Tokens for another tenant of the same user (a new sign-in family)."""
    if actor.user_id is None:
        raise Unauthenticated("only a user can switch tenants")
    # Authentication leaves the request's read transaction open in the current tenant's
    # scope; it holds no work of ours, and the cross-tenant lookup needs a new one.
    session.rollback()
    choices = _tenants_of(session, actor.user_id)
    if tenant_id not in {c.tenant_id for c in choices}:
        raise NotFound("no such tenant among your memberships")
    return _sign_in(session, settings=settings, user_id=actor.user_id, tenant_id=tenant_id,
                    now=now or utcnow())


def _sign_in(
    session: Session,
    *,
    settings: tokens.TokenSettings,
    user_id: uuid.UUID,
    tenant_id: uuid.UUID,
    now: datetime,
    password: str | None = None,
) -> SignedIn:
    with tenant_scope(session, tenant_id), transaction(session):
        membership = session.get(Membership, (tenant_id, user_id))
        tenant = session.get(Tenant, tenant_id)
        if membership is None or tenant is None:
            raise Unauthenticated(INVALID_CREDENTIALS)
        if tenant.closed_at is not None:
            raise Unauthenticated("this company is closed for deletion: an owner can "
                                  "reopen it (POST /api/v1/tenant/reopen)")
        user = session.execute(
            select(User).where(User.id == user_id).with_for_update()
        ).scalar_one()
        if password is not None and passwords.needs_rehash(user.password_hash):
            user.password_hash = passwords.hash_password(password)
        user.last_login_at = now
        pair = _start_family(session, settings=settings, user_id=user_id,
                             tenant_id=tenant_id, now=now)
    return SignedIn(user=user, tenant=tenant, role=Role(membership.role), tokens=pair)


def _start_family(
    session: Session,
    *,
    settings: tokens.TokenSettings,
    user_id: uuid.UUID,
    tenant_id: uuid.UUID,
    now: datetime,
) -> tokens.TokenPair:
    family = RefreshTokenFamily(
        id=new_id(), user_id=user_id, current_jti=uuid.uuid4(),
        expires_at=now + settings.refresh_ttl,
    )
    session.add(family)
    session.flush()
    return tokens.issue_pair(settings, user_id=user_id, tenant_id=tenant_id,
                             family_id=family.id, refresh_jti=family.current_jti, now=now)


# ---------------------------------------------------------------- tokens

def refresh(
    *,
    session: Session,
    settings: tokens.TokenSettings,
    claims: dict[str, Any],
    now: datetime | None = None,
) -> tokens.TokenPair:
    """Rotate a refresh token. An already used one revokes its whole family."""
    now = now or utcnow()
    ids = tokens.parse_ids(claims)
    with tenant_scope(session, ids.tenant_id), transaction(session):
        family = session.execute(
            select(RefreshTokenFamily)
            .where(RefreshTokenFamily.id == ids.family_id)
            .with_for_update()
        ).scalar_one_or_none()
        if family is None or family.user_id != ids.user_id:
            raise Unauthenticated("this sign-in no longer exists: sign in again")
        if family.revoked_at is not None:
            raise Unauthenticated("this sign-in was revoked: sign in again")
        if family.current_jti != ids.jti:
            family.revoked_at = now
            family.revoked_reason = "refresh_token_reused"
            session.commit()  # the revocation must stick although we answer with an error
            raise Unauthenticated(
                "this refresh token was already used; for your safety every token of this "
                "sign-in is now revoked: sign in again"
            )
        if family.expires_at <= now:
            raise Unauthenticated("this sign-in has expired: sign in again")
        family.current_jti = uuid.uuid4()
        family.rotated_at = now
        family.expires_at = now + settings.refresh_ttl
        return tokens.issue_pair(settings, user_id=ids.user_id, tenant_id=ids.tenant_id,
                                 family_id=family.id, refresh_jti=family.current_jti, now=now)


def logout(*, session: Session, actor: Actor, now: datetime | None = None) -> None:
    """Revoke the sign-in family: its refresh token and every access token it issued."""
    with transaction(session):
        family = session.get(RefreshTokenFamily, (actor.tenant_id, actor.family_id))
        if family is not None and family.revoked_at is None:
            family.revoked_at = now or utcnow()
            family.revoked_reason = "logout"


# Runs on every authenticated request: sent through the driver, no statement building.
_AUTHENTICATE = (
    "SELECT m.role, t.base_currency, t.time_zone, t.settings FROM memberships m"
    " JOIN refresh_token_families f ON f.tenant_id = m.tenant_id AND f.user_id = m.user_id"
    " JOIN tenants t ON t.id = m.tenant_id"
    " WHERE m.user_id = %(user_id)s AND f.id = %(family_id)s"
    " AND f.revoked_at IS NULL AND f.expires_at > %(now)s AND t.closed_at IS NULL"
)


def authenticate(
    *, session: Session, user_id: uuid.UUID, tenant_id: uuid.UUID, family_id: uuid.UUID,
    now: datetime | None = None,
) -> Actor:
    """Turn verified access-token claims into an Actor: the membership must still exist
    and the sign-in must not be revoked. One indexed query, inside the tenant's scope.

    When the session is already scoped to this tenant (a request), the transaction stays
    open for the request's own work: one BEGIN and one set_config per request, not two."""
    with tenant_scope(session, tenant_id):
        row = session.connection().exec_driver_sql(_AUTHENTICATE, {
            "user_id": str(user_id), "family_id": str(family_id), "now": now or utcnow(),
        }).one_or_none()
        if row is not None:
            profile.remember(session, profile.TenantProfile(
                tenant_id, row.base_currency, row.time_zone, row.settings or {}))
    if row is None:
        raise Unauthenticated("this token is no longer valid: sign in again")
    return Actor(user_id=user_id, tenant_id=tenant_id, role=Role(row.role), family_id=family_id)


# ---------------------------------------------------------------- profile and tenant

def get_me(*, session: Session, actor: Actor) -> Me:
    if actor.user_id is None:
        raise NotFound("no user behind this credential")
    with transaction(session):
        user = session.get(User, actor.user_id)
        tenant = session.get(Tenant, actor.tenant_id)
    if user is None or tenant is None:
        raise NotFound("user not found")
    return Me(user=user, tenant=tenant, role=actor.role,
              memberships=_tenants_of(session, actor.user_id))


def get_tenant(*, session: Session, actor: Actor) -> Tenant:
    require(actor, Permission.TENANT_READ)
    with transaction(session):
        tenant = session.get(Tenant, actor.tenant_id)
    if tenant is None:
        raise NotFound("tenant not found")
    return tenant


def update_tenant(*, session: Session, actor: Actor, changes: dict[str, Any]) -> Tenant:
    """Change the company profile. Only the fields present in `changes` change."""
    require(actor, Permission.TENANT_WRITE)
    errors = ErrorList()
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "legal_name":
            if not str(value).strip():
                errors.add(key, "must not be blank")
            clean[key] = str(value).strip()
        elif key in _PROFILE_NORMALISERS:
            normalise = _PROFILE_NORMALISERS[key]
            if value is None and key in ("vat_number", "enterprise_number", "peppol_id"):
                clean[key] = None
                continue
            try:
                clean[key] = normalise(str(value))
            except ValueError as exc:
                errors.add(key, str(exc))
        elif key != "settings":
            errors.add(key, "unknown field", "unknown_field")
    errors.raise_if_any()
    with transaction(session):
        tenant = session.get(Tenant, actor.tenant_id)
        if tenant is None:
            raise NotFound("tenant not found")
        if "settings" in changes:
            tenant.settings = tenant_settings.merge(tenant.settings, changes["settings"] or {})
        for key, value in clean.items():
            setattr(tenant, key, value)
        session.flush()
    return tenant


_PROFILE_NORMALISERS = {
    "vat_number": normalise_vat_number,
    "enterprise_number": normalise_enterprise_number,
    "peppol_id": normalise_peppol_id,
    "base_currency": validate_currency,
    "time_zone": validate_time_zone,
}


# ---------------------------------------------------------------- members

def list_members(*, session: Session, actor: Actor) -> list[Member]:
    require(actor, Permission.MEMBERS_READ)
    with transaction(session):
        rows = session.execute(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .order_by(Membership.created_at, User.email)
        ).all()
    return [_member(m, u) for m, u in rows]


def add_member(
    *,
    session: Session,
    actor: Actor,
    email: str,
    role: Role,
    password: str | None = None,
    full_name: str | None = None,
) -> Member:
    """Give a person access. An existing account joins as is; a new one needs an initial
    password (see docs/decisions/0008-members-without-email-invitations.md)."""
    require(actor, Permission.MEMBERS_WRITE)
    _require_may_grant(actor, role)
    email = _normalise_email(email)
    with transaction(session):
        user = _find_user(session, email)
        if user is None:
            errors = ErrorList()
            if password is None:
                errors.add("password", "required when the person has no account yet", "required")
            else:
                passwords.check_policy(password, errors=errors)
            errors.raise_if_any()
            assert password is not None
            user = User(email=email, password_hash=passwords.hash_password(password),
                        full_name=full_name)
            session.add(user)
            session.flush()
        elif session.get(Membership, (actor.tenant_id, user.id)) is not None:
            raise Conflict("this person is already a member", extra={"field": "email"})
        membership = Membership(user_id=user.id, role=role.value)
        session.add(membership)
        session.flush()
    return _member(membership, user)


def change_member_role(
    *, session: Session, actor: Actor, user_id: uuid.UUID, role: Role
) -> Member:
    require(actor, Permission.MEMBERS_WRITE)
    with transaction(session):
        membership, user = _get_member(session, actor, user_id)
        _require_may_grant(actor, Role(membership.role))
        _require_may_grant(actor, role)
        if Role(membership.role) is Role.OWNER and role is not Role.OWNER:
            _require_another_owner(session, user_id)
        membership.role = role.value
        session.flush()
    return _member(membership, user)


def remove_member(*, session: Session, actor: Actor, user_id: uuid.UUID) -> None:
    """Remove access. Their sign-in families go with the membership (FK cascade), so
    their tokens stop working at once."""
    require(actor, Permission.MEMBERS_WRITE)
    with transaction(session):
        membership, _user = _get_member(session, actor, user_id)
        _require_may_grant(actor, Role(membership.role))
        if Role(membership.role) is Role.OWNER:
            _require_another_owner(session, user_id)
        session.delete(membership)


def _get_member(session: Session, actor: Actor, user_id: uuid.UUID) -> tuple[Membership, User]:
    row = session.execute(
        select(Membership, User).join(User, User.id == Membership.user_id)
        .where(Membership.user_id == user_id)
        .with_for_update(of=Membership)
    ).first()
    if row is None:
        raise NotFound("no such member")
    return row[0], row[1]


def _require_may_grant(actor: Actor, role: Role) -> None:
    if role is Role.OWNER:
        require(actor, Permission.OWNERSHIP)


def _require_another_owner(session: Session, user_id: uuid.UUID) -> None:
    others = session.execute(
        select(func.count()).select_from(Membership)
        .where(Membership.role == Role.OWNER.value, Membership.user_id != user_id)
    ).scalar_one()
    if others == 0:
        raise Conflict("a company keeps at least one owner: make someone else owner first")


def _member(membership: Membership, user: User) -> Member:
    return Member(user_id=user.id, email=user.email, full_name=user.full_name,
                  role=Role(membership.role), joined_at=membership.created_at)


# ---------------------------------------------------------------- helpers

def _normalise_email(email: str) -> str:
    email = email.strip()
    if "@" not in email or len(email) > 254:
        raise Invalid.field("email", "not a valid email address")
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def _find_user(session: Session, email: str) -> User | None:
    return session.execute(
        select(User).where(func.lower(User.email) == email.lower())
    ).scalar_one_or_none()


_TENANTS_OF = text(
    "SELECT tenant_id, legal_name, role FROM cross_tenant_user_memberships(:user_id)"
)


def _tenants_of(session: Session, user_id: uuid.UUID) -> list[TenantChoice]:
    with dangerously_unscoped(session, reason="list the tenants of the signed-in user"):
        rows = session.execute(_TENANTS_OF, {"user_id": user_id}).all()
        session.rollback()
    return [TenantChoice(r.tenant_id, r.legal_name, Role(r.role)) for r in rows]


def _choice_dict(choice: TenantChoice) -> dict[str, str]:
    return {"tenant_id": str(choice.tenant_id), "legal_name": choice.legal_name,
            "role": choice.role.value}
