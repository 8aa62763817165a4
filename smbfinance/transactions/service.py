"""Reading bank accounts and transactions. (Imports: import_service.py.)"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import Select, select, tuple_
from sqlalchemy.orm import Session

from smbfinance.audit import service as audit
from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.categorisation import service as categorisation
from smbfinance.concurrency import check_version
from smbfinance.contacts import service as contacts
from smbfinance.db import transaction, utcnow
from smbfinance.errors import ErrorList, NotFound
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


def list_transactions(
    *, session: Session, actor: Actor, bank_account_id: uuid.UUID | None = None,
    booked_after: date | None = None, booked_before: date | None = None,
    direction: str | None = None, status: str | None = None, limit: int | None = None,
    starting_after: uuid.UUID | None = None,
) -> Page[BankTransaction]:
    """Newest booking date first, then id (stable for cursors)."""
    require(actor, Permission.FINANCE_READ)
    limit = check_limit(limit)
    query: Select[tuple[BankTransaction]] = select(BankTransaction)
    if bank_account_id:
        query = query.where(BankTransaction.bank_account_id == bank_account_id)
    if booked_after:
        query = query.where(BankTransaction.booking_date >= booked_after)
    if booked_before:
        query = query.where(BankTransaction.booking_date < booked_before)
    if direction:
        query = query.where(BankTransaction.amount > 0 if direction == "in"
                            else BankTransaction.amount < 0)
    if status:
        query = query.where(BankTransaction.status == status)
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
        audit.record(session, actor=actor, action="transaction.updated",
                     entity_type="transaction", entity_id=found.id, before=before,
                     after=_editable_state(found))
    return found


def _editable_state(found: BankTransaction) -> dict[str, Any]:
    return {**{key: getattr(found, key) for key in EDITABLE},
            "categorised_by": found.categorised_by}
