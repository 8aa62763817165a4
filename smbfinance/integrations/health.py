"""What the user sees as an integration's health. Pure."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

CONSENT_WARNING = timedelta(days=14)


class _HasHealth(Protocol):
    status: str
    health: str
    consent_expires_at: datetime | None


def effective_health(integration: _HasHealth, *, now: datetime) -> str:
    """The stored health, except that a disconnected integration says so and a consent
    that ends within two weeks turns an `ok` integration into `consent_expiring`."""
    if integration.status == "disconnected":
        return "disconnected"
    expires = integration.consent_expires_at
    if integration.health == "ok" and expires and expires - now <= CONSENT_WARNING:
        return "consent_expiring"
    return integration.health
