"""Ponto connections at the database seam: an adapter built from an integration's sealed
tokens whose rotations are committed at once. Disconnecting (revoke, then forget, audited)
is `disconnect_service.disconnect`, for Ponto and Yuki alike.

Provider calls never run inside an open database transaction: a rotated refresh token must
be committed on its own, since the previous one is dead at Ponto the moment the new one is
issued — losing it to a rollback would disconnect the company.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from smbfinance.db import utcnow
from smbfinance.errors import NotFound
from smbfinance.integrations import service
from smbfinance.integrations.models import Integration
from smbfinance.integrations.providers import ponto
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
