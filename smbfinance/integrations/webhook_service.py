"""Ponto webhooks in: a delivery is verified (signed JWT, keys from the JWKS URL, audience,
issuer, time, body digest, replay) before anything else; a refused one is counted (the
verifier's counter and Redis, per reason) and answered as unauthenticated. An accepted one
names an organization: its integration is marked as having a webhook pending and made due
now, through the narrow cross-tenant definer function, so the next tick reads what Ponto
holds (a read, not a rationed bank synchronization)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from smbfinance.db import utcnow
from smbfinance.errors import Unauthenticated
from smbfinance.integrations.providers.ponto_webhooks import (
    PontoWebhookVerifier,
    WebhookRejected,
)
from smbfinance.tenancy import dangerously_unscoped

REFUSED_KEY = "smbfinance:integrations:ponto_webhooks_refused:{reason}"
_MARK = text("SELECT tenant_id, integration_id FROM "
             "cross_tenant_ponto_webhook_integrations(:organization, :now)")
# Events that revoke access say nothing new to read.
IGNORED = {"pontoConnect.integration.revoked", "pontoConnect.organization.blocked"}


@dataclass(frozen=True)
class WebhookReceipt:
    event_id: str
    event_type: str
    scheduled: list[tuple[uuid.UUID, uuid.UUID]]


def receive_ponto_webhook(*, session: Session, verifier: PontoWebhookVerifier,
                          body: bytes, signature: str | None, redis: Any = None,
                          now: datetime | None = None) -> WebhookReceipt:
    try:
        event = verifier.verify(body, signature)
    except WebhookRejected as rejected:
        if redis is not None:
            redis.incr(REFUSED_KEY.format(reason=rejected.reason))
        raise Unauthenticated(f"webhook refused: {rejected.reason}",
                              extra={"reason": rejected.reason}) from None
    scheduled: list[tuple[uuid.UUID, uuid.UUID]] = []
    if event.organization_id and event.type not in IGNORED:
        with dangerously_unscoped(session, reason="a signed Ponto webhook names an "
                                                  "organization, not a tenant"):
            try:
                scheduled = [(r.tenant_id, r.integration_id) for r in session.execute(
                    _MARK, {"organization": event.organization_id,
                            "now": now or utcnow()}).all()]
                session.commit()
            except BaseException:
                session.rollback()
                raise
    return WebhookReceipt(event.id, event.type, scheduled)
