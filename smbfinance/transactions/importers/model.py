"""What every bank-statement parser yields, whatever the format. Pure data.

Parsers stream: `parse(stream)` yields events in file order —
`StatementStart`, then its `Entry` items, then `StatementEnd` — so that a 200,000-entry
file is imported in chunks with flat memory. Closing balances come last because CODA and
MT940 only give them after the movements.

Amounts are signed Decimals in the statement currency: + money in, − money out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import BinaryIO, Literal, Protocol

Format = Literal["coda", "camt053", "mt940", "ofx", "csv"]


class ImportFormatError(ValueError):
    """The file is structurally broken: rejected whole, nothing written. `line` (text
    formats) or `path` (XML formats) says where."""

    def __init__(self, message: str, *, line: int | None = None, path: str | None = None) -> None:
        self.message = message
        self.line = line
        self.path = path
        where = f"line {line}: " if line is not None else f"{path}: " if path else ""
        super().__init__(f"{where}{message}")


@dataclass(frozen=True)
class ImportWarning:
    """A consistency problem (trailer totals, opening + movements ≠ closing, …): a warning
    on the import, or a rejection with strict=true."""

    code: str  # e.g. "trailer_count_mismatch", "balance_mismatch", "trailer_totals_mismatch"
    message: str
    line: int | None = None
    path: str | None = None


@dataclass(frozen=True)
class StatementStart:
    statement_index: int  # 0-based position of the statement in the file
    account_iban: str | None  # compact IBAN when the file has one
    account_number: str | None  # any other account id (BBAN, OFX ACCTID, MT940 :25:)
    currency: str  # ISO 4217 of the account/statement
    account_holder: str | None = None
    bic: str | None = None
    statement_id: str | None = None  # bank's statement number/sequence, as written
    opening_balance: Decimal | None = None
    opening_date: date | None = None


@dataclass(frozen=True)
class Entry:
    statement_index: int
    sequence: int  # 1-based position of the entry within its statement
    booking_date: date
    amount: Decimal  # signed, statement currency
    currency: str
    value_date: date | None = None
    counterparty_name: str | None = None
    counterparty_iban: str | None = None  # compact when it is an IBAN, else as written
    counterparty_bic: str | None = None
    remittance: str | None = None  # free text, joined and stripped
    structured_reference: str | None = None  # Belgian OGM as 12 digits, or an ISO 11649 RF ref
    bank_reference: str | None = None  # the bank's own unique reference when present
    end_to_end_id: str | None = None
    transaction_code: str | None = None  # bank transaction code as written
    status: Literal["booked", "pending"] = "booked"
    details: dict[str, str] = field(default_factory=dict)  # anything else worth keeping


@dataclass(frozen=True)
class StatementEnd:
    statement_index: int
    closing_balance: Decimal | None
    closing_date: date | None
    entry_count: int
    warnings: tuple[ImportWarning, ...] = ()


Event = StatementStart | Entry | StatementEnd


class Parser(Protocol):
    format: Format

    def parse(self, stream: BinaryIO) -> Iterator[Event]: ...
