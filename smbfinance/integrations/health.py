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
    """The stored health, except that a disconnected integration says so, an ended
    consent is `failing` (the bank gives nothing new until the user re-authorizes), and
    one that ends within two weeks turns an `ok` integration into `consent_expiring`."""
    if integration.status == "disconnected":
        return "disconnected"
    expires = integration.consent_expires_at
    if expires and expires <= now:
        return "failing"
    if integration.health == "ok" and expires and expires - now <= CONSENT_WARNING:
        return "consent_expiring"
    return integration.health


# Errors after which retrying does not help until a person acts.
NEEDS_A_PERSON = {"TokenRevoked", "AuthorizationFailed", "ConsentExpired"}
FAILING_AFTER = 3


def health_after(*, failures: int, error_code: str | None) -> str:
    """Stored health after a sync: `ok` on success; `failing` when a person must act
    (reconnect, re-authorize, fix a key) or after three failures in a row; else `degraded`."""
    if error_code is None:
        return "ok"
    if error_code in NEEDS_A_PERSON or failures >= FAILING_AFTER:
        return "failing"
    return "degraded"
