"""`invoice.overdue`: emitted once when an open or partially paid invoice passes its due
date (in the tenant's time zone). Overdue is not stored (DOMAIN.md), so a scan finds the
invoices that became overdue recently and emits for those without an `invoice.overdue`
event for their current due date; moving the due date and passing it again emits again.

Only invoices due within the last `WINDOW` days are looked at: the outbox keeps events at
least 30 days, so the marker that prevents a second event is always still there. Reads go
through the invoices service, as another domain should.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from smbfinance.auth.permissions import system_actor
from smbfinance.db import transaction
from smbfinance.events import objects
from smbfinance.events.models import OutboxEvent
from smbfinance.events.outbox import emit
from smbfinance.invoices import queries
from smbfinance.invoices import service as invoices

WINDOW = timedelta(days=30)
EVENT = "invoice.overdue"


def emit_newly_overdue(*, session: Session, tenant_id: uuid.UUID,
                       now: datetime | None = None) -> int:
    """Emit `invoice.overdue` for each invoice overdue now that has none yet for its due
    date; one transaction; returns how many were emitted."""
    actor = system_actor(tenant_id)
    emitted = 0
    with transaction(session):
        today = invoices.tenant_context(session, tenant_id, now).today
        filters = queries.InvoiceFilters(status="overdue", due_after=today - WINDOW)
        after: uuid.UUID | None = None
        while True:
            page = invoices.list_invoices(session=session, actor=actor, filters=filters,
                                          limit=200, starting_after=after)
            for row in page.items:
                if _already(session, row["id"], row["due_date"].isoformat()):
                    continue
                view = invoices.get_invoice(session=session, actor=actor, invoice_id=row["id"])
                emit(session=session, type=EVENT, object_id=row["id"],
                     obj=objects.invoice(view))
                emitted += 1
            if not page.has_more:
                break
            after = page.items[-1]["id"]
    return emitted


def _already(session: Session, invoice_id: uuid.UUID, due_date: str) -> bool:
    return session.execute(select(OutboxEvent.id).where(
        OutboxEvent.type == EVENT, OutboxEvent.object_id == invoice_id,
        OutboxEvent.data["due_date"].astext == due_date).limit(1)).first() is not None
