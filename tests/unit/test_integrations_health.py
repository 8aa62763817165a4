"""An integration's health: stored after each sync, adjusted at read time for consent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from smbfinance.integrations.health import effective_health, health_after

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@dataclass
class Row:
    status: str = "connected"
    health: str = "ok"
    consent_expires_at: datetime | None = None


@pytest.mark.parametrize(("failures", "code", "expected"), [
    (0, None, "ok"),
    (1, "ProviderUnavailable", "degraded"),
    (2, "RateLimited", "degraded"),
    (3, "ProviderUnavailable", "failing"),
    (1, "TokenRevoked", "failing"),
    (1, "ConsentExpired", "failing"),
    (1, "AuthorizationFailed", "failing"),
])
def test_health_after_a_sync(failures, code, expected):
    assert health_after(failures=failures, error_code=code) == expected


@pytest.mark.parametrize(("row", "expected"), [
    (Row(), "ok"),
    (Row(consent_expires_at=NOW + timedelta(days=30)), "ok"),
    (Row(consent_expires_at=NOW + timedelta(days=14)), "consent_expiring"),
    (Row(consent_expires_at=NOW - timedelta(days=1)), "failing"),
    (Row(consent_expires_at=NOW), "failing"),
    (Row(health="degraded", consent_expires_at=NOW + timedelta(days=1)), "degraded"),
    (Row(status="disconnected", health="failing"), "disconnected"),
])
def test_effective_health(row, expected):
    assert effective_health(row, now=NOW) == expected
