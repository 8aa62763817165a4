"""Invoice use cases: create, read, update, open, record payment, cancel, urgency, delete.

One public function = one use case = one transaction. Totals come from the lines
(calculation.py, EN 16931); status rules from rules.py; amounts in base currency from the
tenant's exchange rates. Every change leaves an audit entry.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, text
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from smbfinance import events
from smbfinance.audit import service as audit
from smbfinance.auth import tenant_settings
from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.auth.profile import tenant_profile
from smbfinance.concurrency import check_version
from smbfinance.contacts.models import Contact
from smbfinance.db import transaction, utcnow
from smbfinance.errors import Conflict, ErrorList, Invalid, NotFound
from smbfinance.events import objects as event_objects
from smbfinance.invoices import calculation, ogm, presenters, queries, rules
from smbfinance.invoices.models import Invoice, InvoiceAdjustment, InvoiceLine, InvoicePayment
from smbfinance.money import MoneyError, minor_units, parse_amount, validate_currency
from smbfinance.pagination import Page, check_limit, page_of
from smbfinance.rates import service as rates

DIRECTIONS = ("receivable", "payable")
DEFAULT_PAYMENT_TERM = timedelta(days=30)


@dataclass(frozen=True)
class TenantContext:
    base_currency: str
    today: date
    thresholds: dict[str, Any]


def tenant_context(
    session: Session, tenant_id: uuid.UUID, now: datetime | None = None
) -> TenantContext:
    """What invoice rules need from the tenant: base currency, today in its time zone,
    urgency thresholds."""
    tenant = tenant_profile(session, tenant_id)
    if tenant is None:
        raise NotFound("tenant not found")
    today = (now or utcnow()).astimezone(ZoneInfo(tenant.time_zone)).date()
    thresholds = tenant_settings.effective(tenant.settings)["urgency_thresholds"]
    return TenantContext(tenant.base_currency, today, thresholds)


# ------------------------------------------------------------------ input checking

def _decimal(raw: Any, field: str, errors: ErrorList, *, places: int = 6,
             minimum: Decimal | None = None) -> Decimal | None:
    if isinstance(raw, bool | float) or raw is None:
        errors.add(field, "must be a decimal string such as \"12.50\"")
        return None
    try:
        value = Decimal(str(raw))
    except ArithmeticError:
        errors.add(field, "must be a decimal string such as \"12.50\"")
        return None
    exponent = value.as_tuple().exponent
    if not value.is_finite() or (isinstance(exponent, int) and -exponent > places):
        errors.add(field, f"must be a finite number with at most {places} decimal places")
        return None
    if minimum is not None and value < minimum:
        errors.add(field, f"must be at least {minimum}")
        return None
    if abs(value) >= Decimal("1e12"):
        errors.add(field, "is too large")
        return None
    return value


def _money(raw: Any, field: str, currency: str, errors: ErrorList) -> Decimal | None:
    try:
        return parse_amount(raw, currency)
    except MoneyError as exc:
        errors.add(field, str(exc))
        return None


def _lines(raw_lines: list[dict[str, Any]], currency: str, errors: ErrorList) -> list[InvoiceLine]:
    if not raw_lines:
        errors.add("lines", "an invoice needs at least one line", "required")
    lines: list[InvoiceLine] = []
    for index, raw in enumerate(raw_lines):
        path = f"lines.{index}"
        quantity = _decimal(raw.get("quantity", "1"), f"{path}.quantity", errors, places=4)
        unit_price = _decimal(raw.get("unit_price"), f"{path}.unit_price", errors, places=6)
        vat_rate = _decimal(raw.get("vat_rate", "21"), f"{path}.vat_rate", errors, places=2,
                            minimum=Decimal(0))
        allowance = _money(raw.get("allowance", "0"), f"{path}.allowance", currency, errors)
        charge = _money(raw.get("charge", "0"), f"{path}.charge", currency, errors)
        description = (raw.get("description") or "").strip()
        if not description:
            errors.add(f"{path}.description", "must not be blank", "required")
        if vat_rate is not None and vat_rate > 100:
            errors.add(f"{path}.vat_rate", "must be a percentage between 0 and 100")
        if None in (quantity, unit_price, vat_rate, allowance, charge) or not description:
            continue
        assert quantity is not None and unit_price is not None and vat_rate is not None
        assert allowance is not None and charge is not None
        line_input = calculation.LineInput(quantity, unit_price, vat_rate,
                                           raw.get("vat_category") or "S", allowance, charge)
        lines.append(InvoiceLine(
            position=index + 1, description=description, quantity=quantity,
            unit_code=raw.get("unit_code"), unit_price=unit_price, vat_rate=vat_rate,
            vat_category=line_input.vat_category, allowance=allowance, charge=charge,
            net_amount=calculation.line_net(line_input, currency)))
    return lines


def _adjustments(raw_items: list[dict[str, Any]], currency: str,
                 errors: ErrorList) -> list[InvoiceAdjustment]:
    items: list[InvoiceAdjustment] = []
    for index, raw in enumerate(raw_items or []):
        path = f"adjustments.{index}"
        amount = _money(raw.get("amount"), f"{path}.amount", currency, errors)
        vat_rate = _decimal(raw.get("vat_rate", "21"), f"{path}.vat_rate", errors, places=2,
                            minimum=Decimal(0))
        if amount is None or vat_rate is None:
            continue
        if amount <= 0:
            errors.add(f"{path}.amount", "must be positive (use is_charge to choose the sign)")
            continue
        items.append(InvoiceAdjustment(
            position=index + 1, is_charge=bool(raw.get("is_charge", False)), amount=amount,
            vat_rate=vat_rate, vat_category=raw.get("vat_category") or "S",
            reason=raw.get("reason")))
    return items


def _apply_totals(invoice: Invoice) -> calculation.Totals:
    totals = calculation.compute_totals(
        [calculation.LineInput(line.quantity, line.unit_price, line.vat_rate, line.vat_category,
                               line.allowance, line.charge) for line in invoice.lines],
        [calculation.AllowanceCharge(a.is_charge, a.amount, a.vat_rate, a.vat_category, a.reason)
         for a in invoice.adjustments],
        currency=invoice.currency,
    )
    for line, net in zip(invoice.lines, totals.line_nets, strict=True):
        line.net_amount = net
    invoice.net_total, invoice.vat_total = totals.net, totals.vat
    invoice.gross_total = totals.gross
    invoice.outstanding = totals.gross - invoice.amount_paid - invoice.amount_credited
    return totals


def _apply_conversion(session: Session, invoice: Invoice) -> None:
    conversion = rates.convert(session=session, amount=invoice.gross_total,
                               source=invoice.currency, target=invoice.base_currency,
                               on=invoice.issue_date, field="currency")
    invoice.gross_total_base = conversion.amount
    invoice.exchange_rate = conversion.rate
    invoice.exchange_rate_date = conversion.rate_date


def _payment_reference(
    raw: str | None, direction: str, errors: ErrorList
) -> tuple[str | None, bool]:
    """A structured communication (+++…+++ or 12 digits) is validated and stored as 12 digits;
    other text is kept as a free reference. Invalid check digits are an error, not free text."""
    if raw is None or not str(raw).strip():
        return None, False
    text_value = str(raw).strip()
    if _looks_structured(text_value):
        try:
            return ogm.normalise(text_value), True
        except ogm.InvalidOgm as exc:
            errors.add("payment_reference", str(exc), "invalid_ogm")
            return None, False
    if len(text_value) > 140:
        errors.add("payment_reference", "at most 140 characters")
    return text_value, False


_OGM_SHAPE = re.compile(r"^(\+{3}|\*{3})?[\d/ .]+(\+{3}|\*{3})?$")


def _looks_structured(value: str) -> bool:
    """+++…+++ / ***…*** or digits with separators adding up to 12: meant as an OGM."""
    digits = sum(ch.isdigit() for ch in value)
    return bool(_OGM_SHAPE.match(value)) and (value.startswith(("+++", "***")) or digits == 12)


def _new_ogm(session: Session) -> str:
    for _ in range(20):
        candidate = ogm.from_base(secrets.randbelow(10**10))
        taken = session.execute(select(Invoice.id).where(
            Invoice.payment_reference == candidate, Invoice.direction == "receivable",
            Invoice.payment_reference_structured.is_(True))).first()
        if taken is None:
            return candidate
    raise Conflict("could not find a free structured communication; retry")


def _next_number(session: Session, issue_date: date, kind: str) -> str:
    """INV-<year>-<n> (CN-<year>-<n> for credit notes): serialised per tenant with a
    transaction-scoped advisory lock; the longest, then greatest, number is the last one,
    so the sequence survives INV-2026-99999 → INV-2026-100000."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended("
                         "current_setting('app.tenant_id') || :name, 0))"),
                    {"name": "/invoice-number"})
    prefix = f"{'CN' if kind == 'credit_note' else 'INV'}-{issue_date.year}-"
    last = session.execute(
        select(Invoice.number).where(Invoice.direction == "receivable",
                                     Invoice.number.like(prefix + "%"))
        .order_by(func.length(Invoice.number).desc(), Invoice.number.desc()).limit(1)
    ).scalar_one_or_none()
    tail = last.removeprefix(prefix) if last else ""
    sequence = int(tail) + 1 if tail.isdigit() else 1
    return f"{prefix}{sequence:05d}"


