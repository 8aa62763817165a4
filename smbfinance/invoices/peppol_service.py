"""Peppol BIS 3.0 / UBL 2.1 in and out: import a document as a payable or receivable,
export an invoice as a document our own importer reads back to the same invoice."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smbfinance.auth.identifiers import normalise_enterprise_number, normalise_vat_number
from smbfinance.auth.models import Tenant
from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.contacts import service as contacts
from smbfinance.contacts.models import Contact
from smbfinance.contacts.validation import normalise_iban
from smbfinance.db import transaction
from smbfinance.errors import FieldError, Invalid, NotFound
from smbfinance.invoices import calculation, ogm, service
from smbfinance.invoices.models import Invoice, InvoicePayment
from smbfinance.invoices.peppol import (
    PEPPOL_CUSTOMIZATION_ID,
    PEPPOL_PROFILE_ID,
    UblAllowanceCharge,
    UblDocument,
    UblError,
    UblLine,
    UblParty,
    UblPaymentMeans,
    UblTotals,
    UblVatSubtotal,
    check_totals,
    parse_ubl,
    render_ubl,
)
from smbfinance.invoices.service import InvoiceView

# Endpoint schemes whose identifier is the Belgian enterprise number.
BELGIAN_ENTERPRISE_SCHEMES = frozenset({"0208", "9956"})
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class ImportOutcome:
    view: InvoiceView
    created: bool


def import_document(*, session: Session, actor: Actor, data: bytes) -> ImportOutcome:
    """Parse, check the totals against our computation, decide the direction from the
    tenant's identifiers, find or create the contact, and store the invoice (open). The
    same document twice creates nothing new."""
    require(actor, Permission.FINANCE_WRITE)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise Invalid.field("file", f"larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB")
    try:
        document = parse_ubl(data)
    except UblError as exc:
        raise Invalid(f"{exc.path}: {exc.message}",
                      errors=[FieldError(exc.path, exc.message, "invalid_document")]) from None
    mismatches = check_totals(document)
    if mismatches:
        raise Invalid(
            "the document's totals differ from what its lines give: "
            + "; ".join(f"{m.path} says {m.found}, lines give {m.expected}" for m in mismatches),
            errors=[FieldError(m.path, f"document says {m.found}, lines give {m.expected}",
                               "totals_mismatch") for m in mismatches])
    digest = hashlib.sha256(data).hexdigest()
    with transaction(session):
        existing = session.execute(select(Invoice).where(
            Invoice.document_sha256 == digest, Invoice.deleted_at.is_(None))).scalar_one_or_none()
        if existing is not None:
            return ImportOutcome(service.view_of(session, actor, existing), created=False)
        tenant = session.get(Tenant, actor.tenant_id)
        assert tenant is not None
        direction, counterparty = _direction(tenant, document)
        contact, _ = contacts.find_or_create(session=session, actor=actor,
                                             data=_contact_data(counterparty, document, direction))
        # A different document with a number already used (by this supplier, for payables)
        # is refused by the unique index as a Conflict: only identical bytes are "the same".
        view = service.create_invoice(session=session, actor=actor, data=_invoice_data(
            session, document, direction, contact.id, digest))
        _check_stored_totals(view.invoice, document)
        _record_prepaid(session, view.invoice, document)
    return ImportOutcome(service.view_of(session, actor, view.invoice), created=True)


def _direction(tenant: Tenant, document: UblDocument) -> tuple[str, UblParty]:
    ours = _identifiers_of_tenant(tenant)
    is_customer = bool(ours & _identifiers_of_party(document.customer))
    is_supplier = bool(ours & _identifiers_of_party(document.supplier))
    if is_customer and not is_supplier:
        return "payable", document.supplier
    if is_supplier and not is_customer:
        return "receivable", document.customer
    who = _describe(document.customer)
    if is_customer and is_supplier:
        raise Invalid.field("file", "the document names this company as both seller and buyer")
    raise Invalid.field(
        "file",
        f"the document is addressed to {who} and sent by {_describe(document.supplier)}; "
        f"neither is this company ({tenant.legal_name}, VAT {tenant.vat_number or 'not set'}, "
        f"enterprise number {tenant.enterprise_number or 'not set'}): set the company's VAT "
        "or enterprise number in PATCH /api/v1/tenant, or import it into the right company",
        code="not_addressed_to_tenant")


def _identifiers_of_tenant(tenant: Tenant) -> set[str]:
    ids: set[str] = set()
    if tenant.vat_number:
        ids.add(f"vat:{tenant.vat_number}")
        if tenant.vat_number.startswith("BE"):
            ids.add(f"kbo:{tenant.vat_number[2:]}")
    if tenant.enterprise_number:
        ids.add(f"kbo:{tenant.enterprise_number}")
        ids.update(f"ep:{scheme}:{tenant.enterprise_number}"
                   for scheme in BELGIAN_ENTERPRISE_SCHEMES)
    if tenant.peppol_id:
        ids.add(f"ep:{tenant.peppol_id}")
    return ids


def _identifiers_of_party(party: UblParty) -> set[str]:
    ids: set[str] = set()
    vat = _lenient(normalise_vat_number, party.vat_number)
    if vat:
        ids.add(f"vat:{vat}")
        if vat.startswith("BE"):
            ids.add(f"kbo:{vat[2:]}")
    kbo = _enterprise_number(party)
    if kbo:
        ids.add(f"kbo:{kbo}")
    if party.endpoint_id and party.endpoint_scheme:
        ids.add(f"ep:{party.endpoint_scheme}:{party.endpoint_id}")
    if party.endpoint_id and party.endpoint_scheme == "9925":  # Belgian VAT endpoint
        endpoint_vat = _lenient(normalise_vat_number, party.endpoint_id)
        if endpoint_vat:
            ids.add(f"vat:{endpoint_vat}")
    return ids


def _enterprise_number(party: UblParty) -> str | None:
    for value, scheme in ((party.company_id, party.company_id_scheme),
                          (party.endpoint_id, party.endpoint_scheme)):
        if value and scheme in BELGIAN_ENTERPRISE_SCHEMES:
            number = _lenient(normalise_enterprise_number, value)
            if number:
                return number
    return None


def _lenient(normalise: Callable[[str], str], value: str | None) -> str | None:
    """An identifier from someone else's document: keep it when valid, drop it otherwise
    (a supplier's typo must not block the invoice)."""
    if not value:
        return None
    try:
        return normalise(value)
    except ValueError:
        return None


def _describe(party: UblParty) -> str:
    ids = ", ".join(filter(None, (
        f"VAT {party.vat_number}" if party.vat_number else None,
        f"endpoint {party.endpoint_scheme}:{party.endpoint_id}" if party.endpoint_id else None)))
    return f"{party.name} ({ids})" if ids else party.name


def _contact_data(party: UblParty, document: UblDocument, direction: str) -> dict[str, Any]:
    ibans = []
    if direction == "payable":  # the supplier's account is where we pay
        ibans = [iban for iban in (_lenient(normalise_iban, m.iban)
                                   for m in document.payment_means) if iban]
    return {
        "name": party.name[:200], "vat_number": _lenient(normalise_vat_number, party.vat_number),
        "enterprise_number": _enterprise_number(party), "email": party.email,
        "street": party.street, "postal_code": party.postal_code, "city": party.city,
        "country_code": party.country_code if party.country_code
        and len(party.country_code) == 2 else None,
        "peppol_id": f"{party.endpoint_scheme}:{party.endpoint_id}"[:100]
        if party.endpoint_id else None,
        "ibans": ibans,
    }


def _invoice_data(session: Session, document: UblDocument, direction: str,
                  contact_id: uuid.UUID, digest: str) -> dict[str, Any]:
    means = document.payment_means[0] if document.payment_means else None
    corrects = None
    if document.kind == "credit_note" and document.billing_reference:
        corrects = session.execute(select(Invoice.id).where(
            Invoice.number == document.billing_reference, Invoice.direction == direction,
            Invoice.contact_id == contact_id, Invoice.kind == "invoice",
            Invoice.deleted_at.is_(None))).scalar_one_or_none()
    return {
        "direction": direction, "kind": document.kind, "number": document.number,
        "contact_id": contact_id, "issue_date": document.issue_date,
        "due_date": document.due_date or document.issue_date + service.DEFAULT_PAYMENT_TERM,
        "currency": document.currency,
        "payment_reference": _reference(means.payment_id if means else None),
        "payment_iban": _lenient(normalise_iban, means.iban) if means else None,
        "payment_bic": means.bic if means else None,
        "corrects_invoice_id": corrects, "notes": document.note,
        "source": "peppol", "document_sha256": digest, "generate_reference": False,
        "external_ids": {"peppol": {"number": document.number,
                                    "customization_id": document.customization_id,
                                    "profile_id": document.profile_id}},
        "lines": [{"description": line.description[:500], "quantity": str(line.quantity),
                   "unit_price": str(line.unit_price), "vat_rate": str(line.vat_rate),
                   "vat_category": line.vat_category, "unit_code": line.unit_code,
                   "allowance": str(line.allowance), "charge": str(line.charge)}
                  for line in document.lines],
        "adjustments": [{"is_charge": item.is_charge, "amount": str(item.amount),
                         "vat_rate": str(item.vat_rate), "vat_category": item.vat_category,
                         "reason": item.reason} for item in document.allowances_charges],
        "open": True,
    }


def _reference(payment_id: str | None) -> str | None:
    """A valid OGM is kept structured; anything else (including an OGM with wrong check
    digits written by the sender) is kept as the free reference it then is."""
    if not payment_id:
        return None
    if ogm.is_valid(payment_id):
        return ogm.normalise(payment_id)
    return "".join(ch for ch in payment_id if ch not in "+*")[:140] or None


def _check_stored_totals(invoice: Invoice, document: UblDocument) -> None:
    if invoice.gross_total != document.totals.tax_inclusive:
        raise Invalid.field(
            "/cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount",
            f"document says {document.totals.tax_inclusive}, stored lines give "
            f"{invoice.gross_total} (a unit price with more than 6 decimals?)",
            code="totals_mismatch")


def _record_prepaid(session: Session, invoice: Invoice, document: UblDocument) -> None:
    prepaid = document.totals.prepaid
    if prepaid > 0 and invoice.kind == "invoice":
        session.add(InvoicePayment(invoice_id=invoice.id, kind="manual", amount=prepaid,
                                   currency=invoice.currency, paid_on=invoice.issue_date,
                                   note="prepaid amount stated on the document"))
        invoice.amount_paid += prepaid
        service.settle(invoice)
        session.flush()


# ------------------------------------------------------------------ export

def export_document(*, session: Session, actor: Actor, invoice_id: uuid.UUID) -> bytes:
    require(actor, Permission.FINANCE_READ)
    with transaction(session):
        invoice = service.load_invoice(session, invoice_id)
        tenant = session.get(Tenant, actor.tenant_id)
        contact = session.execute(select(Contact).where(Contact.id == invoice.contact_id)
                                  ).scalar_one_or_none()
        if tenant is None or contact is None:
            raise NotFound(f"no invoice {invoice_id}")
        if invoice.status == "draft":
            raise Invalid.field("status", "a draft is not an issued document: open it first",
                                code="draft")
        return render_ubl(to_document(invoice, tenant, contact))


def to_document(invoice: Invoice, tenant: Tenant, contact: Contact) -> UblDocument:
    endpoint = tenant.peppol_id or (f"0208:{tenant.enterprise_number}"
                                    if tenant.enterprise_number else None)
    us = UblParty(
        name=tenant.legal_name, vat_number=tenant.vat_number,
        company_id=tenant.enterprise_number, company_id_scheme="0208"
        if tenant.enterprise_number else None,
        endpoint_id=endpoint.split(":", 1)[1] if endpoint else None,
        endpoint_scheme=endpoint.split(":", 1)[0] if endpoint else None, country_code="BE")
    them = UblParty(
        name=contact.name, vat_number=contact.vat_number, company_id=contact.enterprise_number,
        company_id_scheme="0208" if contact.enterprise_number else None,
        endpoint_id=contact.peppol_id.split(":", 1)[1] if contact.peppol_id
        and ":" in contact.peppol_id else contact.enterprise_number,
        endpoint_scheme=contact.peppol_id.split(":", 1)[0] if contact.peppol_id
        and ":" in contact.peppol_id else ("0208" if contact.enterprise_number else None),
        email=contact.email, street=contact.street, city=contact.city,
        postal_code=contact.postal_code, country_code=contact.country_code)
    supplier, customer = (us, them) if invoice.direction == "receivable" else (them, us)
    totals = calculation.compute_totals(
        [calculation.LineInput(line.quantity, line.unit_price, line.vat_rate,
                                       line.vat_category, line.allowance, line.charge)
         for line in invoice.lines],
        [calculation.AllowanceCharge(a.is_charge, a.amount, a.vat_rate, a.vat_category,
                                             a.reason) for a in invoice.adjustments],
        currency=invoice.currency)
    reference = ogm.format_ogm(invoice.payment_reference) if (
        invoice.payment_reference and invoice.payment_reference_structured
    ) else invoice.payment_reference
    means = (UblPaymentMeans(code="30", payment_id=reference, iban=invoice.payment_iban,
                             bic=invoice.payment_bic),) if reference or invoice.payment_iban else ()
    return UblDocument(
        kind="credit_note" if invoice.kind == "credit_note" else "invoice",
        number=invoice.number, issue_date=invoice.issue_date, due_date=invoice.due_date,
        currency=invoice.currency, supplier=supplier, customer=customer,
        type_code="381" if invoice.kind == "credit_note" else "380",
        customization_id=PEPPOL_CUSTOMIZATION_ID, profile_id=PEPPOL_PROFILE_ID,
        buyer_reference=invoice.number, note=invoice.notes,
        lines=tuple(UblLine(line_id=str(line.position), description=line.description,
                            quantity=line.quantity, unit_code=line.unit_code or "C62",
                            unit_price=line.unit_price, net_amount=net,
                            vat_category=line.vat_category, vat_rate=line.vat_rate,
                            allowance=line.allowance, charge=line.charge)
                    for line, net in zip(invoice.lines, totals.line_nets, strict=True)),
        allowances_charges=tuple(UblAllowanceCharge(is_charge=a.is_charge, amount=a.amount,
                                                    vat_category=a.vat_category,
                                                    vat_rate=a.vat_rate, reason=a.reason)
                                 for a in invoice.adjustments),
        vat_subtotals=tuple(UblVatSubtotal(category=b.category, rate=b.rate,
                                           taxable_amount=b.taxable_amount,
                                           tax_amount=b.tax_amount)
                            for b in totals.vat_breakdown),
        payment_means=means,
        totals=UblTotals(line_extension=totals.line_total, tax_exclusive=totals.net,
                         tax_inclusive=totals.gross, payable=totals.gross,
                         tax_total=totals.vat, allowance_total=totals.allowance_total,
                         charge_total=totals.charge_total),
    )

