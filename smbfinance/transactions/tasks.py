"""Background work for statement imports: a large upload is imported by a worker.

The task is tenant-scoped (its session sees only the tenant's rows) and takes ids only.
It is idempotent: a redelivered task finds its batch done and leaves it (see
import_service.run_queued_import)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from sqlalchemy.orm import Session

from smbfinance.auth.permissions import Actor, Role
from smbfinance.extensions import celery, db
from smbfinance.tenancy import tenant_scope
from smbfinance.transactions import import_service, uploads

PROGRESS_SECONDS = 0.5  # at most two progress writes a second


class SideProgress:
    """Writes a running import's progress in its own short transaction (own connection),
    so readers see it while the import's transaction is still open."""

    def __init__(self, tenant_id: uuid.UUID, batch_id: uuid.UUID, *,
                 interval: float = PROGRESS_SECONDS) -> None:
        self.tenant_id, self.batch_id, self.interval = tenant_id, batch_id, interval
        self.last = float("-inf")

    def __call__(self, progress: dict[str, int]) -> None:
        now = time.monotonic()
        if now - self.last < self.interval:
            return
        self.last = now
        with Session(bind=db.engine) as side, tenant_scope(side, self.tenant_id):
            uploads.write_progress(side, self.batch_id, progress)
            side.commit()


@celery.task(name="smbfinance.transactions.run_import", tenant_scoped=True)
def run_import(*, batch_id: str, tenant_id: uuid.UUID, user_id: str | None = None) -> str | None:
    """Import a queued upload; returns the batch's final status (None: unknown batch)."""
    # The uploader had finance:write when queuing; the worker acts for them as the system.
    actor = Actor(user_id=uuid.UUID(user_id) if user_id else None, tenant_id=tenant_id,
                  role=Role.ADMIN, kind="system")
    batch_uuid = uuid.UUID(batch_id)
    batch = import_service.run_queued_import(session=db.session, actor=actor,
                                             batch_id=batch_uuid,
                                             progress=SideProgress(tenant_id, batch_uuid))
    return None if batch is None else batch.status


def enqueue_for(actor: Actor) -> Callable[[uuid.UUID], None]:
    """What submit_import calls once a queued batch is committed."""
    def enqueue(batch_id: uuid.UUID) -> None:
        run_import.delay(batch_id=str(batch_id), tenant_id=str(actor.tenant_id),
                         user_id=str(actor.user_id) if actor.user_id else None)
    return enqueue