def _contact(session: Session, contact_id: Any, errors: ErrorList,
             keep: uuid.UUID | None = None) -> Contact | None:
    """A live contact, or `keep` (an invoice's own contact, even if deleted since)."""
    try:
        contact_uuid = uuid.UUID(str(contact_id))
    except (ValueError, TypeError):
        errors.add("contact_id", "must be a contact id", "required")
        return None
    contact = session.execute(select(Contact).where(
        Contact.id == contact_uuid, or_(Contact.deleted_at.is_(None), Contact.id == keep))
    ).scalar_one_or_none()
    if contact is None:
        errors.add("contact_id", f"no contact {contact_uuid}", "not_found")
    return contact


# ------------------------------------------------------------------ views

@dataclass(frozen=True)
class InvoiceView:
    """An invoice with what depends on the tenant and today: urgency and overdue."""

    invoice: Invoice
    contact_name: str
    urgency: rules.Urgency | None
    urgency_source: str | None
    overdue: bool


def _view(session: Session, actor: Actor, invoice: Invoice) -> InvoiceView:
    with transaction(session):
        context = tenant_context(session, actor.tenant_id)
        name = session.execute(select(Contact.name).where(Contact.id == invoice.contact_id)
                               ).scalar_one()
    urgency = urgency_of(invoice, context)
    source = None if urgency is None else ("manual" if invoice.manual_urgency else "computed")
    return InvoiceView(invoice=invoice, contact_name=name, urgency=urgency,
                       urgency_source=source,
                       overdue=rules.is_overdue(invoice.status, invoice.due_date, context.today))


