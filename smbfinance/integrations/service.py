"""Integrations use cases: list a tenant's connections, record a new one with its
credentials sealed, read and replace those credentials (for adapters and token rotation).

Secrets are sealed with the caller's `SecretBox`, bound to `integration:<tenant>:<id>`, so
a sealed value copied to another row does not open. No function returns them to a door.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.db import new_id, transaction, utcnow
from smbfinance.errors import Invalid, NotFound
from smbfinance.integrations.health import health_after
from smbfinance.integrations.models import Integration, SyncLog
from smbfinance.integrations.providers.errors import ProviderError
from smbfinance.integrations.secrets import SecretBox
from smbfinance.pagination import Page, check_limit, page_of

PROVIDERS = ("ponto", "yuki")


def credentials_context(tenant_id: uuid.UUID, integration_id: uuid.UUID) -> str:
    return f"integration:{tenant_id}:{integration_id}"


def audit_view(integration: Integration) -> dict[str, Any]:
    """What the audit log records of an integration on connect and disconnect (never a
    secret: the key id only)."""
    return {"provider": integration.provider, "status": integration.status,
            "external_id": integration.external_id, "display_name": integration.display_name,
            "credentials_key_id": integration.credentials_key_id}


def list_integrations(*, session: Session, actor: Actor, provider: str | None = None,
                      limit: int | None = None, starting_after: uuid.UUID | None = None,
                      ) -> Page[Integration]:
    """The tenant's integrations, oldest first (ids are UUIDv7)."""
    require(actor, Permission.FINANCE_READ)
    limit = check_limit(limit)
    query: Select[tuple[Integration]] = select(Integration)
    if provider:
        query = query.where(Integration.provider == provider)
    with transaction(session):
        if starting_after is not None:
            if session.get(Integration, (actor.tenant_id, starting_after)) is None:
                raise NotFound(f"starting_after: no integration {starting_after}")
            query = query.where(Integration.id > starting_after)
        rows = session.execute(query.order_by(Integration.id).limit(limit + 1)).scalars().all()
    return page_of(list(rows), limit)


def create_integration(*, session: Session, actor: Actor, box: SecretBox, provider: str,
                       credentials: dict[str, str], display_name: str | None = None,
                       external_id: str | None = None, status: str = "connected",
                       token_expires_at: datetime | None = None,
                       consent_expires_at: datetime | None = None) -> Integration:
    require(actor, Permission.INTEGRATION_SECRETS)
    if provider not in PROVIDERS:
        raise Invalid.field("provider", "must be one of " + ", ".join(PROVIDERS))
    integration_id = new_id()
    with transaction(session):
        integration = Integration(
            id=integration_id, provider=provider, status=status,
            display_name=display_name, external_id=external_id,
            token_expires_at=token_expires_at, consent_expires_at=consent_expires_at,
            next_sync_at=utcnow() if status == "connected" else None,
            created_by=actor.user_id)
        _seal(integration, box, credentials, tenant_id=actor.tenant_id)
        session.add(integration)
        session.flush()
    return integration


def _seal(integration: Integration, box: SecretBox, credentials: dict[str, str], *,
          tenant_id: uuid.UUID) -> None:
    integration.credentials = box.encrypt(
        json.dumps(credentials, sort_keys=True),
        context=credentials_context(tenant_id, integration.id))
    integration.credentials_key_id = box.primary.id


def read_credentials(integration: Integration, *, box: SecretBox) -> dict[str, Any]:
    """For adapters only (the sync engine); never for a response."""
    if integration.credentials is None:
        return {}
    return json.loads(box.decrypt(
        integration.credentials,
        context=credentials_context(integration.tenant_id, integration.id)))


def replace_credentials(*, session: Session, integration: Integration, box: SecretBox,
                        credentials: dict[str, str],
                        token_expires_at: datetime | None = None) -> None:
    """Store rotated tokens (Ponto's `on_tokens`) in their own transaction, at once: the
    previous refresh token is already dead at the provider."""
    with transaction(session):
        _seal(integration, box, credentials, tenant_id=integration.tenant_id)
        if token_expires_at is not None:
            integration.token_expires_at = token_expires_at


def rotate_credentials_key(*, session: Session, integration: Integration,
                           box: SecretBox) -> bool:
    """Re-seal under the primary key when sealed under an older one; True if changed."""
    if integration.credentials is None or not box.needs_rotation(integration.credentials):
        return False
    with transaction(session):
        integration.credentials = box.rotate(
            integration.credentials,
            context=credentials_context(integration.tenant_id, integration.id))
        integration.credentials_key_id = box.primary.id
    return True


def _integration(session: Session, actor: Actor, integration_id: uuid.UUID) -> Integration:
    # RLS hides other tenants' rows: their ids are simply not found.
    integration = session.get(Integration, (actor.tenant_id, integration_id))
    if integration is None:
        raise NotFound(f"no integration {integration_id}")
    return integration


def list_sync_logs(*, session: Session, actor: Actor, integration_id: uuid.UUID,
                   limit: int | None = None, starting_after: uuid.UUID | None = None,
                   ) -> Page[SyncLog]:
    """One integration's sync runs, newest first (ids are UUIDv7)."""
    require(actor, Permission.FINANCE_READ)
    limit = check_limit(limit)
    query = select(SyncLog).where(SyncLog.integration_id == integration_id)
    with transaction(session):
        _integration(session, actor, integration_id)
        if starting_after is not None:
            anchor = session.get(SyncLog, (actor.tenant_id, starting_after))
            if anchor is None or anchor.integration_id != integration_id:
                raise NotFound(f"starting_after: no sync log {starting_after}")
            query = query.where(SyncLog.id < starting_after)
        rows = session.execute(query.order_by(SyncLog.id.desc()).limit(limit + 1)
                               ).scalars().all()
    return page_of(list(rows), limit)


def start_sync(*, session: Session, integration: Integration, trigger: str) -> SyncLog:
    """A sync run begins (the engine calls this inside the integration's tenant scope)."""
    with transaction(session):
        log = SyncLog(integration_id=integration.id, trigger=trigger, status="running",
                      started_at=utcnow())
        integration.last_sync_started_at = log.started_at
        session.add(log)
        session.flush()
    return log


def finish_sync(*, session: Session, integration: Integration, log: SyncLog,
                counts: dict[str, int], calls: int, error: ProviderError | None = None,
                partial: bool = False) -> SyncLog:
    """Close the run's log and carry its outcome to the integration: freshness on
    success, the error (type and message, never a secret) and health on failure."""
    with transaction(session):
        now = utcnow()
        log.finished_at = now
        log.counts = dict(counts)
        log.calls = calls
        if error is None:
            log.status = "partial" if partial else "success"
            integration.last_success_at = now
            integration.consecutive_failures = 0
            integration.last_error_code = integration.last_error = None
        else:
            log.status = "failed"
            log.error_code = type(error).__name__[:60]
            log.error = str(error)[:500]
            integration.consecutive_failures += 1
            integration.last_error_code = log.error_code
            integration.last_error = log.error
        integration.health = health_after(failures=integration.consecutive_failures,
                                          error_code=log.error_code)
    return log
