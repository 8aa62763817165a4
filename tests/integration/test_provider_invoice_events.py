"""Invoices written by the accounting package's sync (invoices/provider_service.py): each
creation or change is announced once in the sync's transaction, a repeat announces nothing,
and what our reconciliation settled survives Yuki's still-open view (ADR 0037)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from smbfinance.auth.permissions import Actor
from smbfinance.db import transaction, utcnow
from smbfinance.events.models import OutboxEvent
from smbfinance.invoices import provider_service
from smbfinance.invoices.models import Invoice
from smbfinance.reconciliation import service as reconciliation
from smbfinance.tenancy import tenant_scope
from smbfinance.transactions import accounts_service as accounts
from tests.conftest import TenantFixture

ADMIN = "adm-1"


def item(key: str, gross: str = "121.00", open_: str | None = None) -> dict[str, Any]:
    gross_d = Decimal(gross)
    open_d = gross_d if open_ is None else Decimal(open_)
    return {"direction": "receivable", "kind": "invoice", "number": f"Y-{key}",
            "issue_date": date(2026, 10, 1), "due_date": date(2026, 10, 31),
            "currency": "EUR", "gross_total": gross_d, "amount_paid": gross_d - open_d,
            "outstanding": open_d, "source": "yuki", "contact_key": "c-1",
            "external_ids": {"yuki": key, "administration": ADMIN,
                             "synchronized_at": utcnow().isoformat()}}


CONTACTS = {"c-1": {"name": "Yuki Client NV", "vat_number": None}}


def sync(session: Session, tenant: TenantFixture, items: list[dict[str, Any]],
         now: datetime | None = None) -> provider_service.ProviderInvoiceResult:
    return provider_service.upsert_open_items(
        session=session, tenant_id=tenant.tenant_id, provider="yuki",
        administration_id=ADMIN, items=items, contacts=CONTACTS, now=now or utcnow())


def invoice_events(session: Session) -> list[tuple[str, str]]:
    with transaction(session):
        return [(e.type, e.data["status"]) for e in session.execute(
            select(OutboxEvent).where(OutboxEvent.object_type == "invoice")
            .order_by(OutboxEvent.created_at, OutboxEvent.id)).scalars()]


def the_invoice(session: Session, key: str) -> Invoice:
    with transaction(session):
        return session.execute(select(Invoice).where(
            Invoice.external_ids["yuki"].astext == key)
            .execution_options(populate_existing=True)).scalar_one()


def test_created_changed_and_settled_items_are_announced_once(session, tenant_a) -> None:
    # given an empty company; when Yuki lists two open items
    first = sync(session, tenant_a, [item("1"), item("2")])
    # then two invoice.created events, in the sync's transaction
    assert first.created == 2
    assert invoice_events(session) == [("invoice.created", "open")] * 2
    # when the same items are read again; then nothing is written or announced
    again = sync(session, tenant_a, [item("1"), item("2")])
    assert (again.created, again.updated, again.settled) == (0, 0, 0)
    assert len(invoice_events(session)) == 2
    # when item 1 is partly paid in Yuki and item 2 leaves the open list
    later = sync(session, tenant_a, [item("1", open_="21.00")])
    # then one invoice.updated (partially paid) and one invoice.paid
    assert (later.updated, later.settled) == (1, 1)
    assert invoice_events(session)[2:] == [("invoice.updated", "partially_paid"),
                                           ("invoice.paid", "paid")]
    # when Yuki says the rest of item 1 is paid too (still listed with nothing open)
    sync(session, tenant_a, [item("1", open_="0.00")])
    assert invoice_events(session)[4:] == [("invoice.paid", "paid")]
    assert sync(session, tenant_a, [item("1", open_="0.00")]).updated == 0
    assert len(invoice_events(session)) == 5


def test_a_failed_sync_transaction_announces_nothing(session, tenant_a) -> None:
    # given a sync whose transaction fails after the invoices were written
    with pytest.raises(RuntimeError), transaction(session):
        sync(session, tenant_a, [item("1")])
        raise RuntimeError("the provider write failed later in the run")
    # then neither the invoice nor its event exists
    assert invoice_events(session) == []


def test_another_company_sees_none_of_the_events(session, tenant_a, tenant_b,
                                                 db_session) -> None:
    sync(session, tenant_a, [item("1")])
    with tenant_scope(db_session, tenant_b.tenant_id) as other:
        assert invoice_events(other) == []


def reconcile_by_hand(session: Session, actor: Actor, invoice: Invoice,
                      amount: str = "121.00") -> uuid.UUID:
    account = accounts.create_account(session=session, actor=actor, data={
        "iban": "BE68539007547034", "currency": "EUR", "name": "Current"})
    bank = accounts.create_manual_transaction(session=session, actor=actor, data={
        "bank_account_id": account.id, "amount": amount,
        "booking_date": date(2026, 11, 2), "counterparty_name": "Yuki Client NV"})
    match = reconciliation.create_match(session=session, actor=actor, transaction_id=bank.id,
                                        allocations=[{"invoice_id": str(invoice.id),
                                                      "amount": amount}])
    return match.id


def test_a_reconciled_yuki_invoice_stays_paid(session, tenant_a, actor) -> None:
    # given a Yuki invoice that our reconciliation settled from a bank payment
    sync(session, tenant_a, [item("1")])
    match_id = reconcile_by_hand(session, actor, the_invoice(session, "1"))
    paid = the_invoice(session, "1")
    assert (paid.status, paid.outstanding) == ("paid", Decimal("0.00"))
    announced = invoice_events(session)
    assert announced[-1] == ("invoice.paid", "paid")
    # when Yuki, which has not booked the payment yet, still lists it open
    still_open = sync(session, tenant_a, [item("1")])
    # then it stays paid, unchanged, and nothing is announced
    after = the_invoice(session, "1")
    assert (after.status, after.amount_paid, after.outstanding, after.version) == (
        "paid", Decimal("121.00"), Decimal("0.00"), paid.version)
    assert (still_open.updated, still_open.settled) == (0, 0)
    assert invoice_events(session) == announced
    # when Yuki books it and drops the item from its open list; then still paid, silent
    dropped = sync(session, tenant_a, [], now=utcnow() + timedelta(days=1))
    assert dropped.settled == 0
    assert the_invoice(session, "1").version == paid.version
    assert invoice_events(session) == announced
    # and the match still holds its money on a paid invoice
    assert reconciliation.get_match(session=session, actor=actor,
                                    match_id=match_id).status == "active"


def test_an_undone_match_gives_yuki_its_view_back(session, tenant_a, actor) -> None:
    # given a reconciled Yuki invoice still open in Yuki
    sync(session, tenant_a, [item("1")])
    match_id = reconcile_by_hand(session, actor, the_invoice(session, "1"))
    sync(session, tenant_a, [item("1")])
    # when the match is undone; then the invoice is open again (invoice.updated)
    reconciliation.undo_match(session=session, actor=actor, match_id=match_id)
    assert the_invoice(session, "1").status == "open"
    count = len(invoice_events(session))
    # and a sync with Yuki's open view changes nothing more
    assert sync(session, tenant_a, [item("1")]).updated == 0
    assert len(invoice_events(session)) == count


def test_a_partial_match_counts_when_yuki_has_less(session, tenant_a, actor) -> None:
    # given a 121.00 Yuki invoice of which our match settled 100.00
    sync(session, tenant_a, [item("1")])
    reconcile_by_hand(session, actor, the_invoice(session, "1"), amount="100.00")
    # when Yuki says 21.00 was paid (another payment); then ours counts: 100 paid
    sync(session, tenant_a, [item("1", open_="100.00")])
    found = the_invoice(session, "1")
    assert (found.status, found.amount_paid) == ("partially_paid", Decimal("100.00"))
    # when Yuki later has 121.00 paid; then it is paid, announced once
    sync(session, tenant_a, [item("1", open_="0.00")])
    assert the_invoice(session, "1").status == "paid"
    assert invoice_events(session)[-1] == ("invoice.paid", "paid")


def test_a_number_taken_meanwhile_by_another_administration_gets_the_item_tag(
        session, tenant_a, monkeypatch) -> None:
    # given invoice Y-7 written by one administration's sync
    sync(session, tenant_a, [item("7")])
    # when another administration's sync, which did not see it yet (both ran at once),
    # writes its own Y-7
    monkeypatch.setattr(provider_service, "_free_number", lambda _s, found, _k: found["number"])
    other = {**item("7"), "external_ids": {"yuki": "9", "administration": "adm-2"}}
    result = provider_service.upsert_open_items(
        session=session, tenant_id=tenant_a.tenant_id, provider="yuki",
        administration_id="adm-2", items=[other], contacts=CONTACTS, now=utcnow())
    # then the sync succeeds and the second invoice carries the tagged number
    assert result.created == 1
    assert the_invoice(session, "9").number == "Y-7 (9)"
    assert the_invoice(session, "7").number == "Y-7"