def list_invoices(
    *, session: Session, actor: Actor, filters: queries.InvoiceFilters,
    limit: int | None = None, starting_after: uuid.UUID | None = None,
) -> Page[RowMapping]:
    """A page of invoice rows (not ORM objects): the list path stays one SQL statement."""
    require(actor, Permission.FINANCE_READ)
    limit = check_limit(limit)
    if filters.status is not None and filters.status not in queries.STATUSES:
        raise Invalid.field("status", f"one of {', '.join(queries.STATUSES)}")
    with transaction(session):
        context = tenant_context(session, actor.tenant_id)
        rows = queries.list_rows(session, filters=filters, today=context.today,
                                 thresholds=context.thresholds, limit=limit,
                                 starting_after=starting_after)
    return page_of(rows, limit)


def list_invoice_summaries(
    *, session: Session, actor: Actor, filters: queries.InvoiceFilters,
    limit: int | None = None, starting_after: uuid.UUID | None = None,
) -> Page[dict[str, Any]]:
    """The same page as list_invoices, each row already the REST representation: the fast
    path of GET /api/v1/invoices (one statement, text columns, no ORM objects)."""
    require(actor, Permission.FINANCE_READ)
    limit = check_limit(limit)
    if filters.status is not None and filters.status not in queries.STATUSES:
        raise Invalid.field("status", f"one of {', '.join(queries.STATUSES)}")
    with transaction(session):
        context = tenant_context(session, actor.tenant_id)
        rows = queries.list_text_rows(session, filters=filters, today=context.today,
                                      thresholds=context.thresholds, limit=limit,
                                      starting_after=starting_after)
    return page_of([presenters.summary_from_text(row) for row in rows], limit)


