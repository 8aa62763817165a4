"""The tick's dispatch: the one narrow cross-tenant path of the sync engine. Due
integrations are claimed in chunks by `cross_tenant_claim_due_integrations` (indexed
`next_sync_at`, FOR UPDATE SKIP LOCKED, a lease that moves `next_sync_at` ahead so the next
tick does not enqueue them again), and one task per integration is sent with `expires`,
so a task that waited past the next ticks is dropped instead of piling up. A chunk's tasks
go to the broker together (`batch`): one round trip per chunk, not one per task (ADR 0035).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from smbfinance.tenancy import dangerously_unscoped

CHUNK = 500
MAX_PER_TICK = 10_000
# Longer than a sync may take: while it lasts, the row is not claimed again; the task
# sets the real next time when it ends.
LEASE_SECONDS = 600
TASK_EXPIRES_SECONDS = 55  # dropped unless a worker takes it before the next tick

Send = Callable[..., None]
# Opens a batch of sends: what is sent through the Send it yields reaches the broker when
# the batch closes (without error).
Batch = Callable[[], AbstractContextManager[Send]]

_CLAIM = text("SELECT tenant_id, integration_id FROM "
              "cross_tenant_claim_due_integrations(:now, :limit, :lease)")


def claim_due(*, session: Session, now: datetime, limit: int = CHUNK,
              lease_seconds: int = LEASE_SECONDS) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Claim up to `limit` due integrations (committed at once: the lease is the claim)."""
    with dangerously_unscoped(session, reason="claim integrations due for a sync"):
        try:
            rows = session.execute(_CLAIM, {"now": now, "limit": limit,
                                            "lease": lease_seconds}).all()
            session.commit()
        except BaseException:
            session.rollback()
            raise
    return [(row.tenant_id, row.integration_id) for row in rows]


def dispatch_due(*, session: Session, now: datetime, send: Send | None,
                 chunk: int = CHUNK, limit: int = MAX_PER_TICK,
                 batch: Batch | None = None) -> int:
    """Claim and enqueue in chunks until nothing is due (or `limit` per tick); returns
    how many were claimed. `send=None` claims without sending (tests); with `batch`, each
    chunk is sent through the Send it yields instead of `send`."""
    total = 0
    while total < limit:
        claimed = claim_due(session=session, now=now, limit=min(chunk, limit - total))
        if claimed and send is not None:
            # A failure here loses the chunk's unsent tasks, not its claims: those rows
            # are due again when their lease ends.
            with batch() if batch is not None else nullcontext(send) as chunk_send:
                for tenant_id, integration_id in claimed:
                    chunk_send(tenant_id, integration_id, trigger="tick",
                               expires=TASK_EXPIRES_SECONDS)
        total += len(claimed)
        if len(claimed) < chunk:
            break
    return total
