"""Reading bank accounts and transactions. (Imports: import_service.py.)"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, or_, select, tuple_
from sqlalchemy.orm import Session

from smbfinance import events
from smbfinance.audit import service as audit
from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.categorisation import service as categorisation
from smbfinance.concurrency import check_version, contains_pattern
from smbfinance.contacts import service as contacts
from smbfinance.db import transaction, utcnow
from smbfinance.errors import ErrorList, NotFound
from smbfinance.events import objects as event_objects
from smbfinance.pagination import Page, check_limit, page_of
from smbfinance.transactions.models import BankAccount, BankTransaction

# What a person may change on a transaction; everything else is the bank's fact.
EDITABLE = ("category_id", "contact_id", "notes", "ignore_for_forecast")
# Changing one of these by hand takes the transaction out of the rules' hands.
CATEGORISATION = ("category_id", "contact_id", "ignore_for_forecast")


def list_accounts(*, session: Session, actor: Actor) -> Page[BankAccount]:
    require(actor, Permission.FINANCE_READ)
    with transaction(session):
        rows = session.execute(select(BankAccount).where(BankAccount.deleted_at.is_(None))
                               .order_by(BankAccount.created_at, BankAccount.id)).scalars().all()
    return Page(items=list(rows), has_more=False)


def get_account(*, session: Session, actor: Actor, account_id: uuid.UUID) -> BankAccount:
    require(actor, Permission.FINANCE_READ)
    with transaction(session):
        account = session.execute(select(BankAccount).where(
            BankAccount.id == account_id, BankAccount.deleted_at.is_(None))).scalar_one_or_none()
    if account is None:
        raise NotFound(f"no bank account {account_id}")
    return account


@dataclass(frozen=True)
class TransactionFilters:
    """What `GET /transactions` (and the GraphQL connection) can narrow by. Amount bounds
    apply to the absolute amount (a 40.00 payment out is between 10 and 50); `matched`
    true means at least part of the amount is allocated to invoices."""

    bank_account_id: uuid.UUID | None = None
    booked_after: date | None = None
    booked_before: date | None = None
    direction: str | None = None
    status: str | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    category_id: uuid.UUID | None = None
    matched: bool | None = None
    contact_id: uuid.UUID | None = None
    q: str | None = None
    # What one bulk write created or changed (ADR 0036): a statement import, a sync run.
    import_id: uuid.UUID | None = None
    sync_log_id: uuid.UUID | None = None


# The texts `q` searches: what a person remembers of a movement.
_SEARCHED = (BankTransaction.counterparty_name, BankTransaction.remittance,
             BankTransaction.structured_reference, BankTransaction.bank_reference,
             BankTransaction.notes)


def _filtered(f: TransactionFilters) -> Select[tuple[BankTransaction]]:
    T = BankTransaction  # noqa: N806 - a table alias reads better in long conditions
    query: Select[tuple[BankTransaction]] = select(T)
    equal = {T.bank_account_id: f.bank_account_id, T.status: f.status,
             T.category_id: f.category_id, T.contact_id: f.contact_id,
             T.import_batch_id: f.import_id, T.sync_log_id: f.sync_log_id}
    for column, value in equal.items():
        if value is not None:
            query = query.where(column == value)
    if f.booked_after:
        query = query.where(T.booking_date >= f.booked_after)
    if f.booked_before:
        query = query.where(T.booking_date < f.booked_before)
    if f.direction:
        query = query.where(T.amount > 0 if f.direction == "in" else T.amount < 0)
    if f.min_amount is not None:
        query = query.where(func.abs(T.amount) >= f.min_amount)
    if f.max_amount is not None:
        query = query.where(func.abs(T.amount) <= f.max_amount)
    if f.matched is not None:
        query = query.where(T.matched_amount > 0 if f.matched else T.matched_amount == 0)
    text = (f.q or "").strip()
    if text:
        pattern = contains_pattern(text)
        query = query.where(or_(*(column.ilike(pattern, escape="\\") for column in _SEARCHED)))
    return query


def list_transactions(
    *, session: Session, actor: Actor, filters: TransactionFilters | None = None,
    limit: int | None = None, starting_after: uuid.UUID | None = None, **by: Any,
) -> Page[BankTransaction]:
    """Newest booking date first, then id (stable for cursors). Filters come as
    `filters=` or as keyword arguments of the same names."""
    require(actor, Permission.FINANCE_READ)
    limit = check_limit(limit)
    query = _filtered(filters or TransactionFilters(**by))
    order = (BankTransaction.booking_date, BankTransaction.id)
    with transaction(session):
        if starting_after is not None:
            anchor = session.execute(select(*order).where(
                BankTransaction.id == starting_after)).one_or_none()
            if anchor is None:
                raise NotFound(f"starting_after: no transaction {starting_after}")
            query = query.where(tuple_(*order) < tuple_(*anchor))
        rows = session.execute(query.order_by(*(c.desc() for c in order))
                               .limit(limit + 1)).scalars().all()
    return page_of(list(rows), limit)


def get_transaction(*, session: Session, actor: Actor,
                    transaction_id: uuid.UUID) -> BankTransaction:
    require(actor, Permission.FINANCE_READ)
    with transaction(session):
        return _get_transaction(session, transaction_id)


def _get_transaction(session: Session, transaction_id: uuid.UUID, *,
                     for_update: bool = False) -> BankTransaction:
    query = select(BankTransaction).where(BankTransaction.id == transaction_id)
    if for_update:
        query = query.with_for_update()
    found = session.execute(query).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no transaction {transaction_id}")
    return found


def update_transaction(
    *, session: Session, actor: Actor, transaction_id: uuid.UUID, changes: dict[str, Any],
    expected_version: int | None = None,
) -> BankTransaction:
    """Change what is ours on a transaction: category, contact, notes, the forecast flag.
    The bank's facts are refused by name. Setting category, contact or the flag by hand
    marks the transaction `categorised_by = 'user'`: rules leave it alone from then on."""
    require(actor, Permission.FINANCE_WRITE)
    errors = ErrorList()
    for key in changes:
        if key not in EDITABLE:
            errors.add(key, "cannot be changed: only " + ", ".join(EDITABLE) + " can",
                       "read_only")
    if "ignore_for_forecast" in changes and not isinstance(changes["ignore_for_forecast"], bool):
        errors.add("ignore_for_forecast", "must be true or false")
    errors.raise_if_any()
    with transaction(session):
        found = _get_transaction(session, transaction_id, for_update=True)
        check_version("transaction", found.version, expected_version)
        category_id, contact_id = changes.get("category_id"), changes.get("contact_id")
        if category_id is not None and not categorisation.live_category_ids(
                session=session, actor=actor, category_ids=[category_id]):
            errors.add("category_id", f"no category {category_id}", "not_found")
        if contact_id is not None and not contacts.get_contacts(
                session=session, actor=actor, contact_ids=[contact_id]):
            errors.add("contact_id", f"no contact {contact_id}", "not_found")
        errors.raise_if_any()
        before = _editable_state(found)
        for key, value in changes.items():
            setattr(found, key, value.strip() or None if isinstance(value, str) else value)
        if any(key in CATEGORISATION for key in changes):
            found.categorised_by = "user"
        found.updated_at = utcnow()
        session.flush()
        after = _editable_state(found)
        audit.record(session, actor=actor, action="transaction.updated",
                     entity_type="transaction", entity_id=found.id, before=before,
                     after=after)
        if after != before:  # a PATCH repeating the current values tells partners nothing
            events.emit(session=session, type="transaction.updated", object_id=found.id,
                        obj=event_objects.transaction(found))
    return found


def _editable_state(found: BankTransaction) -> dict[str, Any]:
    return {**{key: getattr(found, key) for key in EDITABLE},
            "categorised_by": found.categorised_by}