# ------------------------------------------------------------------ state for audit

def state(invoice: Invoice) -> dict[str, Any]:
    return {
        "direction": invoice.direction, "kind": invoice.kind, "number": invoice.number,
        "contact_id": invoice.contact_id, "issue_date": invoice.issue_date,
        "due_date": invoice.due_date, "currency": invoice.currency, "status": invoice.status,
        "payment_reference": invoice.payment_reference, "net_total": invoice.net_total,
        "vat_total": invoice.vat_total, "gross_total": invoice.gross_total,
        "amount_paid": invoice.amount_paid, "amount_credited": invoice.amount_credited,
        "outstanding": invoice.outstanding, "manual_urgency": invoice.manual_urgency,
        "notes": invoice.notes, "lines": len(invoice.lines),
    }


# ------------------------------------------------------------------ use cases

def create_invoice(*, session: Session, actor: Actor, data: dict[str, Any]) -> InvoiceView:
    """A draft invoice (or an open one with `open=true`)."""
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        context = tenant_context(session, actor.tenant_id)
        invoice = _build(session, data, context)
        session.add(invoice)
        _flush_unique(session)
        audit.record(session, actor=actor, action="invoice.created", entity_type="invoice",
                     entity_id=invoice.id, after=state(invoice))
        _emit(session, actor, "invoice.created", invoice)
        if data.get("open"):
            _open(session, actor, invoice)
    return _view(session, actor, invoice)


def _build(session: Session, data: dict[str, Any], context: TenantContext,
           keep_contact: uuid.UUID | None = None, convert: bool = True) -> Invoice:
    errors = ErrorList()
    direction = data.get("direction")
    if direction not in DIRECTIONS:
        errors.add("direction", "must be receivable or payable", "required")
    kind = data.get("kind") or "invoice"
    if kind not in ("invoice", "credit_note"):
        errors.add("kind", "must be invoice or credit_note")
    try:
        currency = validate_currency(data.get("currency") or context.base_currency)
    except MoneyError as exc:
        errors.add("currency", str(exc))
        currency = context.base_currency
    issue_date: date = data.get("issue_date") or context.today
    due_date: date = data.get("due_date") or issue_date + DEFAULT_PAYMENT_TERM
    if due_date < issue_date:
        errors.add("due_date", "must not be before issue_date")
    contact = _contact(session, data.get("contact_id"), errors, keep_contact)
    reference, structured = _payment_reference(data.get("payment_reference"), str(direction),
                                               errors)
    lines = _lines(data.get("lines") or [], currency, errors)
    adjustments = _adjustments(data.get("adjustments") or [], currency, errors)
    number = (data.get("number") or "").strip()
    if not number and direction == "payable":
        errors.add("number", "the supplier's invoice number is required", "required")
    corrects = _corrected(session, data.get("corrects_invoice_id"), direction, errors)
    errors.raise_if_any()
    assert contact is not None
    invoice = Invoice(
        direction=direction, kind=kind, contact_id=contact.id, issue_date=issue_date,
        due_date=due_date, currency=currency, status=rules.Status.DRAFT.value,
        base_currency=context.base_currency, payment_reference=reference,
        payment_reference_structured=structured, payment_iban=data.get("payment_iban"),
        payment_bic=data.get("payment_bic"), notes=data.get("notes"),
        source=data.get("source") or "manual", external_ids=data.get("external_ids") or {},
        document_sha256=data.get("document_sha256"),
        corrects_invoice_id=corrects.id if corrects else None,
        number=number or _next_number(session, issue_date, kind),
        amount_paid=Decimal(0), amount_credited=Decimal(0),
    )
    invoice.lines = lines
    invoice.adjustments = adjustments
    if (direction == "receivable" and kind == "invoice" and reference is None
            and data.get("generate_reference", True)):
        invoice.payment_reference, invoice.payment_reference_structured = _new_ogm(session), True
    _apply_totals(invoice)
    if convert:
        _apply_conversion(session, invoice)
    return invoice


