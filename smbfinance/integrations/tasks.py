"""Background work of integrations: the sync of one integration (tenant-scoped,
acknowledged late so a killed worker's task is redelivered and completes), and the tick's
due check that claims due integrations across tenants and enqueues one task each."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask import current_app

from smbfinance.extensions import celery, db
from smbfinance.integrations import connectors, dispatch, sync
from smbfinance.platform import redis_client
from smbfinance.scheduler.registry import register_due_check

SYNC_TASK = "smbfinance.integrations.sync"


@celery.task(name=SYNC_TASK, tenant_scoped=True, acks_late=True,
             reject_on_worker_lost=True)
def sync_integration(*, tenant_id: uuid.UUID, integration_id: str, trigger: str = "tick",
                     customer_ip: str | None = None) -> dict[str, Any]:
    """Idempotent: a redelivered task runs the sync again, and writing the same provider
    data twice changes nothing; a second copy running at once finds the lock taken."""
    app = current_app
    outcome = sync.sync_integration(
        session=db.session, tenant_id=tenant_id, integration_id=uuid.UUID(integration_id),
        trigger=trigger, customer_ip=customer_ip,
        connectors=connectors.from_config(app.config, redis=redis_client(app)))
    return {"status": outcome.status, "reason": outcome.reason, "counts": outcome.counts}


def enqueue_sync(tenant_id: uuid.UUID, integration_id: uuid.UUID, *, trigger: str,
                 customer_ip: str | None = None, expires: float | None = None) -> None:
    options: dict[str, Any] = {"expires": expires} if expires else {}
    sync_integration.apply_async(kwargs={
        "tenant_id": str(tenant_id), "integration_id": str(integration_id),
        "trigger": trigger, "customer_ip": customer_ip}, **options)


def due_syncs(now: datetime) -> int:
    """The tick's check: claim what is due and send one task per integration."""
    send = enqueue_sync if current_app.config.get("SYNC_DISPATCH", True) else None
    return dispatch.dispatch_due(session=db.session, now=now, send=send)


register_due_check("integrations", due_syncs)
