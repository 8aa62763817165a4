"""Connecting Ponto: OAuth2 authorization code with PKCE. `start_ponto_connect` keeps the
PKCE verifier server-side (sealed, in Redis, ten minutes) under a random `state` bound to
the tenant and the user who started; `finish_ponto_connect` accepts the code only from that
same user in that same company, once, exchanges it at Ponto, stores the tokens sealed and
creates (or reconnects) the integration, then asks for its first sync.

Provider calls run outside any database transaction (ponto_service explains why).
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from smbfinance.audit import service as audit
from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.db import on_commit, transaction, utcnow
from smbfinance.errors import Conflict, Invalid
from smbfinance.integrations import ponto_service, service
from smbfinance.integrations.models import Integration
from smbfinance.integrations.providers import ponto
from smbfinance.integrations.providers.errors import AuthorizationFailed, ProviderError
from smbfinance.integrations.providers.http import HttpClient
from smbfinance.integrations.secrets import SecretBox, SecretError

CONNECT_TTL = timedelta(minutes=10)
KEY = "ponto:connect:{state}"
Enqueue = Callable[..., None]


@dataclass(frozen=True)
class ConnectStart:
    authorization_url: str
    state: str
    expires_at: datetime


def _not_configured(settings: ponto.PontoSettings | None) -> ponto.PontoSettings:
    if settings is None or not settings.redirect_uri:
        raise Conflict("Ponto is not configured on this server (PONTO_CLIENT_ID, "
                       "PONTO_CLIENT_SECRET, PONTO_REDIRECT_URI)")
    return settings


def start_ponto_connect(*, actor: Actor, settings: ponto.PontoSettings | None, redis: Any,
                        box: SecretBox, now: datetime | None = None) -> ConnectStart:
    require(actor, Permission.INTEGRATION_SECRETS)
    settings = _not_configured(settings)
    pkce = ponto.new_pkce()
    state = secrets.token_urlsafe(32)
    redis.set(KEY.format(state=state), json.dumps({
        "tenant_id": str(actor.tenant_id), "user_id": str(actor.user_id),
        "verifier": box.encrypt(pkce.verifier, context=f"ponto-connect:{state}")}),
        ex=int(CONNECT_TTL.total_seconds()))
    return ConnectStart(ponto.authorization_url(settings, state=state, pkce=pkce), state,
                        (now or utcnow()) + CONNECT_TTL)


def _take_verifier(redis: Any, box: SecretBox, actor: Actor, state: str) -> str:
    """The verifier of this state, if it was started by this user in this company; the
    state is spent (deleted) by the one caller that gets it."""
    refused = Invalid.field("state", "unknown, expired or already used: start connecting "
                                     "again", code="invalid_state")
    key = KEY.format(state=state)
    raw = redis.get(key)
    if not raw:
        raise refused
    try:
        record = json.loads(raw)
        owner = (uuid.UUID(record["tenant_id"]), record["user_id"])
    except (ValueError, KeyError, TypeError):
        redis.delete(key)
        raise refused from None
    if owner != (actor.tenant_id, str(actor.user_id)):
        raise refused  # another user or company: not theirs to finish (and not spent)
    if redis.delete(key) != 1:
        raise refused  # a concurrent callback took it
    try:
        return box.decrypt(record["verifier"], context=f"ponto-connect:{state}")
    except (SecretError, KeyError, TypeError):
        raise refused from None


def finish_ponto_connect(*, session: Session, actor: Actor,
                         settings: ponto.PontoSettings | None, redis: Any, box: SecretBox,
                         code: str, state: str, enqueue: Enqueue,
                         http: HttpClient | None = None,
                         clock: Callable[[], datetime] | None = None) -> Integration:
    require(actor, Permission.INTEGRATION_SECRETS)
    settings = _not_configured(settings)
    verifier = _take_verifier(redis, box, actor, state)
    kwargs: dict[str, Any] = {"clock": clock} if clock else {}
    try:
        tokens = ponto.PontoOAuth(settings, http=http, **kwargs).exchange_code(code, verifier)
        rotated: list[ponto.TokenSet] = []
        client = ponto.PontoClient(settings, tokens, on_tokens=rotated.append, http=http,
                                   **kwargs)
        # Who we are connected to: the organization (Ponto's `sub`) and its name.
        info = client._call("GET", "/userinfo")  # the adapter has no public wrapper yet
        tokens = rotated[-1] if rotated else tokens
    except AuthorizationFailed:
        raise Invalid.field("code", "Ponto refused the authorization code: start connecting "
                                    "again", code="invalid_code") from None
    except ProviderError as error:
        raise Conflict(f"Ponto could not complete the connection ({type(error).__name__}); "
                       "start connecting again") from None
    organization = str((info or {}).get("sub") or "")[:100] if isinstance(info, dict) else ""
    if not organization:
        raise Conflict("Ponto did not name the connected organization; start again")
    name = str(info.get("name") or "Ponto")[:200]
    credentials = ponto_service.credentials_of(tokens)
    with transaction(session):
        # Two connect flows for one organization finishing together would both find none
        # and insert, the second failing on the unique index: as for Yuki, one waits.
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                        {"key": f"{actor.tenant_id}:ponto:{organization}"})
        integration = session.execute(select(Integration).where(
            Integration.provider == "ponto", Integration.external_id == organization,
            Integration.status != "disconnected")).scalar_one_or_none()
        if integration is None:
            integration = service.create_integration(
                session=session, actor=actor, box=box, provider="ponto",
                credentials=credentials, display_name=name, external_id=organization,
                token_expires_at=tokens.expires_at)
        else:  # connected again (e.g. after a revoked grant): fresh tokens, fresh state
            service.replace_credentials(session=session, integration=integration, box=box,
                                        credentials=credentials,
                                        token_expires_at=tokens.expires_at)
            integration.status, integration.health = "connected", "ok"
            integration.consecutive_failures = 0
            integration.last_error_code = integration.last_error = None
            integration.backoff_until = None
            integration.next_sync_at = utcnow()
        session.flush()
        audit.record(session, actor=actor, action="integration.connected",
                     entity_type="integration", entity_id=integration.id,
                     after=service.audit_view(integration))
        tenant_id, integration_id = actor.tenant_id, integration.id
        on_commit(session, lambda: enqueue(tenant_id, integration_id, trigger="connect"))
    return integration
