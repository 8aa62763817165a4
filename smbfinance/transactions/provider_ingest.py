"""The write path for bank data read from a provider (Ponto): accounts upserted by IBAN
(or account number), transactions upserted in bulk keyed on (account, dedupe key), so that
the same data written twice changes nothing the second time.

Bulk path, as statement imports do it: rows are copied into a temporary table (COPY cannot
target a table with row-level security) and moved with `INSERT … SELECT … ON CONFLICT`.
A row is only rewritten when a provider field differs, so a repeated sync bumps no
version and reports nothing as updated.

Pending transactions have their own keys (`ponto:pending:<id>`) and are *replaced* on each
read: the pending rows of the account that the provider no longer lists are deleted. A
pending movement that the bank books later under a new id therefore disappears as pending
and appears once as booked — never both.

Joins the caller's transaction; the caller scopes the session to the tenant.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from smbfinance.audit import service as audit
from smbfinance.auth.permissions import Actor, system_actor
from smbfinance.db import new_id, transaction
from smbfinance.tenancy import current_tenant_id
from smbfinance.transactions.models import BankAccount

_COLUMNS = ("id", "amount", "currency", "booking_date", "value_date", "counterparty_name",
            "counterparty_iban", "remittance", "structured_reference", "bank_reference",
            "end_to_end_id", "transaction_code", "status", "source", "dedupe_key", "details")
_LIMITS = {"counterparty_name": 200, "counterparty_iban": 64, "structured_reference": 35,
           "bank_reference": 100, "end_to_end_id": 100, "transaction_code": 50,
           "dedupe_key": 200, "currency": 3}
# Provider fields: what a later read may change. Our own fields (category, contact,
# notes, matched amount) are never touched by a sync.
_PROVIDER_FIELDS = ("amount", "currency", "booking_date", "value_date", "counterparty_name",
                    "counterparty_iban", "remittance", "structured_reference",
                    "bank_reference", "end_to_end_id", "transaction_code", "status",
                    "details")
_CREATE_STAGING = text(
    "CREATE TEMP TABLE IF NOT EXISTS provider_staging ("
    " id uuid, amount numeric(18, 2), currency text, booking_date date, value_date date,"
    " counterparty_name text, counterparty_iban text, remittance text,"
    " structured_reference text, bank_reference text, end_to_end_id text,"
    " transaction_code text, status text, source text, dedupe_key text, details jsonb)"
    " ON COMMIT DROP")
_MOVE = text(
    "INSERT INTO bank_transactions (bank_account_id, sync_log_id, "  # noqa: S608
    + ", ".join(_COLUMNS) + ")"
    " SELECT DISTINCT ON (dedupe_key) :account, CAST(:sync_log AS uuid), "
    + ", ".join(_COLUMNS) +
    " FROM provider_staging ORDER BY dedupe_key"
    " ON CONFLICT (tenant_id, bank_account_id, dedupe_key) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _PROVIDER_FIELDS) +
    ", sync_log_id = EXCLUDED.sync_log_id, updated_at = now(),"
    " version = bank_transactions.version + 1"
    " WHERE (" + ", ".join(f"bank_transactions.{c}" for c in _PROVIDER_FIELDS) + ")"
    " IS DISTINCT FROM (" + ", ".join(f"EXCLUDED.{c}" for c in _PROVIDER_FIELDS) + ")"
    " RETURNING id, (xmax = 0) AS inserted, status")
_DROP_VANISHED_PENDING = text(
    "DELETE FROM bank_transactions WHERE bank_account_id = :account AND source = :source"
    " AND status = 'pending' AND NOT (dedupe_key = ANY(:keep))"
    " AND matched_amount = 0 RETURNING id")


@dataclass
class IngestResult:
    read: int = 0
    created: int = 0
    updated: int = 0
    pending_removed: int = 0
    # Booked rows created or changed: what rules and reconciliation look at next.
    booked_ids: list[uuid.UUID] = field(default_factory=list)

    @property
    def unchanged(self) -> int:
        return self.read - self.created - self.updated


def upsert_account(*, session: Session, values: dict[str, Any]) -> tuple[BankAccount, bool]:
    """The account named by `values` (rows.bank_account_values): found by IBAN, else by
    account number, created when missing; provider fields and the balance refreshed.
    Returns the account and whether it was created."""
    with transaction(session):
        iban, number = values.get("iban"), values.get("account_number")
        query = select(BankAccount).where(BankAccount.deleted_at.is_(None))
        if iban:
            query = query.where(BankAccount.iban == iban)
        elif number:
            query = query.where(BankAccount.iban.is_(None),
                                BankAccount.account_number == number)
        else:
            raise ValueError("a provider account without IBAN or number")
        account = session.execute(query).scalar_one_or_none()
        created = account is None
        before = None if account is None else _balance_state(account)
        if account is None:
            account = BankAccount(id=new_id(), iban=iban, account_number=None if iban else number,
                                  currency=values["currency"])
            session.add(account)
        for name in ("holder", "name"):
            if values.get(name) and getattr(account, name) is None:
                setattr(account, name, _clip(values[name], 200))
        if values.get("current_balance") is not None and _newer(account, values):
            _set_if_changed(account, "current_balance", values["current_balance"])
            _set_if_changed(account, "balance_date", values.get("balance_date"))
            _set_if_changed(account, "balance_source", values.get("balance_source"))
        if values.get("synchronized_at") is not None:
            _set_if_changed(account, "synchronized_at", values["synchronized_at"])
        session.flush()
        after = _balance_state(account)
        if after != before:
            audit.record(session, actor=_provider(session),
                         action="bank_account.created" if created else "bank_account.synced",
                         entity_type="bank_account", entity_id=account.id, before=before,
                         after=after)
    return account, created


def _provider(session: Session) -> Actor:
    """Provider data is written by the sync task, on nobody's request: the system."""
    return system_actor(current_tenant_id(session))


