"""Connecting Yuki: the user pastes the web-service access key from Yuki (Settings → Web
service access) and, when the key opens several administrations, names one. We check the
key against the configured host with `Authenticate` and `Administrations` (two calls of the
domain's daily quota) before storing anything, then store the key sealed and create (or
reconnect) the integration, audited, and ask for its first sync.

Provider calls run outside any database transaction: a slow Yuki must not hold a
connection or a lock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from smbfinance.audit import service as audit
from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.db import on_commit, transaction, utcnow
from smbfinance.errors import Conflict, DomainError, Invalid
from smbfinance.integrations import service
from smbfinance.integrations.models import Integration
from smbfinance.integrations.providers.base import Administration
from smbfinance.integrations.providers.errors import (
    AuthorizationFailed,
    MalformedResponse,
    ProviderError,
    ProviderFault,
    ProviderTimeout,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
    RedirectRefused,
)
from smbfinance.integrations.providers.http import HttpClient
from smbfinance.integrations.providers.yuki import YukiClient, YukiSettings
from smbfinance.integrations.secrets import SecretBox

Enqueue = Callable[..., None]
MAX_KEY = 200


class ProviderUnreachable(DomainError):
    """The provider could not be asked (down, too slow, quota spent) or answered nonsense:
    nothing was stored. `status` is the HTTP status a door should answer with (503 for
    "try again later", 502 for "the provider answered wrongly")."""

    code = "provider_unreachable"
    title = "Provider unreachable"

    def __init__(self, detail: str, *, status: int) -> None:
        super().__init__(detail)
        self.status = status


def _not_configured(settings: YukiSettings | None) -> YukiSettings:
    if settings is None or not settings.service_url:
        raise Conflict("Yuki is not configured on this server (YUKI_SERVICE_URL)")
    return settings


def _clean_key(access_key: str) -> str:
    key = (access_key or "").strip()
    if not key:
        raise Invalid.field("access_key", "the web-service access key from Yuki is required")
    if len(key) > MAX_KEY or any(ch.isspace() or not ch.isprintable() for ch in key):
        raise Invalid.field("access_key", "does not look like a Yuki access key "
                                          "(copy it from Yuki: Settings → Web service access)")
    return key


def _administrations(settings: YukiSettings, access_key: str, http: HttpClient | None,
                     clock: Callable[[], datetime]) -> list[Administration]:
    client = YukiClient(replace(settings, access_key=access_key), clock=clock, http=http)
    try:
        return client.administrations()
    except AuthorizationFailed:
        raise Invalid.field("access_key", "Yuki refused this access key",
                            code="invalid_access_key") from None
    except QuotaExhausted:
        raise ProviderUnreachable("Yuki's daily web-service quota for this domain is spent; "
                                  "try again tomorrow", status=503) from None
    except (ProviderUnavailable, ProviderTimeout, RateLimited) as error:
        raise ProviderUnreachable(f"Yuki could not be reached ({type(error).__name__}); "
                                  "nothing was stored, try again later", status=503) from None
    except (MalformedResponse, RedirectRefused, ProviderFault, ProviderError) as error:
        raise ProviderUnreachable(f"Yuki answered in a way we could not use "
                                  f"({type(error).__name__}); nothing was stored",
                                  status=502) from None


def _choose(administrations: list[Administration], administration_id: str | None,
            administration_name: str | None) -> Administration:
    if not administrations:
        raise Invalid.field("access_key", "this access key opens no administration in Yuki",
                            code="no_administration")
    if administration_id:
        found = [a for a in administrations if a.provider_id.lower() == administration_id.lower()]
        if not found:
            raise Invalid.field("administration_id", "not an administration this access key "
                                "opens: " + _names(administrations), code="unknown_administration")
        return found[0]
    if administration_name:
        wanted = administration_name.strip().casefold()
        found = [a for a in administrations if a.name.strip().casefold() == wanted]
        if len(found) != 1:
            raise Invalid.field("administration_name", ("no" if not found else "more than one")
                                + " administration has this name: " + _names(administrations),
                                code="unknown_administration")
        return found[0]
    if len(administrations) > 1:
        raise Invalid.field("administration_id", "this access key opens several "
                            "administrations; name one: " + _names(administrations),
                            code="administration_required")
    return administrations[0]


def _names(administrations: list[Administration]) -> str:
    return ", ".join(f"{a.name} ({a.provider_id})" for a in administrations[:20])


def connect_yuki(*, session: Session, actor: Actor, settings: YukiSettings | None,
                 box: SecretBox, access_key: str, enqueue: Enqueue,
                 administration_id: str | None = None, administration_name: str | None = None,
                 http: HttpClient | None = None,
                 clock: Callable[[], datetime] | None = None) -> Integration:
    """Check the key at Yuki, then store it sealed: a new integration for the chosen
    administration, or the existing one reconnected (new key, failures forgotten)."""
    require(actor, Permission.INTEGRATION_SECRETS)
    settings = _not_configured(settings)
    key = _clean_key(access_key)
    chosen = _choose(_administrations(settings, key, http, clock or (lambda: datetime.now(UTC))),
                     administration_id, administration_name)
    credentials = {"access_key": key}
    with transaction(session):
        # FOR UPDATE locks nothing while no row exists: without this lock a double click
        # lets both requests find none and insert, and the second fails on the unique index.
        # Read Committed: the select after it sees what the request we waited for committed.
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                        {"key": f"{actor.tenant_id}:yuki:{chosen.provider_id}"})
        integration = session.execute(select(Integration).where(
            Integration.provider == "yuki", Integration.external_id == chosen.provider_id,
        ).order_by(Integration.id.desc()).limit(1).with_for_update()).scalar_one_or_none()
        if integration is None:
            integration = service.create_integration(
                session=session, actor=actor, box=box, provider="yuki",
                credentials=credentials, display_name=chosen.name[:200],
                external_id=chosen.provider_id[:100])
            before = None
        else:  # connected again (a new key, or after a disconnect): keep its history
            before = service.audit_view(integration)
            service.replace_credentials(session=session, integration=integration, box=box,
                                        credentials=credentials)
            integration.status, integration.health = "connected", "ok"
            integration.display_name = chosen.name[:200]
            integration.consecutive_failures = 0
            integration.last_error_code = integration.last_error = None
            integration.backoff_until = integration.disconnected_at = None
            integration.next_sync_at = utcnow()
        session.flush()
        audit.record(session, actor=actor, action="integration.connected",
                     entity_type="integration", entity_id=integration.id, before=before,
                     after=service.audit_view(integration))
        tenant_id, integration_id = actor.tenant_id, integration.id
        on_commit(session, lambda: enqueue(tenant_id, integration_id, trigger="connect"))
    return integration
