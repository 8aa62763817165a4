"""Invoice use cases against real PostgreSQL (RLS on): totals, numbers and structured
communications, payments, cancel and delete, what an open invoice may change, credit
notes, foreign currencies, optimistic concurrency and the audit trail."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from smbfinance.audit.models import AuditEntry
from smbfinance.auth.models import Role
from smbfinance.auth.permissions import Actor
from smbfinance.contacts import service as contacts
from smbfinance.errors import Conflict, Forbidden, Invalid, NotFound, PreconditionFailed
from smbfinance.invoices import ogm, queries
from smbfinance.invoices import service as invoices
from smbfinance.rates import service as rates

D = Decimal

ECB_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
                 xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <gesmes:subject>Reference rates</gesmes:subject>
  <Cube>
    <Cube time="2025-03-07"><Cube currency="USD" rate="1.0807"/></Cube>
    <Cube time="2025-03-06"><Cube currency="USD" rate="1.0785"/></Cube>
  </Cube>
</gesmes:Envelope>
"""


@pytest.fixture()
def customer(session: Session, actor: Actor) -> uuid.UUID:
    return contacts.create_contact(session=session, actor=actor,
                                   data={"name": "Client NV"}).id


def line(unit_price: str, quantity: str = "1", vat_rate: str = "21", **extra: Any) -> dict:
    return {"description": "Consulting", "quantity": quantity, "unit_price": unit_price,
            "vat_rate": vat_rate, **extra}


def new_invoice(session: Session, actor: Actor, contact_id: uuid.UUID, *,
                lines: list[dict] | None = None, **data: Any) -> invoices.InvoiceView:
    body = {"direction": "receivable", "contact_id": contact_id,
            "issue_date": date(2025, 3, 3), "due_date": date(2025, 4, 2),
            "lines": lines or [line("100.00")], **data}
    return invoices.create_invoice(session=session, actor=actor, data=body)


def field_errors(error: pytest.ExceptionInfo) -> dict[str, str]:
    return {e.field: e.code for e in error.value.errors}


# --------------------------------------------------------------------------- create


def test_create_computes_totals_from_the_lines(session, actor, customer) -> None:
    # given lines 3 × 33.335 = 100.005 → 100.01 at 21 % and 20.00 at 6 %
    # when a receivable is created
    view = new_invoice(session, actor, customer,
                       lines=[line("33.335", quantity="3"), line("20.00", vat_rate="6")])
    # then the totals come from the lines, VAT per rate group
    invoice = view.invoice
    assert [item.net_amount for item in invoice.lines] == [D("100.01"), D("20.00")]
    assert (invoice.net_total, invoice.vat_total, invoice.gross_total) == (
        D("120.01"), D("22.20"), D("142.21"))
    assert invoice.outstanding == D("142.21")
    assert invoice.status == "draft" and invoice.version == 1
    # and a euro invoice is its own base-currency value
    assert (invoice.gross_total_base, invoice.exchange_rate) == (D("142.21"), D(1))
    assert view.urgency is None and view.overdue is False


def test_create_open_at_once(session, actor, customer) -> None:
    view = new_invoice(session, actor, customer, open=True)
    assert view.invoice.status == "open" and view.invoice.opened_at is not None


def test_a_viewer_cannot_create(session, tenant_a, customer) -> None:
    viewer = Actor(user_id=tenant_a.user_id, tenant_id=tenant_a.tenant_id, role=Role.VIEWER)
    with pytest.raises(Forbidden):
        new_invoice(session, viewer, customer)


def test_amounts_with_too_many_places_are_refused_naming_the_field(session, actor,
                                                                   customer) -> None:
    # given a yen invoice whose line discount has a fraction, and a euro price as a float
    with pytest.raises(Invalid) as error:
        new_invoice(session, actor, customer, currency="JPY",
                    lines=[line("1000", allowance="1.5"), line(12.5)])
    # then each field at fault is named
    assert set(field_errors(error)) == {"lines.0.allowance", "lines.1.unit_price"}


# --------------------------------------------------------------------------- numbers