def _corrected(session: Session, raw_id: Any, direction: Any, errors: ErrorList) -> Invoice | None:
    if raw_id is None:
        return None
    try:
        corrected_id = uuid.UUID(str(raw_id))
    except ValueError:
        errors.add("corrects_invoice_id", "must be an invoice id")
        return None
    corrected = session.execute(select(Invoice).where(
        Invoice.id == corrected_id, Invoice.deleted_at.is_(None))).scalar_one_or_none()
    if corrected is None:
        errors.add("corrects_invoice_id", f"no invoice {corrected_id}", "not_found")
    elif corrected.direction != direction or corrected.kind != "invoice":
        errors.add("corrects_invoice_id", "a credit note corrects an invoice of its direction")
    return corrected


def _flush_unique(session: Session) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", "") or ""
        if "number" in constraint:
            raise Conflict("an invoice with this number already exists",
                           errors=[], extra={"field": "number"}) from None
        if "ogm" in constraint:
            raise Conflict("another receivable already uses this payment reference",
                           extra={"field": "payment_reference"}) from None
        if "document" in constraint:
            raise Conflict("this document was already imported", extra={"field": "file"}) from None
        raise


def get_invoice(*, session: Session, actor: Actor, invoice_id: uuid.UUID) -> InvoiceView:
    require(actor, Permission.FINANCE_READ)
    with transaction(session):
        return _view(session, actor, _get(session, invoice_id))


def _get(session: Session, invoice_id: uuid.UUID, *, for_update: bool = False) -> Invoice:
    query = select(Invoice).where(Invoice.id == invoice_id, Invoice.deleted_at.is_(None))
    if for_update:
        query = query.with_for_update()
    invoice = session.execute(query).scalar_one_or_none()
    if invoice is None:
        raise NotFound(f"no invoice {invoice_id}")
    return invoice


