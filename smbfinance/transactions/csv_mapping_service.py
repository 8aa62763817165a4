"""The CSV column mapping saved on a bank account, and the parser mapping built from it.

A bank's CSV export has no signature and no account in it, so a CSV upload is read with the
mapping saved on the account it is uploaded to. The saved mapping holds only how to read the
columns; the currency and the IBAN are the account's own, filled in when a file is read."""

from __future__ import annotations

import codecs
import dataclasses
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smbfinance.audit import service as audit
from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.concurrency import check_version
from smbfinance.db import transaction, utcnow
from smbfinance.errors import Invalid, NotFound
from smbfinance.transactions.importers.csv_mapping import CsvMapping
from smbfinance.transactions.models import BankAccount

# What a caller may save: every CsvMapping field except those the account itself decides.
FROM_ACCOUNT = ("currency", "account_iban")
FIELDS = tuple(f.name for f in dataclasses.fields(CsvMapping) if f.name not in FROM_ACCOUNT)
_PROBE = date(2026, 12, 31)  # day > 12 and a 4-digit year: a format that loses either fails


def validated(data: dict[str, Any]) -> dict[str, Any]:
    """The mapping as stored (every field, defaults filled in); Invalid naming the field."""
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise Invalid.field(unknown[0], "is not a mapping field (the currency and IBAN are "
                                        "the account's own)" if unknown[0] in FROM_ACCOUNT
                            else "is not a mapping field", code="unknown")
    values = {key: value for key, value in data.items() if value is not None}
    for key, value in values.items():
        if isinstance(value, str) and "\x00" in value:  # PostgreSQL text cannot hold NUL
            raise Invalid.field(key, "must not contain a NUL character")
    delimiter = values.get("delimiter")
    if isinstance(delimiter, str) and (delimiter in '"\r\n' or not (
            delimiter.isprintable() or delimiter == "\t")):
        raise Invalid.field("delimiter", "must be a visible character or a tab, not a quote "
                                         "or a line break")
    try:
        mapping = CsvMapping(**values)
    except TypeError as exc:
        raise Invalid.field("date_column", str(exc), code="required") from None
    except LookupError:
        raise Invalid.field("encoding", f"unknown encoding {data.get('encoding')!r}") from None
    except ValueError as exc:
        raise Invalid.field(_field_of(str(exc)), str(exc)) from None
    if mapping.encoding is not None and not codecs.lookup(mapping.encoding)._is_text_encoding:
        # rot13, base64 and the like are codecs, not text encodings a file is written in
        raise Invalid.field("encoding", f"{mapping.encoding!r} is not a text encoding")
    try:
        round_trip = datetime.strptime(_PROBE.strftime(mapping.date_format),
                                       mapping.date_format).date()
    except ValueError:
        round_trip = None
    if round_trip != _PROBE:
        raise Invalid.field("date_format", "must be a strptime format holding the day, the "
                                           "month and the year, e.g. %d/%m/%Y")
    stored = dataclasses.asdict(mapping)
    return {key: stored[key] for key in FIELDS}


def _field_of(message: str) -> str:
    """The field a CsvMapping complaint is about: the first field it names."""
    if message.startswith("thousands and decimal"):
        return "thousands_separator"
    named = [(message.find(name), name) for name in FIELDS if name in message]
    return min(named)[1] if named else "date_column"


def parser_mapping(account: BankAccount) -> CsvMapping | None:
    """The account's saved mapping as the CSV parser takes it (None when none is saved)."""
    if not account.csv_mapping:
        return None
    try:
        return CsvMapping(**account.csv_mapping, currency=account.currency,
                          account_iban=account.iban)
    except (TypeError, ValueError, LookupError) as exc:  # saved by an older version
        raise Invalid.field("bank_account_id", f"the account's saved CSV mapping is no longer "
                                               f"valid ({exc}): save it again") from None


def get_mapping(*, session: Session, actor: Actor, account_id: uuid.UUID) -> dict[str, Any]:
    require(actor, Permission.FINANCE_READ)
    with transaction(session):
        account = _account(session, account_id)
    if not account.csv_mapping:
        raise NotFound(f"bank account {account_id} has no CSV mapping")
    return _out(account)


def save_mapping(*, session: Session, actor: Actor, account_id: uuid.UUID,
                 data: dict[str, Any], expected_version: int | None = None) -> dict[str, Any]:
    """Create or replace the account's mapping (the account's version moves on)."""
    require(actor, Permission.FINANCE_WRITE)
    mapping = validated(data)
    with transaction(session):
        account = _account(session, account_id, for_update=True)
        check_version("bank account", account.version, expected_version)
        before = account.csv_mapping
        account.csv_mapping = mapping
        account.updated_at = utcnow()
        session.flush()
        audit.record(session, actor=actor, action="bank_account.csv_mapping_saved",
                     entity_type="bank_account", entity_id=account.id,
                     before={"csv_mapping": before}, after={"csv_mapping": mapping})
    return _out(account)


def delete_mapping(*, session: Session, actor: Actor, account_id: uuid.UUID,
                   expected_version: int | None = None) -> None:
    """Forget the mapping; CSV uploads to the account are refused until one is saved."""
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        account = _account(session, account_id, for_update=True)
        check_version("bank account", account.version, expected_version)
        if not account.csv_mapping:
            raise NotFound(f"bank account {account_id} has no CSV mapping")
        before = account.csv_mapping
        account.csv_mapping = None
        account.updated_at = utcnow()
        session.flush()
        audit.record(session, actor=actor, action="bank_account.csv_mapping_deleted",
                     entity_type="bank_account", entity_id=account.id,
                     before={"csv_mapping": before})


def _out(account: BankAccount) -> dict[str, Any]:
    return {**(account.csv_mapping or {}), "bank_account_id": account.id,
            "version": account.version}


def _account(session: Session, account_id: uuid.UUID, *,
             for_update: bool = False) -> BankAccount:
    query = select(BankAccount).where(BankAccount.id == account_id,
                                      BankAccount.deleted_at.is_(None))
    if for_update:
        query = query.with_for_update()
    account = session.execute(query).scalar_one_or_none()
    if account is None:
        raise NotFound(f"no bank account {account_id}")
    return account