def _balance_state(account: BankAccount) -> dict[str, Any]:
    return {"iban": account.iban, "account_number": account.account_number,
            "currency": account.currency, "current_balance": account.current_balance,
            "balance_date": account.balance_date, "balance_source": account.balance_source}


def _newer(account: BankAccount, values: dict[str, Any]) -> bool:
    day = values.get("balance_date")
    return account.balance_date is None or day is None or day >= account.balance_date


def _set_if_changed(target: Any, name: str, value: Any) -> None:
    # Assigning an equal value still counts as a change for the version column.
    if getattr(target, name) != value:
        setattr(target, name, value)


def ingest_transactions(*, session: Session, bank_account_id: uuid.UUID,
                        booked: Sequence[dict[str, Any]],
                        pending: Sequence[dict[str, Any]] | None = None,
                        source: str = "ponto",
                        sync_log_id: uuid.UUID | None = None) -> IngestResult:
    """Upsert the booked rows and, when `pending` is given, replace the account's pending
    rows from `source` by exactly those. Rows are `rows.bank_transaction_values` dicts.
    Rows created or changed are tagged with `sync_log_id` (GET /transactions?sync_log_id=
    lists them; no event per row, ADR 0036)."""
    result = IngestResult(read=len(booked) + len(pending or ()))
    with transaction(session):
        session.execute(_CREATE_STAGING)
        rows = [*booked, *(pending or ())]
        if rows:
            _stage(session, rows)
            for row_id, inserted, status in session.execute(
                    _MOVE, {"account": bank_account_id,
                            "sync_log": str(sync_log_id) if sync_log_id else None}).all():
                if inserted:
                    result.created += 1
                else:
                    result.updated += 1
                if status == "booked":
                    result.booked_ids.append(row_id)
            session.execute(text("DELETE FROM provider_staging"))
        if pending is not None:
            keep = [row["dedupe_key"] for row in pending]
            result.pending_removed = len(session.execute(
                _DROP_VANISHED_PENDING,
                {"account": bank_account_id, "source": source, "keep": keep}).all())
        if result.created or result.updated or result.pending_removed:
            # One entry per account and run, as an import has one: the rows themselves are
            # listed by GET /transactions?sync_log_id= (ADR 0036).
            audit.record(session, actor=_provider(session), action="transactions.synced",
                         entity_type="bank_account", entity_id=bank_account_id,
                         after={"source": source, "sync_log_id": sync_log_id,
                                "created": result.created, "updated": result.updated,
                                "pending_removed": result.pending_removed})
    return result


def _stage(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([_cell(name, row, new_id) for name in _COLUMNS])
    buffer.seek(0)
    cursor = session.connection().connection.cursor()
    try:
        cursor.copy_expert("COPY provider_staging (" + ", ".join(_COLUMNS) +
                           ") FROM STDIN WITH (FORMAT csv)", buffer)
    finally:
        cursor.close()


def _cell(name: str, row: dict[str, Any], make_id: Any) -> Any:
    if name == "id":
        return str(make_id())
    value = row.get(name)
    if name == "details":
        return json.dumps({k: _clean(str(v)) for k, v in (value or {}).items()},
                          sort_keys=True)
    if isinstance(value, str):
        limit = _LIMITS.get(name)
        return _clip(value, limit) if limit else _clean(value)
    return value


def _clean(value: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL.
    return (value.replace("\x00", "").strip() or None) if value else None


def _clip(value: str | None, length: int) -> str | None:
    cleaned = _clean(value)
    return cleaned[:length] if cleaned else None
