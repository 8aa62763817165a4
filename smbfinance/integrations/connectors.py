"""The sync engine's connectors built from the app's configuration: the real hosts in
production, the simulators' URLs in development (docs/integrations.md)."""

from __future__ import annotations

from typing import Any

from smbfinance.integrations.providers.ponto import PontoSettings
from smbfinance.integrations.providers.yuki import YukiSettings
from smbfinance.integrations.secrets import SecretBox
from smbfinance.integrations.sync import Connectors


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