def test_receivables_get_sequential_numbers_per_year(session, actor, customer) -> None:
    # given receivables without a number, issued in 2025 and 2026
    first = new_invoice(session, actor, customer).invoice
    second = new_invoice(session, actor, customer).invoice
    next_year = new_invoice(session, actor, customer, issue_date=date(2026, 1, 2),
                            due_date=date(2026, 2, 1)).invoice
    # then they are numbered INV-<year>-<n>, the sequence restarting each year
    assert (first.number, second.number) == ("INV-2025-00001", "INV-2025-00002")
    assert next_year.number == "INV-2026-00001"


def test_the_sequence_continues_after_a_number_given_by_hand(session, actor, customer) -> None:
    new_invoice(session, actor, customer, number="INV-2025-00041")
    assert new_invoice(session, actor, customer).invoice.number == "INV-2025-00042"


def test_receivable_numbers_are_unique_per_tenant(session, actor, customer) -> None:
    # given a receivable numbered 2025/017
    new_invoice(session, actor, customer, number="2025/017")
    # when another receivable (even for another customer) takes the same number
    other = contacts.create_contact(session=session, actor=actor, data={"name": "Other"}).id
    with pytest.raises(Conflict) as error:
        new_invoice(session, actor, other, number="2025/017")
    # then it is refused naming the number
    assert error.value.extra["field"] == "number"


def test_payable_numbers_are_unique_per_supplier(session, actor) -> None:
    # given two suppliers
    supplier_x = contacts.create_contact(session=session, actor=actor, data={"name": "X"}).id
    supplier_y = contacts.create_contact(session=session, actor=actor, data={"name": "Y"}).id
    # when both send an invoice numbered F-100 / then both are fine
    new_invoice(session, actor, supplier_x, direction="payable", number="F-100")
    new_invoice(session, actor, supplier_y, direction="payable", number="F-100")
    # but the same supplier's F-100 twice is refused
    with pytest.raises(Conflict) as error:
        new_invoice(session, actor, supplier_x, direction="payable", number="F-100")
    assert error.value.extra["field"] == "number"


def test_a_payable_needs_the_suppliers_number(session, actor, customer) -> None:
    with pytest.raises(Invalid) as error:
        new_invoice(session, actor, customer, direction="payable")
    assert field_errors(error) == {"number": "required"}


# --------------------------------------------------------------------------- OGM


def test_receivables_get_a_valid_structured_communication(session, actor, customer) -> None:
    # given several receivables without a payment reference
    created = [new_invoice(session, actor, customer).invoice for _ in range(8)]
    references = [invoice.payment_reference for invoice in created]
    # then each has a 12-digit OGM whose check digits are the first 10 mod 97 (0 → 97)
    for invoice, reference in zip(created, references, strict=True):
        assert invoice.payment_reference_structured is True
        assert reference is not None and len(reference) == 12 and reference.isdigit()
        assert int(reference[10:]) == (int(reference[:10]) % 97 or 97)
    # and no two are the same
    assert len(set(references)) == len(references)


def test_payables_and_credit_notes_get_no_generated_reference(session, actor, customer) -> None:
    payable = new_invoice(session, actor, customer, direction="payable", number="P1").invoice
    assert payable.payment_reference is None
    corrected = new_invoice(session, actor, customer, open=True).invoice.id
    credit = new_invoice(session, actor, customer, kind="credit_note",
                         corrects_invoice_id=corrected).invoice
    assert credit.payment_reference is None


def test_a_given_ogm_is_kept_as_its_12_digits(session, actor, customer) -> None:
    invoice = new_invoice(session, actor, customer,
                          payment_reference="+++090/9337/55493+++").invoice
    assert (invoice.payment_reference, invoice.payment_reference_structured) == (
        "090933755493", True)


def test_an_ogm_with_wrong_check_digits_is_invalid(session, actor, customer) -> None:
    for reference in ("+++090/9337/55494+++", "090933755400", "***090/9337/55492***"):
        # given a structured communication whose check digits are wrong
        # when a receivable is created with it / then it is refused naming payment_reference
        with pytest.raises(Invalid) as error:
            new_invoice(session, actor, customer, payment_reference=reference)
        assert field_errors(error) == {"payment_reference": "invalid_ogm"}, reference


