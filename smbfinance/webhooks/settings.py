"""Webhook settings read from the app configuration (tasks and the REST door only)."""

from __future__ import annotations

from flask import current_app

from smbfinance.webhooks.ssrf import Policy


def policy() -> Policy:
    config = current_app.config
    return Policy.from_config(require_https=config.get("WEBHOOK_REQUIRE_HTTPS", True),
                              allowed_networks=config.get("WEBHOOK_ALLOWED_NETWORKS", []))


def timeout() -> float:
    return float(current_app.config.get("WEBHOOK_TIMEOUT_SECONDS", 15.0))
