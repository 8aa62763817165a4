"""The sync engine's connectors built from the app's configuration: the real hosts in
production, the simulators' URLs in development (docs/integrations.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from smbfinance.errors import NotFound
from smbfinance.integrations.providers.http import HttpClient
from smbfinance.integrations.providers.ponto import PontoSettings
from smbfinance.integrations.providers.ponto_webhooks import (
    JwksCache,
    PontoWebhookVerifier,
    RedisReplayGuard,
)
from smbfinance.integrations.providers.yuki import YukiSettings
from smbfinance.integrations.secrets import SecretBox
from smbfinance.integrations.sync import Connectors
from smbfinance.platform import redis_client


def ponto_settings(config: Any) -> PontoSettings | None:
    if not config.get("PONTO_CLIENT_ID") or not config.get("PONTO_CLIENT_SECRET"):
        return None
    cert, key = config.get("PONTO_CLIENT_CERT"), config.get("PONTO_CLIENT_KEY")
    return PontoSettings(client_id=config["PONTO_CLIENT_ID"],
                         client_secret=config["PONTO_CLIENT_SECRET"],
                         redirect_uri=config.get("PONTO_REDIRECT_URI") or "",
                         api_url=config["PONTO_API_URL"],
                         authorization_url=config["PONTO_AUTHORIZATION_URL"],
                         client_cert=(cert, key) if cert and key else None)


def yuki_settings(config: Any) -> YukiSettings | None:
    url = config.get("YUKI_SERVICE_URL")
    return YukiSettings(access_key="", service_url=url) if url else None


def from_config(config: Any, *, redis: Any) -> Connectors:
    return Connectors(box=SecretBox.from_config(config["INTEGRATION_ENCRYPTION_KEYS"]),
                      ponto=ponto_settings(config), yuki=yuki_settings(config), redis=redis)


VERIFIER = "smbfinance.ponto_webhook_verifier"


def ponto_webhook_verifier(app: Any) -> PontoWebhookVerifier:
    """One verifier per app (its JWKS cache and refusal counts live as long as the app);
    tests may put their own in `app.extensions`."""
    verifier = app.extensions.get(VERIFIER)
    if verifier is None:
        settings = ponto_settings(app.config)
        if settings is None:
            raise NotFound("Ponto webhooks are not configured on this server")
        http = HttpClient(provider="ponto", base_url=settings.api_url,
                          policy=settings.policy, cert=settings.client_cert)
        verifier = PontoWebhookVerifier(
            keys=JwksCache(http, clock=lambda: datetime.now(UTC)),
            audience=settings.client_id, issuer=app.config["PONTO_WEBHOOK_ISSUER"],
            clock=lambda: datetime.now(UTC), replay=RedisReplayGuard(redis_client(app)))
        app.extensions[VERIFIER] = verifier
    return verifier

