"""Disconnecting an integration (Ponto or Yuki): we stop holding access to the company's
bank or books. Ponto's grant is revoked at Ponto first when Ponto is configured and
reachable; whatever happens there, the sealed credentials are forgotten, the status becomes
`disconnected` and no sync is scheduled. Sync logs and imported data are kept (they are the
company's records). Disconnecting twice changes nothing the second time. Audited.

Provider calls run outside any database transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from smbfinance.audit import service as audit
from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.db import transaction, utcnow
from smbfinance.errors import NotFound
from smbfinance.integrations import service, yuki_service
from smbfinance.integrations.models import Integration
from smbfinance.integrations.providers import ponto
from smbfinance.integrations.providers.errors import ProviderError, TokenRevoked
from smbfinance.integrations.providers.http import HttpClient
from smbfinance.integrations.secrets import SecretBox, SecretError


def _get(session: Session, actor: Actor, integration_id: uuid.UUID, *,
         for_update: bool = False) -> Integration:
    # RLS hides other companies' rows: their ids are simply not found.
    integration = session.get(Integration, (actor.tenant_id, integration_id),
                              with_for_update=for_update)
    if integration is None:
        raise NotFound(f"no integration {integration_id}")
    return integration


def _revoke_at_ponto(refresh_token: str, settings: ponto.PontoSettings | None,
                     http: HttpClient | None) -> str | None:
    """Revoke the grant; the reason it could not be, or None when done (or already gone)."""
    if settings is None:
        return "Ponto is not configured on this server: the grant was not revoked at Ponto"
    try:
        ponto.PontoOAuth(settings, http=http).revoke(refresh_token)
    except TokenRevoked:
        return None
    except ProviderError as error:
        return f"revoking at Ponto failed: {error}"
    return None


def disconnect(*, session: Session, actor: Actor, integration_id: uuid.UUID, box: SecretBox,
               ponto_settings: ponto.PontoSettings | None, redis: Any = None,
               http: HttpClient | None = None) -> Integration:
    require(actor, Permission.INTEGRATION_SECRETS)
    with transaction(session):
        integration = _get(session, actor, integration_id)
        if integration.status == "disconnected" and integration.credentials is None:
            return integration  # already done: idempotent, nothing audited twice
        refresh = None
        if integration.provider == "ponto" and integration.credentials:
            try:
                refresh = service.read_credentials(integration, box=box).get("refresh_token")
            except SecretError:
                refresh = None  # sealed with a key no longer configured: nothing to revoke
    problem = _revoke_at_ponto(refresh, ponto_settings, http) if refresh else None
    with transaction(session):
        integration = _get(session, actor, integration_id, for_update=True)
        if integration.status == "disconnected" and integration.credentials is None:
            return integration  # a concurrent disconnect finished first
        before = service.audit_view(integration)
        integration.status = integration.health = "disconnected"
        integration.disconnected_at = utcnow()
        integration.credentials = integration.credentials_key_id = None
        integration.token_expires_at = integration.next_sync_at = None
        integration.backoff_until = integration.webhook_pending_at = None
        if problem is not None:
            integration.last_error_code = "RevokeFailed"
            integration.last_error = problem[:500]
        session.flush()
        audit.record(session, actor=actor, action="integration.disconnected",
                     entity_type="integration", entity_id=integration.id, before=before,
                     after={**service.audit_view(integration), "revoke_problem": problem})
    if redis is not None and integration.provider == "yuki":
        # The cached Yuki session is sealed and expires anyway; drop it now.
        redis.delete(yuki_service.session_key(integration.tenant_id, integration.id))
    return integration
