"""Reads that feed lists: one SQL statement returning rows, with urgency and overdue
computed in PostgreSQL from the tenant's thresholds, so a page never costs a query per row
and never builds ORM objects."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql.psycopg2 import dialect as psycopg2_dialect
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from smbfinance.concurrency import contains_pattern
from smbfinance.contacts.models import Contact
from smbfinance.errors import Invalid, NotFound
from smbfinance.invoices.models import Invoice, InvoiceLine

# Core table columns, not ORM attributes: list reads skip the ORM execution layer.
I = Invoice.__table__.c  # noqa: E741  - short names keep the SQL readable
C = Contact.__table__.c

SORTS = {
    "created_at": I.created_at, "issue_date": I.issue_date,
    "due_date": I.due_date, "gross_total": I.gross_total, "number": I.number,
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


# ------------------------------------------------------------------ list statements
# One statement per request shape (which filters, which sort, first page or not), built
# once; today and the urgency bounds are bound per request. REST reads text columns through
# the driver (ADR 0013); GraphQL reads typed columns through SQLAlchemy. Same SQL otherwise.

_TODAY = bindparam("today", type_=Date())
_CRITICAL_UNTIL = bindparam("critical_until", type_=Date())
_HIGH_UNTIL = bindparam("high_until", type_=Date())
_MEDIUM_UNTIL = bindparam("medium_until", type_=Date())
# OR rather than IN: an IN list becomes an "expanding" parameter that a statement
# compiled once cannot carry.
_UNSETTLED = or_(I.status == "open", I.status == "partially_paid")

URGENCY = case(
    (or_(I.status == "paid", I.status == "cancelled"), null()),
    (I.manual_urgency.is_not(None), I.manual_urgency),
    (~_UNSETTLED, null()),
    (I.due_date < _TODAY, literal(1)),
    (I.due_date <= _CRITICAL_UNTIL, literal(2)),
    (I.due_date <= _HIGH_UNTIL, literal(3)),
    (I.due_date <= _MEDIUM_UNTIL, literal(4)),
    else_=literal(5),
)
OVERDUE = and_(_UNSETTLED, I.due_date < _TODAY)


def urgency_params(today: date, thresholds: dict[str, Any]) -> dict[str, date]:
    return {
        "today": today,
        "critical_until": today + timedelta(days=int(thresholds["critical_days"])),
        "high_until": today + timedelta(days=int(thresholds["high_days"])),
        "medium_until": today + timedelta(days=int(thresholds["medium_days"])),
    }


LIST_COLUMNS = (
    I.id, I.direction, I.kind, I.number, I.status,
    I.contact_id, C.name.label("contact_name"), I.issue_date,
    I.due_date, I.currency, I.payment_reference,
    I.payment_reference_structured, I.net_total, I.vat_total,
    I.gross_total, I.amount_paid, I.amount_credited, I.outstanding,
    I.base_currency, I.gross_total_base, I.exchange_rate,
    I.manual_urgency, I.version, I.notes, I.created_at,
    I.updated_at, URGENCY.label("urgency"), OVERDUE.label("overdue"),
)
def _isoformat(column: Any) -> ColumnElement[str]:
    """What datetime.isoformat() gives for a timestamptz read in the session's time zone:
    microseconds only when there are any, the offset as ±HH:MM (zones have whole-minute
    offsets since about 1900; older local mean times would lose their seconds). Formatting
    two timestamps per row in PostgreSQL spares a list page 200 isoformat() calls."""
    whole = func.to_char(column, 'YYYY-MM-DD"T"HH24:MI:SS', type_=Text)
    offset = func.to_char(column, "TZH:TZM", type_=Text)
    return case((func.date_trunc("second", column) == column, whole + offset),
                else_=whole + func.to_char(column, ".US", type_=Text) + offset)


TEXT_COLUMNS = (
    cast(I.id, Text), I.direction, I.kind, I.number, I.status, OVERDUE, URGENCY,
    I.manual_urgency, cast(I.contact_id, Text), C.name, cast(I.issue_date, Text),
    cast(I.due_date, Text), I.currency, I.payment_reference, I.payment_reference_structured,
    cast(I.net_total, Text), cast(I.vat_total, Text), cast(I.gross_total, Text),
    cast(I.amount_paid, Text), cast(I.amount_credited, Text), cast(I.outstanding, Text),
    I.base_currency, cast(I.gross_total_base, Text), cast(I.exchange_rate, Text), I.version,
    _isoformat(I.created_at), _isoformat(I.updated_at),
)
_FROM = Invoice.__table__.join(Contact.__table__,
                               and_(C.tenant_id == I.tenant_id, C.id == I.contact_id))


_COLUMNS = {"typed": LIST_COLUMNS, "text": TEXT_COLUMNS}


def list_rows(
    session: Session, *, filters: InvoiceFilters, today: date, thresholds: dict[str, Any],
    limit: int, starting_after: uuid.UUID | None,
) -> Sequence[RowMapping]:
    """Up to limit + 1 typed rows (GraphQL; presenters.summary)."""
    values = _filter_values(filters)
    query = _list_statement("typed", frozenset(values), filters.sort, starting_after is not None)
    params = {**urgency_params(today, thresholds), **values, "row_limit": limit + 1,
              **_anchor(session, filters.sort, starting_after)}
    return session.execute(query, params).mappings().all()


def list_text_rows(
    session: Session, *, filters: InvoiceFilters, today: date, thresholds: dict[str, Any],
    limit: int, starting_after: uuid.UUID | None,
) -> Sequence[Any]:
    """Up to limit + 1 rows in TEXT_COLUMNS order (REST; presenters.summary_from_text),
    compiled once per shape and run through the driver: no statement building, cache-key
    hashing or result processing per request."""
    values = _filter_values(filters)
    sql, defaults = _compiled_list(frozenset(values), filters.sort, starting_after is not None)
    params = {**defaults, **urgency_params(today, thresholds), **values,
              "row_limit": limit + 1, **_anchor(session, filters.sort, starting_after)}
    # The driver's own cursor, in the session's (tenant-scoped) transaction: tuples as
    # psycopg2 returns them, without a result object describing 27 columns per request.
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.fetchall()
    finally:
        cursor.close()


def _sort_key(sort: str) -> ColumnElement[Any]:
    key = SORTS.get(sort.lstrip("-"))
    if key is None:
        raise Invalid.field("sort", f"one of {', '.join(sorted(SORTS))}, optionally with '-'")
    return key


def _anchor(session: Session, sort: str, starting_after: uuid.UUID | None) -> dict[str, Any]:
    """The sort position of the invoice a page starts after (none for a first page)."""
    if starting_after is None:
        return {}
    anchor = session.execute(select(_sort_key(sort), I.id).where(
        I.id == starting_after, I.deleted_at.is_(None))).one_or_none()
    if anchor is None:
        raise NotFound(f"starting_after: no invoice {starting_after}")
    return {"anchor_key": anchor[0], "anchor_id": str(anchor[1])}


def _filter_values(f: InvoiceFilters) -> dict[str, Any]:
    values: dict[str, Any] = {
        "direction": f.direction, "urgency": f.urgency,
        "contact_id": str(f.contact_id) if f.contact_id else None,
        "due_before": f.due_before, "due_after": f.due_after,
        "issued_before": f.issued_before, "issued_after": f.issued_after,
        "min_amount": f.min_amount, "max_amount": f.max_amount,
        "currency": f.currency.upper() if f.currency else None,
    }
    if f.status == "overdue":
        values["overdue"] = True
    elif f.status:
        values["status"] = f.status
    if f.q:
        text = f.q.strip()
        values["q_pattern"] = contains_pattern(text)
        values["q_digits"] = "".join(ch for ch in text if ch.isdigit())
    return {name: value for name, value in values.items() if value is not None}


@lru_cache(maxsize=1024)
def _list_statement(columns: str, active: frozenset[str], sort: str,
                    anchored: bool) -> Select[Any]:
    descending = sort.startswith("-")
    key = _sort_key(sort)
    p = {name: bindparam(name) for name in active}
    conditions: list[ColumnElement[bool]] = [I.deleted_at.is_(None)]
    simple = {"direction": I.direction, "status": I.status, "contact_id": I.contact_id,
              "currency": I.currency}
    conditions += [column == p[name] for name, column in simple.items() if name in active]
    if "overdue" in active:
        conditions.append(OVERDUE)
    if "urgency" in active:
        conditions.append(p["urgency"] == URGENCY)
    bounds = {"due_before": lambda v: I.due_date < v, "due_after": lambda v: I.due_date >= v,
              "issued_before": lambda v: I.issue_date < v,
              "issued_after": lambda v: I.issue_date >= v,
              # Amounts compare in base currency: comparable across invoice currencies.
              "min_amount": lambda v: I.gross_total_base >= v,
              "max_amount": lambda v: I.gross_total_base <= v}
    conditions += [bound(p[name]) for name, bound in bounds.items() if name in active]
    if "q_pattern" in active:
        conditions.append(or_(I.number.ilike(p["q_pattern"], escape="\\"),
                              C.name.ilike(p["q_pattern"], escape="\\"),
                              I.payment_reference == p["q_digits"]))
    order = (key, I.id)
    if anchored:
        position, anchor = tuple_(*order), tuple_(bindparam("anchor_key"), bindparam("anchor_id"))
        conditions.append(position < anchor if descending else position > anchor)
    return (select(*_COLUMNS[columns]).select_from(_FROM).where(*conditions)
            .order_by(*(c.desc() for c in order) if descending else order)
            .limit(bindparam("row_limit")))


@lru_cache(maxsize=512)
def _compiled_list(
    active: frozenset[str], sort: str, anchored: bool
) -> tuple[str, dict[str, Any]]:
    """(SQL text with %(name)s placeholders, the values of its literal parameters)."""
    compiled = _list_statement("text", active, sort, anchored).compile(dialect=_DIALECT)
    defaults = {name: value for name, value in compiled.params.items() if value is not None}
    return str(compiled), defaults


_DIALECT = psycopg2_dialect()


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
