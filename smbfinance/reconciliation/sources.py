"""What the engine reads, straight from PostgreSQL as plain values (no ORM objects): the
tenant's open invoices with their contacts' IBANs, and the booked transactions that still
have money to allocate. Runs inside the caller's tenant-scoped transaction."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Iterator
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from smbfinance.contacts.models import Contact, ContactIban
from smbfinance.invoices.models import Invoice
from smbfinance.reconciliation.model import OpenInvoice, Payment
from smbfinance.reconciliation.models import Match
from smbfinance.transactions.models import BankTransaction

UNSETTLED = ("open", "partially_paid")


def open_invoices(session: Session) -> list[OpenInvoice]:
    ibans = (select(func.coalesce(
        func.array_agg(aggregate_order_by(ContactIban.iban, ContactIban.iban)),
        literal_column("'{}'::varchar[]")))
        .where(ContactIban.contact_id == Invoice.contact_id).scalar_subquery())
    rows = session.execute(
        select(Invoice.id, Invoice.direction, Invoice.number, Invoice.contact_id,
               Contact.name, ibans.label("ibans"), Invoice.currency, Invoice.outstanding,
               Invoice.gross_total, Invoice.due_date, Invoice.payment_reference,
               Invoice.payment_reference_structured)
        .join(Contact, Contact.id == Invoice.contact_id)
        .where(Invoice.status.in_(UNSETTLED), Invoice.kind == "invoice",
               Invoice.deleted_at.is_(None), Invoice.outstanding > 0)).all()
    return [OpenInvoice(id=r.id, direction=r.direction, number=r.number,
                        contact_id=r.contact_id, contact_name=r.name,
                        contact_ibans=frozenset(r.ibans), currency=r.currency,
                        outstanding=r.outstanding, gross=r.gross_total, due_date=r.due_date,
                        payment_reference=r.payment_reference,
                        structured=r.payment_reference_structured)
            for r in rows]


def unallocated_payments(session: Session, *, where: ColumnElement[bool] | None = None,
                         lock: bool = False, currencies: Collection[str] | None = None,
                         after: uuid.UUID | None = None, limit: int | None = None,
                         ) -> list[Payment]:
    """Booked transactions with money left to allocate, in id order, optionally narrowed
    by `where`, by currency, and to one page (`after`, `limit`); `lock` takes them FOR
    UPDATE (id order is the order every reconciliation locks in)."""
    unallocated = func.abs(BankTransaction.amount) - BankTransaction.matched_amount
    query = (select(BankTransaction.id, BankTransaction.amount, BankTransaction.currency,
                    BankTransaction.booking_date, BankTransaction.counterparty_name,
                    BankTransaction.counterparty_iban, BankTransaction.remittance,
                    BankTransaction.structured_reference, unallocated.label("unallocated"))
             .where(BankTransaction.status == "booked",
                    BankTransaction.matched_amount < func.abs(BankTransaction.amount))
             .order_by(BankTransaction.id))
    if where is not None:
        query = query.where(where)
    if currencies is not None:
        query = query.where(BankTransaction.currency.in_(list(currencies)))
    if after is not None:
        query = query.where(BankTransaction.id > after)
    if limit is not None:
        query = query.limit(limit)
    if lock:
        query = query.with_for_update(of=BankTransaction)
    rows = session.execute(query).all()
    manual_only = _undone_automatically(session, [r.id for r in rows])
    return [Payment(id=r.id, amount=r.amount, currency=r.currency, booking_date=r.booking_date,
                    counterparty_name=r.counterparty_name,
                    counterparty_iban=r.counterparty_iban, remittance=r.remittance,
                    structured_reference=r.structured_reference,
                    unallocated=Decimal(r.unallocated), auto_apply=r.id not in manual_only)
            for r in rows]


def payment_pages(session: Session, *, where: ColumnElement[bool] | None, lock: bool,
                  currencies: Collection[str], size: int) -> Iterator[list[Payment]]:
    """unallocated_payments() a page at a time, so memory follows the page, not the file."""
    after: uuid.UUID | None = None
    while True:
        page = unallocated_payments(session, where=where, lock=lock, currencies=currencies,
                                    after=after, limit=size)
        if not page:
            return
        yield page
        if len(page) < size:
            return
        after = page[-1].id


def _undone_automatically(session: Session, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Transactions a person took an automatic match away from: never matched
    automatically again (ADR 0015)."""
    wanted = list(ids)
    if not wanted:
        return set()
    return set(session.execute(select(Match.transaction_id).distinct().where(and_(
        Match.kind == "automatic", Match.status == "undone",
        Match.transaction_id.in_(wanted)))).scalars())