def update_invoice(
    *, session: Session, actor: Actor, invoice_id: uuid.UUID, changes: dict[str, Any],
    expected_version: int | None = None,
) -> InvoiceView:
    """Drafts change freely; open invoices only in rules.EDITABLE_WHEN_OPEN."""
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        invoice = _get(session, invoice_id, for_update=True)
        check_version("invoice", invoice.version, expected_version)
        before = state(invoice)
        status = rules.Status(invoice.status)
        if status is not rules.Status.DRAFT:
            locked = sorted(set(changes) - rules.EDITABLE_WHEN_OPEN)
            if status in (rules.Status.PAID, rules.Status.CANCELLED) or locked:
                raise Conflict(
                    f"the invoice is {status.value}: only "
                    f"{', '.join(sorted(rules.EDITABLE_WHEN_OPEN))} may change"
                    + (f" (not {', '.join(locked)})" if locked else ""),
                    errors=[], extra={"field": locked[0] if locked else None})
        context = tenant_context(session, actor.tenant_id)
        merged = {**_as_input(invoice), **changes}
        # An issued invoice keeps the base-currency value it was issued with, whatever
        # rates were imported since; a draft is valued again.
        draft = status is rules.Status.DRAFT
        rebuilt = _build(session, {**merged, "number": merged.get("number") or invoice.number},
                         context, keep_contact=invoice.contact_id, convert=draft)
        keys = ["direction", "kind", "number", "contact_id", "issue_date", "due_date",
                "currency", "payment_reference", "payment_reference_structured",
                "payment_iban", "payment_bic", "notes", "corrects_invoice_id",
                "net_total", "vat_total", "gross_total", "outstanding"]
        if draft:
            keys += ["base_currency", "gross_total_base", "exchange_rate", "exchange_rate_date"]
        for key in keys:
            setattr(invoice, key, getattr(rebuilt, key))
        if "lines" in changes:
            invoice.lines = rebuilt.lines
        if "adjustments" in changes:
            invoice.adjustments = rebuilt.adjustments
        _apply_totals(invoice)
        invoice.updated_at = utcnow()
        _flush_unique(session)
        audit.record(session, actor=actor, action="invoice.updated", entity_type="invoice",
                     entity_id=invoice.id, before=before, after=state(invoice))
        _emit(session, actor, "invoice.updated", invoice)
    return _view(session, actor, invoice)


def _as_input(invoice: Invoice) -> dict[str, Any]:
    return {
        "direction": invoice.direction, "kind": invoice.kind, "number": invoice.number,
        "contact_id": invoice.contact_id, "issue_date": invoice.issue_date,
        "due_date": invoice.due_date, "currency": invoice.currency,
        "payment_reference": invoice.payment_reference, "payment_iban": invoice.payment_iban,
        "payment_bic": invoice.payment_bic, "notes": invoice.notes,
        "corrects_invoice_id": invoice.corrects_invoice_id, "source": invoice.source,
        "external_ids": invoice.external_ids,
        "lines": [{"description": line.description, "quantity": str(line.quantity),
                   "unit_price": str(line.unit_price), "vat_rate": str(line.vat_rate),
                   "vat_category": line.vat_category, "unit_code": line.unit_code,
                   "allowance": str(line.allowance), "charge": str(line.charge)}
                  for line in invoice.lines],
        "adjustments": [{"is_charge": a.is_charge, "amount": str(a.amount),
                         "vat_rate": str(a.vat_rate), "vat_category": a.vat_category,
                         "reason": a.reason} for a in invoice.adjustments],
    }


def open_invoice(*, session: Session, actor: Actor, invoice_id: uuid.UUID,
                 expected_version: int | None = None) -> InvoiceView:
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        invoice = _get(session, invoice_id, for_update=True)
        check_version("invoice", invoice.version, expected_version)
        _open(session, actor, invoice)
    return _view(session, actor, invoice)


def _open(session: Session, actor: Actor, invoice: Invoice) -> None:
    if not rules.can_open(invoice.status):
        raise Conflict(f"only a draft can be opened; this invoice is {invoice.status}")
    before = state(invoice)
    invoice.status = rules.Status.OPEN.value
    invoice.opened_at = utcnow()
    invoice.updated_at = utcnow()
    if invoice.kind == "credit_note" and invoice.corrects_invoice_id is not None:
        _apply_credit_note(session, actor, invoice)
    session.flush()
    audit.record(session, actor=actor, action="invoice.opened", entity_type="invoice",
                 entity_id=invoice.id, before=before, after=state(invoice))
    _emit(session, actor, "invoice.opened", invoice)