def test_a_free_reference_is_kept_as_text(session, actor, customer) -> None:
    invoice = new_invoice(session, actor, customer, payment_reference="Order 4711").invoice
    assert (invoice.payment_reference, invoice.payment_reference_structured) == (
        "Order 4711", False)


def test_two_receivables_cannot_share_an_ogm(session, actor, customer) -> None:
    # given a receivable with a generated OGM
    first = new_invoice(session, actor, customer).invoice
    # when another receivable is given the same one / then it is a conflict
    with pytest.raises(Conflict) as error:
        new_invoice(session, actor, customer,
                    payment_reference=ogm.format_ogm(first.payment_reference or ""))
    assert error.value.extra["field"] == "payment_reference"


# --------------------------------------------------------------------------- payments


def test_payments_move_open_to_partially_paid_to_paid(session, actor, customer) -> None:
    # given an open invoice of 121.00
    invoice_id = new_invoice(session, actor, customer, open=True).invoice.id
    # when 21.00 is received
    view = invoices.record_payment(session=session, actor=actor, invoice_id=invoice_id,
                                   amount="21.00", paid_on=date(2025, 3, 10))
    # then it is partially paid with 100.00 outstanding
    assert view.invoice.status == "partially_paid"
    assert (view.invoice.amount_paid, view.invoice.outstanding) == (D("21.00"), D("100.00"))
    # when the rest arrives / then it is paid, nothing outstanding, no urgency
    view = invoices.record_payment(session=session, actor=actor, invoice_id=invoice_id,
                                   amount="100.00", paid_on=date(2025, 3, 20))
    assert view.invoice.status == "paid" and view.invoice.paid_at is not None
    assert view.invoice.outstanding == D("0.00") and view.urgency is None
    # and a paid invoice takes no more payments
    with pytest.raises(Conflict):
        invoices.record_payment(session=session, actor=actor, invoice_id=invoice_id,
                                amount="1.00", paid_on=date(2025, 3, 21))


def test_a_draft_takes_no_payment(session, actor, customer) -> None:
    invoice_id = new_invoice(session, actor, customer).invoice.id
    with pytest.raises(Conflict):
        invoices.record_payment(session=session, actor=actor, invoice_id=invoice_id,
                                amount="1.00", paid_on=date(2025, 3, 10))


def test_overpayment_is_refused_and_changes_nothing(session, actor, customer) -> None:
    # given an open invoice of 121.00 with 100.00 already paid
    invoice_id = new_invoice(session, actor, customer, open=True).invoice.id
    invoices.record_payment(session=session, actor=actor, invoice_id=invoice_id,
                            amount="100.00", paid_on=date(2025, 3, 10))
    # when 21.01 is recorded / then it is refused naming the amount
    with pytest.raises(Invalid) as error:
        invoices.record_payment(session=session, actor=actor, invoice_id=invoice_id,
                                amount="21.01", paid_on=date(2025, 3, 11))
    assert field_errors(error) == {"amount": "overpayment"}
    # and the invoice is as it was
    invoice = invoices.get_invoice(session=session, actor=actor, invoice_id=invoice_id).invoice
    assert (invoice.status, invoice.outstanding) == ("partially_paid", D("21.00"))


def test_payment_amounts_must_be_positive_exact_cents(session, actor, customer) -> None:
    invoice_id = new_invoice(session, actor, customer, open=True).invoice.id
    for amount in ("0", "-5.00", "10.001", 10.0):
        with pytest.raises(Invalid) as error:
            invoices.record_payment(session=session, actor=actor, invoice_id=invoice_id,
                                    amount=amount, paid_on=date(2025, 3, 10))
        assert set(field_errors(error)) == {"amount"}, amount


# --------------------------------------------------------------------------- cancel, delete


def test_cancel_from_draft_and_from_open_with_nothing_paid(session, actor, customer) -> None:
    for data in ({}, {"open": True}):
        invoice_id = new_invoice(session, actor, customer, **data).invoice.id
        view = invoices.cancel_invoice(session=session, actor=actor, invoice_id=invoice_id)
        assert view.invoice.status == "cancelled" and view.invoice.cancelled_at is not None
        assert view.urgency is None
        # and a cancelled invoice cannot be cancelled again
        with pytest.raises(Conflict):
            invoices.cancel_invoice(session=session, actor=actor, invoice_id=invoice_id)


