"""Webhook settings read from the app configuration (tasks and the REST door only)."""

from __future__ import annotations

from flask import current_app

from smbfinance.integrations.secrets import SecretBox
from smbfinance.webhooks.ssrf import Policy


def policy() -> Policy:
    config = current_app.config
    return Policy.from_config(require_https=config.get("WEBHOOK_REQUIRE_HTTPS", True),
                              allowed_networks=config.get("WEBHOOK_ALLOWED_NETWORKS", []))


def secret_box() -> SecretBox | None:
    """The integrations' key ring (ADR 0028) seals webhook signing secrets too; None when
    no key is configured (production before INTEGRATION_ENCRYPTION_KEYS is set)."""
    keys = current_app.config.get("INTEGRATION_ENCRYPTION_KEYS")
    return SecretBox.from_config(keys) if keys else None


def timeout() -> float:
    return float(current_app.config.get("WEBHOOK_TIMEOUT_SECONDS", 15.0))
