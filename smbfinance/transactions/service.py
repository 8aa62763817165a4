"""Reading bank accounts and transactions. (Imports: import_service.py.)"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Select, select, tuple_
from sqlalchemy.orm import Session

from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.db import transaction
from smbfinance.errors import NotFound
from smbfinance.pagination import Page, check_limit, page_of
from smbfinance.transactions.models import BankAccount, BankTransaction


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
