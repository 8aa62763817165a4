"""Sending Celery tasks after commit, without Flask: the services' side effects.

Configuration (`EVENTS_DISPATCH`, false in tests) can switch this off; the
scheduler's tick finds unpublished events and due deliveries in the database anyway, so a
lost message only delays work, it never loses it."""

from __future__ import annotations

import logging
import uuid
from typing import Any

log = logging.getLogger(__name__)

RELAY_TASK = "smbfinance.events.relay"
DELIVER_TASK = "smbfinance.webhooks.deliver"


def enabled() -> bool:
    from smbfinance.extensions import celery

    return bool(celery.conf.get("smbfinance_dispatch", True))


def send(task: str, *, countdown: float | None = None, **kwargs: Any) -> None:
    if not enabled():
        return
    from smbfinance.extensions import celery

    try:
        celery.send_task(task, kwargs=kwargs, countdown=countdown)
    except Exception:  # a side effect must not fail the work that caused it
        log.warning("could not enqueue a task; the scheduler tick will catch up",
                    extra={"task": task}, exc_info=True)


def deliver_later(tenant_id: uuid.UUID, delivery_id: uuid.UUID,
                  countdown: float | None = None) -> None:
    send(DELIVER_TASK, countdown=countdown, tenant_id=str(tenant_id),
         delivery_id=str(delivery_id))


def relay_later(tenant_id: uuid.UUID) -> None:
    send(RELAY_TASK, tenant_id=str(tenant_id))
