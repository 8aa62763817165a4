"""The purge: every row of a closed company whose legal retention has ended, in every
table, including its audit log and outbox (ADR 0038).

The work is one database function, `cross_tenant_purge_tenant(tenant)` (migration 0013):
it runs as the owner, re-checks that the company is closed and that its retention has
ended by the database's own clock, and is the only path past the audit log's append-only
guard. `now` here only chooses which companies are due; it cannot make one due early.
Each company is purged in its own transaction: one that fails stays for the next run.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from smbfinance.db import transaction, utcnow
from smbfinance.errors import Conflict
from smbfinance.tenancy import dangerously_unscoped

log = logging.getLogger(__name__)

_DUE = text("SELECT tenant_id, purge_after FROM cross_tenant_purge_due_tenants(:now)")
_PURGE = text("SELECT cross_tenant_purge_tenant(:tenant_id)")
# object_not_in_prerequisite_state: not closed, or still within its retention.
_NOT_DUE = "55000"


@dataclass(frozen=True)
class Purged:
    tenant_id: uuid.UUID
    counts: dict[str, int]


@dataclass
class PurgeReport:
    purged: list[Purged] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


Progress = Callable[[int, int, uuid.UUID, Purged | None], None]


def due_tenants(*, session: Session, now: datetime | None = None) -> list[uuid.UUID]:
    """Closed companies whose purge date is at or before `now`."""
    with dangerously_unscoped(session, reason="list the companies due for purging"), \
            transaction(session):
        rows = session.execute(_DUE, {"now": now or utcnow()}).all()
    return [row.tenant_id for row in rows]


def purge_tenant(*, session: Session, tenant_id: uuid.UUID) -> Purged:
    """Delete every row of one closed company; Conflict while it may not be purged."""
    try:
        with dangerously_unscoped(session, reason=f"purge the deleted company {tenant_id}"), \
                transaction(session):
            counts = session.execute(_PURGE, {"tenant_id": tenant_id}).scalar_one()
    except DBAPIError as exc:
        code = getattr(exc.orig, "pgcode", None) or getattr(exc.orig, "sqlstate", None)
        if code == _NOT_DUE:
            raise Conflict(str(exc.orig).splitlines()[0]) from None
        raise
    purged = Purged(tenant_id=tenant_id, counts={k: int(v) for k, v in counts.items()})
    log.info("tenant purged", extra={"tenant_id": str(tenant_id), "counts": purged.counts})
    return purged


def purge_due(*, session: Session, now: datetime | None = None,
              progress: Progress | None = None) -> PurgeReport:
    """Purge every due company, one transaction each; failures are reported and kept."""
    report = PurgeReport()
    due = due_tenants(session=session, now=now)
    for index, tenant_id in enumerate(due, start=1):
        try:
            purged = purge_tenant(session=session, tenant_id=tenant_id)
        except Exception as exc:  # one company's failure must not stop the rest
            log.exception("tenant purge failed", extra={"tenant_id": str(tenant_id)})
            report.failed[str(tenant_id)] = str(exc).splitlines()[0] if str(exc) else repr(exc)
            purged = None
        else:
            report.purged.append(purged)
        if progress is not None:
            progress(index, len(due), tenant_id, purged)
    return report
