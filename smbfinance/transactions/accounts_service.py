"""Bank-account writes and manual (cash) transactions. Reads: service.py."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from smbfinance import events
from smbfinance.audit import service as audit
from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.concurrency import check_version
from smbfinance.contacts.validation import normalise_iban
from smbfinance.db import new_id, transaction, utcnow
from smbfinance.errors import Conflict, ErrorList, Invalid, NotFound
from smbfinance.events import objects as event_objects
from smbfinance.money import MoneyError, parse_amount, validate_currency
from smbfinance.transactions.models import BankAccount, BankTransaction

# What identifies an account (and its transactions' meaning) never changes once created.
EDITABLE = ("name", "holder", "bic", "is_active")


def _state(account: BankAccount) -> dict[str, Any]:
    return {key: getattr(account, key) for key in
            ("iban", "account_number", "currency", "name", "holder", "bic", "is_active")}


def create_account(*, session: Session, actor: Actor, data: dict[str, Any]) -> BankAccount:
    """An account to import into or book cash on: an IBAN, or an own number for cash."""
    require(actor, Permission.FINANCE_WRITE)
    errors = ErrorList()
    iban = None
    if data.get("iban"):
        try:
            iban = normalise_iban(data["iban"])
        except ValueError as exc:
            errors.add("iban", str(exc))
    number = (data.get("account_number") or "").strip() or None
    if iban is None and number is None and not errors.errors:
        errors.add("iban", "give an IBAN, or an account_number for a cash account", "required")
    try:
        currency = validate_currency(data.get("currency") or "EUR")
    except MoneyError as exc:
        errors.add("currency", str(exc))
        currency = "EUR"
    errors.raise_if_any()
    with transaction(session):
        account = BankAccount(iban=iban, account_number=None if iban else number,
                              currency=currency, name=data.get("name"),
                              holder=data.get("holder"), bic=data.get("bic"), is_active=True)
        session.add(account)
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:
            raise Conflict("this company already has that account",
                           extra={"field": "iban" if iban else "account_number"}) from None
        audit.record(session, actor=actor, action="bank_account.created",
                     entity_type="bank_account", entity_id=account.id, after=_state(account))
    return account


def update_account(*, session: Session, actor: Actor, account_id: uuid.UUID,
                   changes: dict[str, Any], expected_version: int | None = None) -> BankAccount:
    require(actor, Permission.FINANCE_WRITE)
    refused = sorted(set(changes) - set(EDITABLE))
    if refused:
        raise Invalid(f"{', '.join(refused)}: cannot be changed; only "
                      f"{', '.join(EDITABLE)} can", errors=[])
    with transaction(session):
        account = _get(session, account_id)
        check_version("bank account", account.version, expected_version)
        before = _state(account)
        for key, value in changes.items():
            setattr(account, key, value)
        account.updated_at = utcnow()
        session.flush()
        audit.record(session, actor=actor, action="bank_account.updated",
                     entity_type="bank_account", entity_id=account.id, before=before,
                     after=_state(account))
    return account


def delete_account(*, session: Session, actor: Actor, account_id: uuid.UUID,
                   expected_version: int | None = None) -> None:
    """Soft delete: its transactions stay (they are bank facts); lists hide the account."""
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        account = _get(session, account_id)
        check_version("bank account", account.version, expected_version)
        account.deleted_at = utcnow()
        audit.record(session, actor=actor, action="bank_account.deleted",
                     entity_type="bank_account", entity_id=account.id, before=_state(account))


def create_manual_transaction(*, session: Session, actor: Actor,
                              data: dict[str, Any]) -> BankTransaction:
    """A movement no bank reports (cash): booked at once, source `manual`."""
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        account = session.execute(select(BankAccount).where(
            BankAccount.id == data["bank_account_id"], BankAccount.deleted_at.is_(None))
        ).scalar_one_or_none()
        if account is None:
            raise Invalid.field("bank_account_id", f"no bank account {data['bank_account_id']}",
                                code="not_found")
        try:
            amount = parse_amount(data["amount"], account.currency)
        except MoneyError as exc:
            raise Invalid.field("amount", str(exc)) from None
        if amount == 0:
            raise Invalid.field("amount", "must not be zero")
        booking_date: date = data["booking_date"]
        found = BankTransaction(
            bank_account_id=account.id, amount=amount, currency=account.currency,
            booking_date=booking_date, value_date=data.get("value_date") or booking_date,
            counterparty_name=data.get("counterparty_name"), remittance=data.get("remittance"),
            notes=data.get("notes"), status="booked", source="manual",
            # Each manual entry is its own movement; retries are made safe by Idempotency-Key.
            dedupe_key=f"manual:{new_id()}", details={})
        session.add(found)
        session.flush()
        audit.record(session, actor=actor, action="transaction.created",
                     entity_type="transaction", entity_id=found.id,
                     after={"amount": amount, "currency": account.currency,
                            "booking_date": booking_date, "source": "manual"})
        events.emit(session=session, type="transaction.created", object_id=found.id,
                    obj=event_objects.transaction(found))
    return found


def _get(session: Session, account_id: uuid.UUID) -> BankAccount:
    account = session.execute(select(BankAccount).where(
        BankAccount.id == account_id, BankAccount.deleted_at.is_(None)).with_for_update()
    ).scalar_one_or_none()
    if account is None:
        raise NotFound(f"no bank account {account_id}")
    return account
