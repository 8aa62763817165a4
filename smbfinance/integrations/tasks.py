"""Background work of integrations: the sync of one integration (tenant-scoped,
acknowledged late so a killed worker's task is redelivered and completes), and the tick's
due check that claims due integrations across tenants and enqueues one task each."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
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
                 customer_ip: str | None = None, expires: float | None = None,
                 producer: Any = None) -> None:
    options: dict[str, Any] = {"expires": expires} if expires else {}
    if producer is not None:
        options["producer"] = producer
    kwargs = {"tenant_id": str(tenant_id), "integration_id": str(integration_id),
              "trigger": trigger, "customer_ip": customer_ip}
    # Plain strings: repr() is enough, and Celery's own saferepr was a fifth of the tick.
    sync_integration.apply_async(kwargs=kwargs, argsrepr="()", kwargsrepr=repr(kwargs),
                                 **options)


@contextmanager
def batched_syncs() -> Iterator[dispatch.Send]:
    """Sync tasks sent through the yielded function reach the broker together when the
    block ends: on Redis one pipelined round trip per chunk instead of one per task, which
    was nearly all of the tick's time (kombu's `Producer.batch`; a transport without
    batches publishes at once). An error inside discards what was not yet flushed."""
    if celery.conf.task_always_eager:  # nothing goes to a broker
        yield enqueue_sync
        return
    with celery.producer_or_acquire() as producer, producer.batch(max_size=dispatch.CHUNK):
        yield partial(enqueue_sync, producer=producer)


def due_syncs(now: datetime) -> int:
    """The tick's check: claim what is due and send one task per integration."""
    send = enqueue_sync if current_app.config.get("SYNC_DISPATCH", True) else None
    return dispatch.dispatch_due(session=db.session, now=now, send=send,
                                 batch=batched_syncs)


register_due_check("integrations", due_syncs)