def _apply_credit_note(session: Session, actor: Actor, credit_note: Invoice) -> None:
    """An opened credit note reduces what is owed on the invoice it corrects."""
    corrected = _get(session, credit_note.corrects_invoice_id, for_update=True)  # type: ignore[arg-type]
    if corrected.currency != credit_note.currency:
        raise Conflict("a credit note must be in the currency of the invoice it corrects")
    if rules.Status(corrected.status) not in rules.UNSETTLED:
        raise Conflict(f"the corrected invoice is {corrected.status}: nothing left to credit")
    amount = min(credit_note.gross_total, corrected.outstanding)
    if amount <= 0:
        return
    before = state(corrected)
    session.add(InvoicePayment(invoice_id=corrected.id, kind="credit_note", amount=amount,
                               currency=corrected.currency, paid_on=credit_note.issue_date,
                               credit_note_id=credit_note.id, reference=credit_note.number))
    corrected.amount_credited += amount
    _settle(corrected)
    credit_note.amount_paid += amount  # the credit note is settled by the offset
    _settle(credit_note)
    audit.record(session, actor=actor, action="invoice.credited", entity_type="invoice",
                 entity_id=corrected.id, before=before, after=state(corrected))
    _emit(session, actor, _paid_or_updated(corrected), corrected)


def _settle(invoice: Invoice) -> None:
    settled = invoice.amount_paid + invoice.amount_credited
    invoice.outstanding = invoice.gross_total - settled
    status = rules.settled_status(invoice.gross_total, settled)
    invoice.status = status.value
    invoice.paid_at = utcnow() if status is rules.Status.PAID else None
    invoice.updated_at = utcnow()


def record_payment(
    *, session: Session, actor: Actor, invoice_id: uuid.UUID, amount: Any, paid_on: date,
    reference: str | None = None, note: str | None = None, kind: str = "manual",
    expected_version: int | None = None,
) -> InvoiceView:
    """Record money received (receivable) or paid (payable) against an open invoice.
    Overpayment is refused: what remains stays outstanding, never negative."""
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        invoice = _get(session, invoice_id, for_update=True)
        check_version("invoice", invoice.version, expected_version)
        if not rules.can_record_payment(invoice.status):
            raise Conflict(f"payments apply to open invoices; this one is {invoice.status}")
        errors = ErrorList()
        value = _money(amount, "amount", invoice.currency, errors)
        errors.raise_if_any()
        assert value is not None
        if value <= 0:
            raise Invalid.field("amount", "must be positive")
        if value > invoice.outstanding:
            raise Invalid.field("amount", f"exceeds what is outstanding "
                                          f"({invoice.outstanding} {invoice.currency})",
                                code="overpayment")
        before = state(invoice)
        session.add(InvoicePayment(invoice_id=invoice.id, kind=kind, amount=value,
                                   currency=invoice.currency, paid_on=paid_on,
                                   reference=reference, note=note))
        invoice.amount_paid += value
        _settle(invoice)
        session.flush()
        audit.record(session, actor=actor, action="invoice.payment_recorded",
                     entity_type="invoice", entity_id=invoice.id, before=before,
                     after=state(invoice))
        _emit(session, actor, _paid_or_updated(invoice), invoice)
    return _view(session, actor, invoice)


def cancel_invoice(*, session: Session, actor: Actor, invoice_id: uuid.UUID,
                   expected_version: int | None = None) -> InvoiceView:
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        invoice = _get(session, invoice_id, for_update=True)
        check_version("invoice", invoice.version, expected_version)
        if not rules.can_cancel(invoice.status, invoice.amount_paid + invoice.amount_credited):
            raise Conflict(f"only a draft, or an open invoice with nothing paid, can be "
                           f"cancelled; this one is {invoice.status}")
        before = state(invoice)
        invoice.status = rules.Status.CANCELLED.value
        invoice.cancelled_at = utcnow()
        invoice.updated_at = utcnow()
        session.flush()
        audit.record(session, actor=actor, action="invoice.cancelled", entity_type="invoice",
                     entity_id=invoice.id, before=before, after=state(invoice))
        _emit(session, actor, "invoice.cancelled", invoice)
    return _view(session, actor, invoice)