def test_cancel_is_refused_once_something_was_paid(session, actor, customer) -> None:
    invoice_id = new_invoice(session, actor, customer, open=True).invoice.id
    invoices.record_payment(session=session, actor=actor, invoice_id=invoice_id,
                            amount="1.00", paid_on=date(2025, 3, 10))
    with pytest.raises(Conflict):
        invoices.cancel_invoice(session=session, actor=actor, invoice_id=invoice_id)


def test_delete_only_drafts_and_cancelled(session, actor, customer) -> None:
    # given a draft, a cancelled and an open invoice
    draft = new_invoice(session, actor, customer).invoice.id
    cancelled = new_invoice(session, actor, customer).invoice.id
    invoices.cancel_invoice(session=session, actor=actor, invoice_id=cancelled)
    opened = new_invoice(session, actor, customer, open=True).invoice.id
    # when each is deleted
    invoices.delete_invoice(session=session, actor=actor, invoice_id=draft)
    invoices.delete_invoice(session=session, actor=actor, invoice_id=cancelled)
    with pytest.raises(Conflict):
        invoices.delete_invoice(session=session, actor=actor, invoice_id=opened)
    # then the deleted ones are gone from reads and lists, the open one stays
    for gone in (draft, cancelled):
        with pytest.raises(NotFound):
            invoices.get_invoice(session=session, actor=actor, invoice_id=gone)
    page = invoices.list_invoices(session=session, actor=actor,
                                  filters=queries.InvoiceFilters())
    assert [row["id"] for row in page.items] == [opened]


def test_a_paid_invoice_cannot_be_deleted(session, actor, customer) -> None:
    invoice_id = new_invoice(session, actor, customer, open=True).invoice.id
    invoices.record_payment(session=session, actor=actor, invoice_id=invoice_id,
                            amount="121.00", paid_on=date(2025, 3, 10))
    with pytest.raises(Conflict):
        invoices.delete_invoice(session=session, actor=actor, invoice_id=invoice_id)


# --------------------------------------------------------------------------- editing


def test_a_draft_changes_freely_and_totals_follow(session, actor, customer) -> None:
    invoice_id = new_invoice(session, actor, customer).invoice.id
    view = invoices.update_invoice(session=session, actor=actor, invoice_id=invoice_id,
                                   changes={"lines": [line("50.00", quantity="2"),
                                                      line("10.00", vat_rate="6")],
                                            "number": "R-7"})
    assert view.invoice.number == "R-7"
    assert (view.invoice.net_total, view.invoice.vat_total, view.invoice.gross_total) == (
        D("110.00"), D("21.60"), D("131.60"))
    assert [item.description for item in view.invoice.lines] == ["Consulting", "Consulting"]


def test_an_open_invoice_only_changes_due_date_notes_and_payment_account(
        session, actor, customer) -> None:
    # given an open, partially paid invoice
    invoice_id = new_invoice(session, actor, customer, open=True).invoice.id
    invoices.record_payment(session=session, actor=actor, invoice_id=invoice_id,
                            amount="21.00", paid_on=date(2025, 3, 10))
    # when its due date, notes and payment account change / then that is allowed
    view = invoices.update_invoice(session=session, actor=actor, invoice_id=invoice_id,
                                   changes={"due_date": date(2025, 5, 2), "notes": "agreed",
                                            "payment_iban": "BE68539007547034"})
    assert (view.invoice.due_date, view.invoice.notes) == (date(2025, 5, 2), "agreed")
    # and what was paid is untouched
    assert (view.invoice.status, view.invoice.outstanding) == ("partially_paid", D("100.00"))
    # when its accounting facts change / then it is a conflict naming the field
    for changes in ({"lines": [line("1.00")]}, {"number": "X"}, {"currency": "USD"},
                    {"issue_date": date(2025, 3, 1)}, {"notes": "n", "contact_id": customer}):
        with pytest.raises(Conflict) as error:
            invoices.update_invoice(session=session, actor=actor, invoice_id=invoice_id,
                                    changes=changes)
        assert error.value.extra["field"] in changes


