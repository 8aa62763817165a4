"""Partner API keys: create (shown once), list, read, rename, revoke, and authenticate a
request that carries one.

A key reads `sk_<tenant id, 32 hex>_<43 random characters>`: the tenant part lets the
request be scoped to its company before the key is looked up, so the lookup runs under
row-level security like everything else (no cross-tenant path). Only a SHA-256 of the key
is stored; the key's 256 random bits make a slow hash unnecessary (ADR 0030).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from smbfinance.audit import service as audit
from smbfinance.auth import scopes as scope_rules
from smbfinance.auth.api_key_models import ApiKey
from smbfinance.auth.models import Role, Tenant
from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.db import transaction, utcnow
from smbfinance.errors import Conflict, Invalid, NotFound, Unauthenticated
from smbfinance.pagination import Page, check_limit, page_of

KEY_PATTERN = re.compile(r"^sk_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$")
# Writing last_used_at on every call would turn every read into a write.
LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    secret: str


def looks_like_key(token: str) -> bool:
    return token.startswith("sk_")


def tenant_of(token: str) -> uuid.UUID:
    """The company a key belongs to, from its text (not yet proof of anything)."""
    found = KEY_PATTERN.match(token)
    if found is None:
        raise Unauthenticated("this API key is not valid")
    return uuid.UUID(hex=found.group(1))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(*, session: Session, actor: Actor, name: str, scopes: list[str],
               expires_at: datetime | None = None) -> CreatedKey:
    require(actor, Permission.API_KEYS)
    wrong = scope_rules.unknown(scopes)
    if wrong:
        raise Invalid.field("scopes", f"unknown: {', '.join(wrong)}; known scopes: "
                                      f"{', '.join(scope_rules.SCOPES)}")
    if not scopes:
        raise Invalid.field("scopes", "at least one scope")
    if expires_at is not None and expires_at <= utcnow():
        raise Invalid.field("expires_at", "must be in the future")
    secret = f"sk_{actor.tenant_id.hex}_{secrets.token_urlsafe(32)}"
    with transaction(session):
        key = ApiKey(name=name, prefix=secret[:42], key_hash=_digest(secret),
                     scopes=sorted(set(scopes)), created_by=actor.user_id,
                     expires_at=expires_at)
        session.add(key)
        session.flush()
        audit.record(session, actor=actor, action="api_key.created", entity_type="api_key",
                     entity_id=key.id, after=_state(key))
    return CreatedKey(key=key, secret=secret)


def list_keys(*, session: Session, actor: Actor, limit: int | None = None,
              starting_after: uuid.UUID | None = None) -> Page[ApiKey]:
    require(actor, Permission.API_KEYS)
    limit = check_limit(limit)
    query = select(ApiKey)
    if starting_after is not None:
        query = query.where(ApiKey.id < starting_after)
    with transaction(session):
        rows = session.execute(query.order_by(ApiKey.id.desc()).limit(limit + 1)).scalars()
        return page_of(list(rows), limit)


def get_key(*, session: Session, actor: Actor, key_id: uuid.UUID) -> ApiKey:
    require(actor, Permission.API_KEYS)
    with transaction(session):
        return _get(session, key_id)


def _get(session: Session, key_id: uuid.UUID) -> ApiKey:
    key = session.execute(select(ApiKey).where(ApiKey.id == key_id)).scalar_one_or_none()
    if key is None:
        raise NotFound(f"no API key {key_id}")
    return key


def rename_key(*, session: Session, actor: Actor, key_id: uuid.UUID, name: str) -> ApiKey:
    require(actor, Permission.API_KEYS)
    with transaction(session):
        key = _get(session, key_id)
        before = _state(key)
        key.name = name
        audit.record(session, actor=actor, action="api_key.renamed", entity_type="api_key",
                     entity_id=key.id, before=before, after=_state(key))
        return key


def revoke_key(*, session: Session, actor: Actor, key_id: uuid.UUID) -> ApiKey:
    """The key stops working at once; the record stays."""
    require(actor, Permission.API_KEYS)
    with transaction(session):
        key = _get(session, key_id)
        if key.revoked_at is not None:
            raise Conflict("this API key is already revoked")
        before = _state(key)
        key.revoked_at = utcnow()
        audit.record(session, actor=actor, action="api_key.revoked", entity_type="api_key",
                     entity_id=key.id, before=before, after=_state(key))
        return key


def authenticate(*, session: Session, token: str) -> Actor:
    """The actor of a request carrying `token`; the session is already scoped to the
    tenant named in the key. Unknown, revoked and expired keys are refused alike."""
    tenant_id = tenant_of(token)
    with transaction(session):
        found = session.execute(
            select(ApiKey.id, ApiKey.scopes, ApiKey.expires_at, ApiKey.revoked_at,
                   ApiKey.last_used_at)
            .join(Tenant, Tenant.id == ApiKey.tenant_id)
            .where(ApiKey.key_hash == _digest(token), Tenant.closed_at.is_(None))
        ).one_or_none()
        now = utcnow()
        if (found is None or found.revoked_at is not None
                or (found.expires_at is not None and found.expires_at <= now)):
            raise Unauthenticated("this API key is not valid, revoked or expired")
        if found.last_used_at is None or now - found.last_used_at >= LAST_USED_GRANULARITY:
            session.execute(update(ApiKey).where(ApiKey.id == found.id)
                            .values(last_used_at=now),
                            execution_options={"synchronize_session": False})
    return Actor(user_id=None, tenant_id=tenant_id, role=Role.VIEWER, kind="api_key",
                 api_key_id=found.id, scopes=frozenset(found.scopes))


def _state(key: ApiKey) -> dict[str, Any]:
    return {"name": key.name, "prefix": key.prefix, "scopes": list(key.scopes),
            "expires_at": key.expires_at, "revoked_at": key.revoked_at}
