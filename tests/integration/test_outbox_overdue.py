"""invoice.overdue: emitted once per due date when an unsettled invoice passes it, found by
an hourly scan; paid, draft and long-overdue invoices are left alone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from smbfinance.auth.permissions import Actor
from smbfinance.contacts import service as contacts
from smbfinance.db import transaction
from smbfinance.events.models import OutboxEvent
from smbfinance.events.overdue import emit_newly_overdue
from smbfinance.events.tasks import OVERDUE_MINUTE, overdue_scan
from smbfinance.invoices import service as invoices
from smbfinance.tenancy import tenant_scope
from tests.invoicing import today


def invoice_due(session: Session, actor: Actor, contact_id: uuid.UUID, days_ago: int,
                *, open_: bool = True) -> uuid.UUID:
    due = today() - timedelta(days=days_ago)
    return invoices.create_invoice(session=session, actor=actor, data={
        "direction": "receivable", "contact_id": contact_id,
        "issue_date": due - timedelta(days=30), "due_date": due, "open": open_,
        "lines": [{"description": "Consulting", "quantity": "1", "unit_price": "100.00",
                   "vat_rate": "21"}]}).invoice.id


def overdue_events(session: Session) -> list[OutboxEvent]:
    with transaction(session):
        return list(session.execute(select(OutboxEvent).where(
            OutboxEvent.type == "invoice.overdue")).scalars())


def test_an_invoice_past_its_due_date_is_announced_once(session, actor, tenant_a) -> None:
    # given open invoices due yesterday and 40 days ago, a draft and a paid one due before
    contact = contacts.create_contact(session=session, actor=actor, data={"name": "Late NV"})
    late = invoice_due(session, actor, contact.id, 1)
    invoice_due(session, actor, contact.id, 40)
    invoice_due(session, actor, contact.id, 2, open_=False)
    paid = invoice_due(session, actor, contact.id, 3)
    invoices.record_payment(session=session, actor=actor, invoice_id=paid, amount="121.00",
                            paid_on=today())
    # when the scan runs twice
    first = emit_newly_overdue(session=session, tenant_id=tenant_a.tenant_id)
    second = emit_newly_overdue(session=session, tenant_id=tenant_a.tenant_id)
    # then only the recently overdue open invoice got one event, once
    assert (first, second) == (1, 0)
    [event] = overdue_events(session)
    assert event.object_id == late
    assert event.data["overdue"] is True and event.data["status"] == "open"


def test_a_new_due_date_passed_again_is_announced_again(session, actor, tenant_a) -> None:
    contact = contacts.create_contact(session=session, actor=actor, data={"name": "Late NV"})
    late = invoice_due(session, actor, contact.id, 5)
    emit_newly_overdue(session=session, tenant_id=tenant_a.tenant_id)
    # when the due date of the open invoice moves (still in the past)
    invoices.update_invoice(session=session, actor=actor, invoice_id=late,
                            changes={"due_date": today() - timedelta(days=1)})
    # then the next scan announces it for that date
    assert emit_newly_overdue(session=session, tenant_id=tenant_a.tenant_id) == 1
    assert [e.data["due_date"] for e in overdue_events(session)] == [
        (today() - timedelta(days=5)).isoformat(), (today() - timedelta(days=1)).isoformat()]


def test_the_hourly_check_finds_the_tenant_and_only_acts_once_an_hour(session, actor,
                                                                       tenant_a) -> None:
    contact = contacts.create_contact(session=session, actor=actor, data={"name": "Late NV"})
    invoice_due(session, actor, contact.id, 1)
    session.rollback()
    at = datetime.now(UTC).replace(minute=OVERDUE_MINUTE)
    assert overdue_scan(at) >= 1
    assert overdue_scan(at.replace(minute=OVERDUE_MINUTE + 1)) == 0


def test_another_tenant_s_scan_sees_nothing(db_session, session, actor, tenant_b) -> None:
    contact = contacts.create_contact(session=session, actor=actor, data={"name": "Late NV"})
    invoice_due(session, actor, contact.id, 1)
    session.rollback()
    with tenant_scope(db_session, tenant_b.tenant_id) as other:
        assert emit_newly_overdue(session=other, tenant_id=tenant_b.tenant_id) == 0
