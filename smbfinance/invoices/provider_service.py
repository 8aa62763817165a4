"""Invoices read from an accounting package (Yuki): its open receivables and payables,
upserted keyed on the package's item id (`external_ids.yuki`, unique per tenant), with
their contacts. The package is the truth for these invoices: amounts, due dates and what is
still open come from it; an item that leaves its open list was settled there. One thing is
kept from our side: what our own active reconciliation matches settled (a bank payment the
package has not booked yet) — the amount paid is the larger of the two (ADR 0037).

Every invoice created or changed is audited and announced (`invoice.created`,
`invoice.updated`, `invoice.paid`) in the sync's transaction; a repeated sync with the same
items changes nothing and emits nothing.

Joins the caller's transaction; the caller scopes the session to the tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from smbfinance.audit import service as audit
from smbfinance.auth.permissions import Actor, system_actor
from smbfinance.contacts.models import Contact
from smbfinance.db import new_id, transaction
from smbfinance.errors import DomainError
from smbfinance.invoices import service as invoices
from smbfinance.invoices.models import Invoice, InvoicePayment
from smbfinance.invoices.service import tenant_context
from smbfinance.rates import service as rates

_KEPT_FIELDS = ("direction", "kind", "issue_date", "due_date", "currency", "gross_total",
                "amount_paid", "outstanding", "status")


@dataclass
class ProviderInvoiceResult:
    read: int = 0
    created: int = 0
    updated: int = 0
    settled: int = 0
    contacts_created: int = 0
    changed_ids: list[uuid.UUID] = field(default_factory=list)

    @property
    def unchanged(self) -> int:
        return self.read - self.created - self.updated


def upsert_open_items(*, session: Session, tenant_id: uuid.UUID, provider: str,
                      administration_id: str, items: Sequence[dict[str, Any]],
                      contacts: dict[str, dict[str, Any]], now: datetime,
                      ) -> ProviderInvoiceResult:
    """`items`: `rows.invoice_values` dicts, each with a `contact_key` naming one entry of
    `contacts` (`rows.contact_values`). Every invoice of this provider and administration
    that is still open here but absent from `items` is marked paid (the package no longer
    lists it as open). Running it twice with the same items changes nothing."""
    result = ProviderInvoiceResult(read=len(items))
    actor = system_actor(tenant_id)
    with transaction(session):
        context = tenant_context(session, tenant_id, now)
        existing = {
            invoice.external_ids[provider]: invoice for invoice in session.execute(
                select(Invoice).where(Invoice.external_ids.has_key(provider),
                                      Invoice.deleted_at.is_(None))).scalars()
            if invoice.external_ids.get("administration") == administration_id}
        ours = _reconciled(session, [invoice.id for invoice in existing.values()])
        contact_ids: dict[str, uuid.UUID] = {}
        for item in items:
            key = item["external_ids"][provider]
            contact_key = item["contact_key"]
            if contact_key not in contact_ids:
                contact_ids[contact_key], made = _contact(
                    session, provider, contact_key, contacts[contact_key])
                result.contacts_created += made
            invoice = existing.pop(key, None)
            values = _invoice_fields(item, ours.get(invoice.id, Decimal(0))
                                     if invoice is not None else Decimal(0))
            if invoice is None:
                invoice = Invoice(id=new_id(), contact_id=contact_ids[contact_key],
                                  number=_free_number(session, item, key),
                                  base_currency=context.base_currency, source=provider,
                                  external_ids={**item["external_ids"],
                                                "contact": contact_key},
                                  opened_at=now, **values)
                invoice.paid_at = now if invoice.status == "paid" else None
                _convert(session, invoice)
                _add_numbered(session, invoice, f"{item['number']} ({key})"[:64])
                audit.record(session, actor=actor, action="invoice.created",
                             entity_type="invoice", entity_id=invoice.id,
                             after=invoices.state(invoice))
                invoices.announce(session, actor, invoice, "invoice.created")
                result.created += 1
                result.changed_ids.append(invoice.id)
            elif any(getattr(invoice, name) != value for name, value in values.items()):
                before = invoices.state(invoice)
                was_paid = invoice.status == "paid"
                for name, value in values.items():
                    setattr(invoice, name, value)
                if invoice.status != "paid":
                    invoice.paid_at = None
                elif not was_paid:
                    invoice.paid_at = now
                invoice.external_ids = {**invoice.external_ids, **item["external_ids"],
                                        "contact": contact_key}
                _convert(session, invoice)
                _announce(session, actor, invoice, before, was_paid)
                result.updated += 1
                result.changed_ids.append(invoice.id)
        for invoice in existing.values():  # no longer open in the package: settled there
            if invoice.status in ("open", "partially_paid"):
                before = invoices.state(invoice)
                invoice.amount_paid = invoice.gross_total - invoice.amount_credited
                invoice.outstanding = Decimal(0)
                invoice.status, invoice.paid_at = "paid", now
                _announce(session, actor, invoice, before, was_paid=False)
                result.settled += 1
                result.changed_ids.append(invoice.id)
        session.flush()
    return result


def _announce(session: Session, actor: Actor, invoice: Invoice, before: dict[str, Any],
              was_paid: bool) -> None:
    session.flush()
    audit.record(session, actor=actor, action="invoice.synchronized", entity_type="invoice",
                 entity_id=invoice.id, before=before, after=invoices.state(invoice))
    invoices.announce(session, actor, invoice,
                      "invoice.paid" if invoice.status == "paid" and not was_paid
                      else "invoice.updated")


def _reconciled(session: Session, invoice_ids: list[uuid.UUID]) -> dict[uuid.UUID, Decimal]:
    """What our active reconciliation matches settled per invoice (reversed payments, of
    undone matches, no longer count)."""
    if not invoice_ids:
        return {}
    return dict(session.execute(
        select(InvoicePayment.invoice_id, func.sum(InvoicePayment.amount))
        .where(InvoicePayment.invoice_id.in_(invoice_ids),
               InvoicePayment.kind == "reconciliation", InvoicePayment.reversed_at.is_(None))
        .group_by(InvoicePayment.invoice_id)).all())


def _invoice_fields(item: dict[str, Any], settled_here: Decimal) -> dict[str, Any]:
    """The item's fields, its amount paid being at least what our matches settled: the
    package may not have booked the bank payment we reconciled yet (ADR 0037)."""
    values = {name: item[name] for name in _KEPT_FIELDS if name in item}
    gross = item["gross_total"]
    paid = min(max(item["amount_paid"], settled_here), gross)
    values["amount_paid"], values["outstanding"] = paid, gross - paid
    values["status"] = ("paid" if gross - paid <= 0 else
                        "partially_paid" if paid > 0 else "open")
    if values["due_date"] < values["issue_date"]:
        values["due_date"] = values["issue_date"]
    return values


def _convert(session: Session, invoice: Invoice) -> None:
    if invoice.currency == invoice.base_currency:
        invoice.gross_total_base, invoice.exchange_rate = invoice.gross_total, Decimal(1)
        return
    try:
        conversion = rates.convert(session=session, amount=invoice.gross_total,
                                   source=invoice.currency, target=invoice.base_currency,
                                   on=invoice.issue_date, field="currency")
    except DomainError:
        # No rate known yet: keep the invoice (the package is the truth); the base amount
        # is refreshed on its next change.
        invoice.gross_total_base, invoice.exchange_rate = invoice.gross_total, Decimal(1)
        return
    invoice.gross_total_base = conversion.amount
    invoice.exchange_rate = conversion.rate
    invoice.exchange_rate_date = conversion.rate_date


def _add_numbered(session: Session, invoice: Invoice, fallback: str) -> None:
    """Insert the invoice; when its number was taken meanwhile (another administration of
    the company synced at the same moment), under the item-tagged number instead."""
    try:
        with session.begin_nested():
            session.add(invoice)
            session.flush()
    except IntegrityError as error:
        if "uq_invoices_" not in str(error.orig) or invoice.number == fallback:
            raise
        invoice.number = fallback
        session.add(invoice)
        session.flush()


def _free_number(session: Session, item: dict[str, Any], key: str) -> str:
    """The package's reference, unless one of our own invoices already carries it (numbers
    are unique per tenant for receivables): then the reference tagged with the item id."""
    number = item["number"]
    taken = session.execute(select(func.count()).select_from(Invoice).where(
        Invoice.number == number, Invoice.direction == item["direction"],
        Invoice.deleted_at.is_(None))).scalar_one()
    return number if not taken else f"{number} ({key})"[:64]


def _contact(session: Session, provider: str, contact_key: str,
             values: dict[str, Any]) -> tuple[uuid.UUID, bool]:
    """The contact an earlier invoice of this provider contact used, else one with the
    same VAT number, else one with the same name; created when none."""
    earlier = session.execute(select(Invoice.contact_id).where(
        Invoice.external_ids.has_key(provider),
        Invoice.external_ids["contact"].astext == contact_key).limit(1)).scalar_one_or_none()
    if earlier is not None:
        return earlier, False
    live = select(Contact.id).where(Contact.deleted_at.is_(None))
    if values.get("vat_number"):
        found = session.execute(live.where(Contact.vat_number == values["vat_number"])
                                .limit(1)).scalar_one_or_none()
        if found is not None:
            return found, False
    found = session.execute(live.where(func.lower(Contact.name) == values["name"].lower())
                            .limit(1)).scalar_one_or_none()
    if found is not None:
        return found, False
    contact = Contact(id=new_id(), **{k: v for k, v in values.items() if k != "external_ids"})
    session.add(contact)
    session.flush()
    return contact.id, True