def test_an_invoice_of_a_deleted_contact_can_still_be_edited(session, actor,
                                                             customer) -> None:
    # given an open invoice whose customer was then deleted (soft: invoices keep pointing)
    invoice_id = new_invoice(session, actor, customer, open=True).invoice.id
    contacts.delete_contact(session=session, actor=actor, contact_id=customer)
    # when its due date and notes change / then that is still allowed
    view = invoices.update_invoice(session=session, actor=actor, invoice_id=invoice_id,
                                   changes={"due_date": date(2025, 5, 2), "notes": "late"})
    assert (view.invoice.due_date, view.contact_name) == (date(2025, 5, 2), "Client NV")
    # but a new invoice for the deleted contact is refused
    with pytest.raises(Invalid) as error:
        new_invoice(session, actor, customer)
    assert field_errors(error) == {"contact_id": "not_found"}


def test_a_paid_or_cancelled_invoice_changes_nothing(session, actor, customer) -> None:
    paid = new_invoice(session, actor, customer, open=True).invoice.id
    invoices.record_payment(session=session, actor=actor, invoice_id=paid, amount="121.00",
                            paid_on=date(2025, 3, 10))
    cancelled = new_invoice(session, actor, customer).invoice.id
    invoices.cancel_invoice(session=session, actor=actor, invoice_id=cancelled)
    for invoice_id in (paid, cancelled):
        with pytest.raises(Conflict):
            invoices.update_invoice(session=session, actor=actor, invoice_id=invoice_id,
                                    changes={"notes": "late note"})


# --------------------------------------------------------------------------- credit notes


def test_a_credit_note_reduces_what_is_owed_on_the_invoice_it_corrects(
        session, actor, customer) -> None:
    # given an open invoice of 121.00
    invoice_id = new_invoice(session, actor, customer, open=True).invoice.id
    # when a credit note of 24.20 correcting it is opened
    credit = new_invoice(session, actor, customer, kind="credit_note",
                         corrects_invoice_id=invoice_id, lines=[line("20.00")], open=True)
    # then the invoice owes 96.80 and is partially settled; the credit note is used up
    invoice = invoices.get_invoice(session=session, actor=actor, invoice_id=invoice_id).invoice
    assert (invoice.amount_credited, invoice.outstanding) == (D("24.20"), D("96.80"))
    assert invoice.status == "partially_paid"
    assert (credit.invoice.status, credit.invoice.outstanding) == ("paid", D("0.00"))
    # and it can no longer be cancelled
    with pytest.raises(Conflict):
        invoices.cancel_invoice(session=session, actor=actor, invoice_id=invoice_id)


def test_a_full_credit_note_settles_the_invoice(session, actor, customer) -> None:
    invoice_id = new_invoice(session, actor, customer, open=True).invoice.id
    new_invoice(session, actor, customer, kind="credit_note", corrects_invoice_id=invoice_id,
                open=True)
    invoice = invoices.get_invoice(session=session, actor=actor, invoice_id=invoice_id).invoice
    assert (invoice.status, invoice.outstanding) == ("paid", D("0.00"))


def test_a_credit_note_corrects_an_invoice_of_its_own_direction(session, actor,
                                                                customer) -> None:
    receivable = new_invoice(session, actor, customer, open=True).invoice.id
    with pytest.raises(Invalid) as error:
        new_invoice(session, actor, customer, direction="payable", number="CN-1",
                    kind="credit_note", corrects_invoice_id=receivable)
    assert set(field_errors(error)) == {"corrects_invoice_id"}


# --------------------------------------------------------------------------- currencies


@pytest.fixture()
def usd_rates(session: Session, actor: Actor) -> rates.RatesImport:
    return rates.import_rates(session=session, actor=actor, data=ECB_XML)


def test_an_ecb_file_is_imported(usd_rates) -> None:
    assert (usd_rates.days, usd_rates.rates) == (2, 2)
    assert (usd_rates.first_day, usd_rates.last_day) == (date(2025, 3, 6), date(2025, 3, 7))


