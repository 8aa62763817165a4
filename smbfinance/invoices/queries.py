"""Reads that feed lists: one SQL statement returning rows, with urgency and overdue
computed in PostgreSQL from the tenant's thresholds, so a page never costs a query per row
and never builds ORM objects."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    func,
    literal,
    null,
    or_,
    select,
    tuple_,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from smbfinance.contacts.models import Contact
from smbfinance.errors import Invalid, NotFound
from smbfinance.invoices.models import Invoice, InvoiceLine

SORTS = {
    "created_at": Invoice.created_at, "issue_date": Invoice.issue_date,
    "due_date": Invoice.due_date, "gross_total": Invoice.gross_total, "number": Invoice.number,
}
STATUSES = ("draft", "open", "partially_paid", "paid", "cancelled", "overdue")


@dataclass(frozen=True)
class InvoiceFilters:
    direction: str | None = None
    status: str | None = None
    urgency: int | None = None
    contact_id: uuid.UUID | None = None
    due_before: date | None = None
    due_after: date | None = None
    issued_before: date | None = None
    issued_after: date | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    currency: str | None = None
    q: str | None = None
    sort: str = "-created_at"


def urgency_expression(today: date, thresholds: dict[str, Any]) -> ColumnElement[Any]:
    unsettled = Invoice.status.in_(("open", "partially_paid"))
    return case(
        (Invoice.status.in_(("paid", "cancelled")), null()),
        (Invoice.manual_urgency.is_not(None), Invoice.manual_urgency),
        (~unsettled, null()),
        (Invoice.due_date < today, literal(1)),
        (Invoice.due_date <= today + timedelta(days=int(thresholds["critical_days"])), literal(2)),
        (Invoice.due_date <= today + timedelta(days=int(thresholds["high_days"])), literal(3)),
        (Invoice.due_date <= today + timedelta(days=int(thresholds["medium_days"])), literal(4)),
        else_=literal(5),
    )


def overdue_expression(today: date) -> ColumnElement[bool]:
    return and_(Invoice.status.in_(("open", "partially_paid")), Invoice.due_date < today)


LIST_COLUMNS = (
    Invoice.id, Invoice.direction, Invoice.kind, Invoice.number, Invoice.status,
    Invoice.contact_id, Contact.name.label("contact_name"), Invoice.issue_date,
    Invoice.due_date, Invoice.currency, Invoice.payment_reference,
    Invoice.payment_reference_structured, Invoice.net_total, Invoice.vat_total,
    Invoice.gross_total, Invoice.amount_paid, Invoice.amount_credited, Invoice.outstanding,
    Invoice.base_currency, Invoice.gross_total_base, Invoice.exchange_rate,
    Invoice.manual_urgency, Invoice.version, Invoice.created_at, Invoice.updated_at,
)


def list_rows(
    session: Session, *, filters: InvoiceFilters, today: date, thresholds: dict[str, Any],
    limit: int, starting_after: uuid.UUID | None,
) -> Sequence[RowMapping]:
    urgency = urgency_expression(today, thresholds).label("urgency")
    overdue = overdue_expression(today).label("overdue")
    query: Select[Any] = (
        select(*LIST_COLUMNS, urgency, overdue)
        .join(Contact, and_(Contact.tenant_id == Invoice.tenant_id,
                            Contact.id == Invoice.contact_id))
        .where(Invoice.deleted_at.is_(None))
    )
    query = _filtered(query, filters, today, thresholds)
    descending = filters.sort.startswith("-")
    key = SORTS.get(filters.sort.lstrip("-"))
    if key is None:
        raise Invalid.field("sort", f"one of {', '.join(sorted(SORTS))}, optionally with '-'")
    order = (key, Invoice.id)
    if starting_after is not None:
        anchor = session.execute(select(key, Invoice.id).where(
            Invoice.id == starting_after, Invoice.deleted_at.is_(None))).one_or_none()
        if anchor is None:
            raise NotFound(f"starting_after: no invoice {starting_after}")
        position = tuple_(*order)
        query = query.where(position < tuple_(*anchor) if descending
                            else position > tuple_(*anchor))
    query = query.order_by(*(c.desc() for c in order) if descending else order)
    return session.execute(query.limit(limit + 1)).mappings().all()


def _filtered(query: Select[Any], f: InvoiceFilters, today: date,
              thresholds: dict[str, Any]) -> Select[Any]:
    if f.direction:
        query = query.where(Invoice.direction == f.direction)
    if f.status == "overdue":
        query = query.where(overdue_expression(today))
    elif f.status:
        query = query.where(Invoice.status == f.status)
    if f.urgency is not None:
        query = query.where(urgency_expression(today, thresholds) == f.urgency)
    if f.contact_id:
        query = query.where(Invoice.contact_id == f.contact_id)
    bounds = ((f.due_before, Invoice.due_date, "<"), (f.due_after, Invoice.due_date, ">="),
              (f.issued_before, Invoice.issue_date, "<"),
              (f.issued_after, Invoice.issue_date, ">="),
              (f.min_amount, Invoice.gross_total, ">="),
              (f.max_amount, Invoice.gross_total, "<="))
    for value, column, op in bounds:
        if value is not None:
            query = query.where(column < value if op == "<" else column >= value if op == ">="
                                else column <= value)
    if f.currency:
        query = query.where(Invoice.currency == f.currency.upper())
    if f.q:
        text = f.q.strip()
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        digits = "".join(ch for ch in text if ch.isdigit())
        query = query.where(or_(Invoice.number.ilike(pattern, escape="\\"),
                                Contact.name.ilike(pattern, escape="\\"),
                                Invoice.payment_reference == digits))
    return query


def lines_for(
    session: Session, invoice_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[InvoiceLine]]:
    """Lines of many invoices in one statement (GraphQL DataLoader)."""
    result: dict[uuid.UUID, list[InvoiceLine]] = {invoice_id: [] for invoice_id in invoice_ids}
    if not invoice_ids:
        return result
    rows = session.execute(select(InvoiceLine).where(InvoiceLine.invoice_id.in_(invoice_ids))
                           .order_by(InvoiceLine.invoice_id, InvoiceLine.position)).scalars()
    for line in rows:
        result[line.invoice_id].append(line)
    return result


def count_by(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(Invoice)).scalar_one())
