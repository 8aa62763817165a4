"""Invoice payments made and reversed by reconciliation.

These join the caller's transaction (reconciliation locks the bank transaction first, then
the invoices in id order, and writes its match in the same commit), so they neither open
one nor check permissions: the calling use case has done both.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from smbfinance.audit import service as audit
from smbfinance.auth.permissions import Actor
from smbfinance.db import utcnow
from smbfinance.invoices import rules
from smbfinance.invoices import service as invoices
from smbfinance.invoices.models import Invoice, InvoicePayment


def lock_invoices(session: Session, invoice_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Invoice]:
    """The invoices (not deleted) locked FOR UPDATE in id order, the one order every
    writer uses, so two reconciliations never wait on each other in a circle."""
    ids = sorted(set(invoice_ids))
    if not ids:
        return {}
    found = session.execute(
        select(Invoice).where(Invoice.id.in_(ids), Invoice.deleted_at.is_(None))
        .order_by(Invoice.id).with_for_update()).scalars().all()
    return {invoice.id: invoice for invoice in found}


def settleable(invoice: Invoice) -> bool:
    return invoice.kind == "invoice" and rules.can_record_payment(invoice.status)


def settle(session: Session, *, actor: Actor, invoice: Invoice, amount: Decimal,
           paid_on: date, reference: str | None) -> InvoicePayment:
    """Record `amount` of a bank transaction against a locked, settleable invoice whose
    outstanding covers it; status and amounts follow."""
    if not settleable(invoice) or not Decimal(0) < amount <= invoice.outstanding:
        raise ValueError(f"{amount} does not fit invoice {invoice.id} ({invoice.status}, "
                         f"{invoice.outstanding} outstanding)")
    before = invoices.state(invoice)
    payment = InvoicePayment(invoice_id=invoice.id, kind="reconciliation", amount=amount,
                             currency=invoice.currency, paid_on=paid_on, reference=reference)
    session.add(payment)
    invoice.amount_paid += amount
    invoices.settle(invoice)
    audit.record(session, actor=actor, action="invoice.payment_recorded", entity_type="invoice",
                 entity_id=invoice.id, before=before, after=invoices.state(invoice))
    invoices.announce(session, actor, invoice)
    return payment


def reverse(session: Session, *, actor: Actor, invoice: Invoice, payment_id: uuid.UUID) -> None:
    """Stop counting a reconciliation payment (kept, marked reversed): the invoice is
    outstanding again by that amount and its status follows."""
    payment = session.execute(select(InvoicePayment).where(
        InvoicePayment.id == payment_id, InvoicePayment.invoice_id == invoice.id,
        InvoicePayment.reversed_at.is_(None))).scalar_one()
    before = invoices.state(invoice)
    payment.reversed_at = utcnow()
    invoice.amount_paid -= payment.amount
    if rules.Status(invoice.status) in (rules.Status.PAID, rules.Status.PARTIALLY_PAID,
                                        rules.Status.OPEN):
        invoices.settle(invoice)
    audit.record(session, actor=actor, action="invoice.payment_reversed", entity_type="invoice",
                 entity_id=invoice.id, before=before, after=invoices.state(invoice))
    invoices.announce(session, actor, invoice, "invoice.updated")