def test_a_foreign_invoice_stores_its_base_value_and_rate(session, actor, customer,
                                                          usd_rates) -> None:
    # given USD rates for Thursday 6 and Friday 7 March 2025
    # when a USD invoice of 108.07 is issued on Saturday 8 March
    invoice = new_invoice(session, actor, customer, currency="USD",
                          issue_date=date(2025, 3, 8), due_date=date(2025, 4, 7),
                          lines=[line("89.31")]).invoice
    # then it is valued at Friday's rate (the previous business day): 108.07 / 1.0807
    assert (invoice.currency, invoice.gross_total) == ("USD", D("108.07"))
    assert (invoice.base_currency, invoice.gross_total_base) == ("EUR", D("100.00"))
    assert invoice.exchange_rate == D("0.9253261775")
    assert invoice.exchange_rate_date == date(2025, 3, 7)


def test_a_foreign_invoice_on_a_business_day_uses_that_days_rate(session, actor, customer,
                                                                 usd_rates) -> None:
    invoice = new_invoice(session, actor, customer, currency="USD",
                          issue_date=date(2025, 3, 6), due_date=date(2025, 4, 7),
                          lines=[line("89.31")]).invoice
    assert invoice.exchange_rate_date == date(2025, 3, 6)
    assert (invoice.exchange_rate, invoice.gross_total_base) == (D("0.9272137228"), D("100.20"))


def test_no_rate_is_invalid_naming_the_currency(session, actor, customer, usd_rates) -> None:
    for currency, issue_date in (
        ("GBP", date(2025, 3, 7)),     # never imported
        ("USD", date(2025, 3, 5)),     # before the first imported day
        ("USD", date(2025, 3, 31)),    # too long after the last one
    ):
        with pytest.raises(Invalid) as error:
            new_invoice(session, actor, customer, currency=currency, issue_date=issue_date,
                        due_date=date(2025, 4, 30))
        assert field_errors(error) == {"currency": "rate_missing"}, (currency, issue_date)


def test_an_unknown_currency_is_invalid(session, actor, customer) -> None:
    with pytest.raises(Invalid) as error:
        new_invoice(session, actor, customer, currency="XYZ")
    assert set(field_errors(error)) == {"currency"}


# --------------------------------------------------------------------------- concurrency


def test_a_stale_expected_version_is_refused(session, actor, customer) -> None:
    # given an invoice read at version 1, then changed by someone else (version 2)
    invoice_id = new_invoice(session, actor, customer).invoice.id
    changed = invoices.update_invoice(session=session, actor=actor, invoice_id=invoice_id,
                                      changes={"notes": "first"}, expected_version=1)
    assert changed.invoice.version == 2
    # when a write still expects version 1 / then it is refused and nothing changes
    for attempt in (
        lambda: invoices.update_invoice(session=session, actor=actor, invoice_id=invoice_id,
                                        changes={"notes": "second"}, expected_version=1),
        lambda: invoices.open_invoice(session=session, actor=actor, invoice_id=invoice_id,
                                      expected_version=1),
        lambda: invoices.cancel_invoice(session=session, actor=actor, invoice_id=invoice_id,
                                        expected_version=1),
        lambda: invoices.delete_invoice(session=session, actor=actor, invoice_id=invoice_id,
                                        expected_version=1),
    ):
        with pytest.raises(PreconditionFailed):
            attempt()
    invoice = invoices.get_invoice(session=session, actor=actor, invoice_id=invoice_id).invoice
    assert (invoice.notes, invoice.status, invoice.version) == ("first", "draft", 2)
    # and the current version is accepted
    opened = invoices.open_invoice(session=session, actor=actor, invoice_id=invoice_id,
                                   expected_version=2)
    assert opened.invoice.version == 3


# --------------------------------------------------------------------------- urgency


def test_manual_urgency_is_set_and_cleared(session, actor, customer) -> None:
    invoice_id = new_invoice(session, actor, customer, open=True,
                             issue_date=date(2025, 1, 1), due_date=date(2025, 1, 31)).invoice.id
    view = invoices.set_urgency(session=session, actor=actor, invoice_id=invoice_id, urgency=5)
    assert (view.urgency, view.urgency_source) == (5, "manual")
    view = invoices.set_urgency(session=session, actor=actor, invoice_id=invoice_id,
                                urgency=None)
    assert (view.urgency, view.urgency_source, view.overdue) == (1, "computed", True)
    with pytest.raises(Invalid):
        invoices.set_urgency(session=session, actor=actor, invoice_id=invoice_id, urgency=6)