def set_urgency(*, session: Session, actor: Actor, invoice_id: uuid.UUID,
                urgency: int | None, expected_version: int | None = None) -> InvoiceView:
    """Set (1-5) or clear (None) the manual urgency that overrides the computed one."""
    require(actor, Permission.FINANCE_WRITE)
    if urgency is not None and urgency not in {u.value for u in rules.Urgency}:
        raise Invalid.field("urgency", "must be 1 (overdue) to 5 (low), or null to clear")
    with transaction(session):
        invoice = _get(session, invoice_id, for_update=True)
        check_version("invoice", invoice.version, expected_version)
        if rules.Status(invoice.status) in (rules.Status.PAID, rules.Status.CANCELLED):
            raise Conflict(f"a {invoice.status} invoice has no urgency")
        before = state(invoice)
        invoice.manual_urgency = urgency
        invoice.updated_at = utcnow()
        session.flush()
        audit.record(session, actor=actor, action="invoice.urgency_set", entity_type="invoice",
                     entity_id=invoice.id, before=before, after=state(invoice))
        _emit(session, actor, "invoice.updated", invoice)
    return _view(session, actor, invoice)


def delete_invoice(*, session: Session, actor: Actor, invoice_id: uuid.UUID,
                   expected_version: int | None = None) -> None:
    """Soft delete: drafts and cancelled invoices only (an issued invoice is a record)."""
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        invoice = _get(session, invoice_id, for_update=True)
        check_version("invoice", invoice.version, expected_version)
        if rules.Status(invoice.status) not in (rules.Status.DRAFT, rules.Status.CANCELLED):
            raise Conflict(f"a {invoice.status} invoice cannot be deleted: cancel it first "
                           "(only when nothing was paid) or issue a credit note")
        before = state(invoice)
        invoice.deleted_at = utcnow()
        session.flush()
        audit.record(session, actor=actor, action="invoice.deleted", entity_type="invoice",
                     entity_id=invoice.id, before=before)
        _emit(session, actor, "invoice.deleted", invoice)


def view_of(session: Session, actor: Actor, invoice: Invoice) -> InvoiceView:
    """The view of an invoice already loaded in the caller's transaction (imports)."""
    return _view(session, actor, invoice)


def _emit(session: Session, actor: Actor, event_type: str, invoice: Invoice) -> None:
    """The event, in this transaction, with the invoice as GET shows it now."""
    session.flush()
    events.emit(session=session, type=event_type, object_id=invoice.id,
                obj=event_objects.invoice(_view(session, actor, invoice)))


def _paid_or_updated(invoice: Invoice) -> str:
    return "invoice.paid" if invoice.status == rules.Status.PAID.value else "invoice.updated"


def load_invoice(session: Session, invoice_id: uuid.UUID) -> Invoice:
    """Load for a caller that runs its own transaction; NotFound like any other read."""
    return _get(session, invoice_id)


def settle(invoice: Invoice) -> None:
    """Recompute outstanding and status after a payment or credit was added."""
    _settle(invoice)


def announce(session: Session, actor: Actor, invoice: Invoice,
             event_type: str | None = None) -> None:
    """The invoice's event in the caller's transaction: `event_type`, or invoice.paid when
    it is now paid and invoice.updated otherwise."""
    _emit(session, actor, event_type or _paid_or_updated(invoice), invoice)


def urgency_of(invoice: Invoice, context: TenantContext) -> rules.Urgency | None:
    return rules.effective_urgency(invoice.status, invoice.due_date, context.today,
                                   context.thresholds, invoice.manual_urgency)


def currency_places(currency: str) -> int:
    return minor_units(currency)
