"""Celery tasks: one task per delivery attempt."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from functools import partial

from smbfinance.db import utcnow
from smbfinance.extensions import celery, db
from smbfinance.integrations.secrets import SecretBox
from smbfinance.webhooks import client, delivery, dispatch, settings

# Retries sooner than this are sent with a countdown; later ones wait for the tick, which
# reads next_attempt_at from the database (Redis does not keep long countdowns reliably).
COUNTDOWN_HORIZON = timedelta(minutes=2)


def _box() -> SecretBox:
    box = settings.secret_box()
    if box is None:
        raise RuntimeError("INTEGRATION_ENCRYPTION_KEYS is not set: webhook secrets cannot "
                           "be opened")
    return box


@celery.task(name=dispatch.DELIVER_TASK, tenant_scoped=True)
def deliver(*, tenant_id: uuid.UUID, delivery_id: str, now_iso: str | None = None) -> str:
    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    outcome = delivery.attempt(
        session=db.session, delivery_id=uuid.UUID(delivery_id), now=now,
        policy=settings.policy(), box=_box(),
        sender=partial(client.post, timeout=settings.timeout()),
        clock=None if now_iso else utcnow)
    if outcome.status == "pending" and outcome.next_attempt_at is not None:
        wait = outcome.next_attempt_at - utcnow()
        if wait <= COUNTDOWN_HORIZON:
            dispatch.deliver_later(tenant_id, uuid.UUID(delivery_id),
                                   countdown=max(wait.total_seconds(), 0))
    if outcome.unblocked is not None:
        dispatch.deliver_later(tenant_id, outcome.unblocked)
    return outcome.status