# --------------------------------------------------------------------------- audit


def _audit(session: Session, entity_id: uuid.UUID) -> list[AuditEntry]:
    with session.begin():
        return list(session.execute(
            select(AuditEntry).where(AuditEntry.entity_id == entity_id)
            .order_by(AuditEntry.created_at)).scalars())


def test_every_invoice_change_leaves_an_audit_entry(session, actor, customer) -> None:
    # given an invoice taken through its life
    kept = new_invoice(session, actor, customer).invoice.id
    invoices.update_invoice(session=session, actor=actor, invoice_id=kept,
                            changes={"notes": "call first"})
    invoices.open_invoice(session=session, actor=actor, invoice_id=kept)
    invoices.set_urgency(session=session, actor=actor, invoice_id=kept, urgency=2)
    invoices.record_payment(session=session, actor=actor, invoice_id=kept, amount="21.00",
                            paid_on=date(2025, 3, 10))
    new_invoice(session, actor, customer, kind="credit_note", corrects_invoice_id=kept,
                lines=[line("10.00")], open=True)
    dropped = new_invoice(session, actor, customer).invoice.id
    invoices.cancel_invoice(session=session, actor=actor, invoice_id=dropped)
    invoices.delete_invoice(session=session, actor=actor, invoice_id=dropped)
    # when the audit trail is read
    kept_entries, dropped_entries = _audit(session, kept), _audit(session, dropped)
    # then each change is there, by whom, with before and after
    assert sorted(e.action for e in kept_entries) == sorted([
        "invoice.created", "invoice.updated", "invoice.opened", "invoice.urgency_set",
        "invoice.payment_recorded", "invoice.credited"])
    assert sorted(e.action for e in dropped_entries) == sorted([
        "invoice.created", "invoice.cancelled", "invoice.deleted"])
    assert {e.actor_id for e in kept_entries + dropped_entries} == {actor.user_id}
    assert {e.entity_type for e in kept_entries} == {"invoice"}
    payment = next(e for e in kept_entries if e.action == "invoice.payment_recorded")
    assert payment.before is not None and payment.after is not None
    assert (payment.before["outstanding"], payment.after["outstanding"]) == ("121.00", "100.00")
    assert payment.after["status"] == "partially_paid"
    credited = next(e for e in kept_entries if e.action == "invoice.credited")
    assert credited.after is not None and credited.after["outstanding"] == "87.90"
    created = next(e for e in dropped_entries if e.action == "invoice.created")
    assert created.before is None and created.after is not None
    deleted = next(e for e in dropped_entries if e.action == "invoice.deleted")
    assert deleted.before is not None and deleted.before["status"] == "cancelled"


def test_a_refused_change_leaves_no_audit_entry(session, actor, customer) -> None:
    invoice_id = new_invoice(session, actor, customer, open=True).invoice.id
    with pytest.raises(Invalid):
        invoices.record_payment(session=session, actor=actor, invoice_id=invoice_id,
                                amount="500.00", paid_on=date(2025, 3, 10))
    assert sorted(e.action for e in _audit(session, invoice_id)) == [
        "invoice.created", "invoice.opened"]


def test_every_contact_change_leaves_an_audit_entry(session, actor) -> None:
    contact = contacts.create_contact(session=session, actor=actor, data={"name": "Acme"})
    contacts.update_contact(session=session, actor=actor, contact_id=contact.id,
                            changes={"ibans": ["BE68 5390 0754 7034"]})
    contacts.delete_contact(session=session, actor=actor, contact_id=contact.id)
    entries = _audit(session, contact.id)
    assert sorted(e.action for e in entries) == [
        "contact.created", "contact.deleted", "contact.updated"]
    updated = next(e for e in entries if e.action == "contact.updated")
    assert updated.before is not None and updated.after is not None
    assert (updated.before["ibans"], updated.after["ibans"]) == ([], ["BE68539007547034"])
