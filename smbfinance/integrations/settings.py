"""What the REST and GraphQL doors hand the integration services, read from the running
app: the key ring, the providers' settings, Redis and the sync queue. Both doors call
these, so a route and its resolver can never be wired differently; the services
themselves stay free of flask (the walls test)."""

from __future__ import annotations

from typing import Any

from flask import current_app

from smbfinance.integrations import connectors
from smbfinance.integrations.providers.ponto import PontoSettings
from smbfinance.integrations.providers.yuki import YukiSettings
from smbfinance.integrations.secrets import SecretBox
from smbfinance.platform import redis_client


def box() -> SecretBox:
    return SecretBox.from_config(current_app.config["INTEGRATION_ENCRYPTION_KEYS"])


def ponto_settings() -> PontoSettings | None:
    return connectors.ponto_settings(current_app.config)


def yuki_settings() -> YukiSettings | None:
    return connectors.yuki_settings(current_app.config)


def redis() -> Any:
    return redis_client(current_app)


def enqueue_sync(*args: Any, **kwargs: Any) -> None:
    # SYNC_DISPATCH off (tests, the tick's dry runs): nothing is sent to the queue.
    if current_app.config.get("SYNC_DISPATCH", True):
        from smbfinance.integrations.tasks import enqueue_sync as send

        send(*args, **kwargs)
