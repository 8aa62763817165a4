"""Yuki at the database seam: an adapter built from a stored integration's sealed access
key, sharing its Yuki session between workers through Redis (sealed, with a TTL), so every
worker does not spend a call of the daily quota on its own `Authenticate`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from smbfinance.errors import NotFound
from smbfinance.integrations import service
from smbfinance.integrations.models import Integration
from smbfinance.integrations.providers.http import HttpClient
from smbfinance.integrations.providers.yuki import YukiClient, YukiSettings
from smbfinance.integrations.secrets import SecretBox, SecretError


def session_key(tenant_id: uuid.UUID, integration_id: uuid.UUID) -> str:
    """Where an integration's Yuki session is cached (a disconnect drops it)."""
    return f"yuki:session:{tenant_id}:{integration_id}"


class RedisSessionCache:
    """A Yuki session id in Redis, sealed with the integration's context, expiring when
    the session does."""

    def __init__(self, redis: Any, *, integration: Integration, box: SecretBox,
                 clock: Callable[[], datetime]) -> None:
        self._redis = redis
        self._key = session_key(integration.tenant_id, integration.id)
        self._context = f"yuki-session:{integration.tenant_id}:{integration.id}"
        self._box = box
        self._clock = clock

    def get(self) -> tuple[str, datetime] | None:
        raw = self._redis.get(self._key)
        if not raw:
            return None
        try:
            expires, _, sealed = (raw.decode() if isinstance(raw, bytes) else raw).partition("|")
            return (self._box.decrypt(sealed, context=self._context),
                    datetime.fromisoformat(expires))
        except (SecretError, ValueError):
            self.clear()  # unreadable (e.g. sealed with a removed key): authenticate again
            return None

    def set(self, session_id: str, expires_at: datetime) -> None:
        ttl = int((expires_at - self._clock()).total_seconds())
        if ttl <= 0:
            return
        sealed = self._box.encrypt(session_id, context=self._context)
        self._redis.set(self._key, f"{expires_at.astimezone(UTC).isoformat()}|{sealed}",
                        ex=ttl)

    def clear(self) -> None:
        self._redis.delete(self._key)


def yuki_client(*, integration: Integration, box: SecretBox, settings: YukiSettings,
                redis: Any, clock: Callable[[], datetime] | None = None,
                http: HttpClient | None = None) -> YukiClient:
    """`settings` carries the host and limits; the access key comes from the row."""
    if integration.provider != "yuki" or integration.status != "connected":
        raise NotFound(f"no connected Yuki integration {integration.id}")
    access_key = service.read_credentials(integration, box=box)["access_key"]
    now = clock or (lambda: datetime.now(UTC))
    return YukiClient(replace(settings, access_key=access_key), clock=now, http=http,
                      session_cache=RedisSessionCache(redis, integration=integration, box=box,
                                                      clock=now))
