"""Ponto connections at the database seam: an adapter built from an integration's sealed
tokens whose rotations are committed at once, and disconnecting (revoke, then forget).

Provider calls never run inside an open database transaction: a rotated refresh token must
be committed on its own, since the previous one is dead at Ponto the moment the new one is
issued — losing it to a rollback would disconnect the company.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.db import transaction, utcnow
from smbfinance.errors import NotFound
from smbfinance.integrations import service
from smbfinance.integrations.models import Integration
from smbfinance.integrations.providers import ponto
from smbfinance.integrations.providers.errors import ProviderError, TokenRevoked
from smbfinance.integrations.providers.http import HttpClient
from smbfinance.integrations.secrets import SecretBox

_DEPTH = "smbfinance.tx_depth"  # smbfinance.db's nesting counter


def _refuse_inside_a_transaction(session: Session) -> None:
    if session.info.get(_DEPTH, 0):
        raise RuntimeError("provider calls and token rotation must not run inside an open "
                           "transaction: a rotated token has to be committed on its own")


def credentials_of(tokens: ponto.TokenSet) -> dict[str, str]:
    return {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
            "scope": tokens.scope}


def ponto_client(*, session: Session, integration: Integration, box: SecretBox,
                 settings: ponto.PontoSettings, clock: Callable[[], datetime] | None = None,
                 http: HttpClient | None = None) -> ponto.PontoClient:
    """An adapter for this integration; each token rotation is sealed and committed."""
    if integration.provider != "ponto" or integration.status != "connected":
        raise NotFound(f"no connected Ponto integration {integration.id}")
    stored = service.read_credentials(integration, box=box)
    tokens = ponto.TokenSet(access_token=stored["access_token"],
                            refresh_token=stored["refresh_token"],
                            expires_at=integration.token_expires_at or utcnow(),
                            scope=stored.get("scope", ""))

    def persist(fresh: ponto.TokenSet) -> None:
        _refuse_inside_a_transaction(session)
        service.replace_credentials(session=session, integration=integration, box=box,
                                    credentials=credentials_of(fresh),
                                    token_expires_at=fresh.expires_at)

    kwargs = {"clock": clock} if clock else {}
    return ponto.PontoClient(settings, tokens, on_tokens=persist, http=http, **kwargs)


def disconnect(*, session: Session, actor: Actor, integration_id: uuid.UUID,
               box: SecretBox, settings: ponto.PontoSettings,
               http: HttpClient | None = None) -> Integration:
    """Revoke our grant at Ponto, then forget the tokens. A grant Ponto no longer knows is
    fine; if Ponto cannot be reached the tokens are forgotten anyway and the error kept,
    because the user asked us to stop holding access to their bank."""
    require(actor, Permission.INTEGRATION_SECRETS)
    _refuse_inside_a_transaction(session)
    with transaction(session):
        integration = session.get(Integration, (actor.tenant_id, integration_id))
        if integration is None or integration.provider != "ponto":
            raise NotFound(f"no Ponto integration {integration_id}")
        refresh = (service.read_credentials(integration, box=box).get("refresh_token")
                   if integration.credentials else None)
    error: ProviderError | None = None
    if refresh:
        try:
            ponto.PontoOAuth(settings, http=http).revoke(refresh)
        except TokenRevoked:
            pass
        except ProviderError as failure:
            error = failure
    with transaction(session):
        integration.status = "disconnected"
        integration.health = "disconnected"
        integration.disconnected_at = utcnow()
        integration.credentials = integration.credentials_key_id = None
        integration.token_expires_at = integration.next_sync_at = None
        if error is not None:
            integration.last_error_code = type(error).__name__[:60]
            integration.last_error = f"revoking at Ponto failed: {error}"[:500]
    return integration
