"""Belgian CODA 2.x statements (Febelfin "coded statement of account"). Pure.

A CODA file is one or more blocks `0 1 (2.x 3.x 4)* 8 9` of 128-character records:
0 header (bank BIC, version), 1 old balance and account, 2.1/2.2/2.3 a movement,
3.1/3.2/3.3 information about it, 4 free communication, 8 new balance, 9 trailer with
the record count and the debit/credit totals. The parser streams: it keeps one movement
in memory (a movement's 2.2/2.3/3.x records follow its 2.1), so the size of the file does
not matter.

Rules decided here:

- Globalisation. A bank may book a batch (a payroll file, a card settlement, a loan
  instalment split into capital and interest) as one movement whose detail records
  (same sequence number, detail number > 0) break it down. The movement, detail number
  0000, becomes ONE entry with the booked total; the details are kept in
  `Entry.details` as `detail.NNNN.amount`, `detail.NNNN.counterparty_name`, … Reason:
  the account moved once by the total (that is what the bank statement, the record-9
  totals and the balances count), so one entry keeps "sum of entries = statement
  movement" and "opening + entries = closing" true; importing the details instead
  would make the sum depend on how each bank nests its globalisation levels, and
  importing both would count the money twice.
- Record length. After the line ending (LF or CRLF) is removed a record must be exactly
  128 characters, counted after decoding. Trailing blanks beyond 128 are tolerated (some
  tools pad lines); a shorter line is refused: position 128 always holds a code (version,
  link code, multiple-file code), so a short line is a truncated record, never a record
  whose trailing blanks were trimmed.
- Line breaks: LF or CRLF, with or without one after the last record; a file written
  without any (record 0 directly followed by record 1) is read as consecutive 128-byte
  records, and `line` in errors and warnings then counts records.
- Encoding: UTF-8 per file, falling back to cp1252 (see `_lines`); never an error.
- Sign: the sign digit (0 credit, 1 debit) alone decides the direction, so a reversal
  booked with a debit-family transaction code and a credit sign is money in.
- Structured communication 101/102 (the Belgian OGM) goes to `structured_reference` as
  12 digits, kept even when its check digits are wrong (the bank says it was structured;
  matching decides what to do with it); any other type keeps its text in `remittance`
  and the type in `details["communication_type"]`.
- Information records: free-text 3.x are appended to the entry's remittance; structured
  ones (e.g. type 001, the counterparty's name and address) are kept in `details`
  (`information`, or `detail.NNNN.information` when they follow a detail record).
- A bank reference already used by an earlier movement of the file is not repeated in
  `Entry.bank_reference` (it is a de-duplication key, and a repeat would make the
  import drop a real movement): it moves to `details["bank_reference"]`, with a
  `duplicate_bank_reference` warning.
- Structural problems raise `ImportFormatError` with the line; consistency problems
  (trailer count/totals, balances, record 8 against record 1, sequence gaps) become
  warnings on the statement's `StatementEnd`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import BinaryIO

from smbfinance.transactions.importers._lines import decoded_lines, decoded_records
from smbfinance.transactions.importers.model import (
    Entry,
    Event,
    Format,
    ImportFormatError,
    ImportWarning,
    StatementEnd,
    StatementStart,
)

RECORD_LENGTH = 128
_UTF8_BOM = b"\xef\xbb\xbf"
OGM_TYPES = frozenset({"101", "102"})
_CENT = Decimal("0.01")

_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}", re.ASCII)
_BIC = re.compile(r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?", re.ASCII)
_CURRENCY = re.compile(r"[A-Z]{3}", re.ASCII)
_RECORD_TYPES = frozenset({"0", "1", "21", "22", "23", "31", "32", "33", "4", "8", "9"})
# SEPA's placeholder for "the payer gave no end-to-end id": not an identifier.
_NO_END_TO_END = "NOTPROVIDED"


class CodaParser:
    format: Format = "coda"

    def parse(self, stream: BinaryIO) -> Iterator[Event]:
        reader = _Reader()
        for number, text in _records(stream):
            yield from reader.feed(number, text)
        yield from reader.finish()


def _records(stream: BinaryIO) -> Iterator[tuple[int, str]]:
    """Records with their line numbers; in a file without line breaks (record 0 directly
    followed by record 1) the 128-byte records are numbered as if they were lines."""
    head = stream.read(RECORD_LENGTH + len(_UTF8_BOM) + 1)
    body = head.removeprefix(_UTF8_BOM)
    if body[RECORD_LENGTH:RECORD_LENGTH + 1] == b"1" and b"\n" not in body[:RECORD_LENGTH]:
        return decoded_records(stream, RECORD_LENGTH, head=head)
    return decoded_lines(stream, head=head)


# --- fields -------------------------------------------------------------------------------


def _record_key(record: str) -> str:
    """"0", "1", "4", "8", "9", or the two characters of "21"…"33" (type and article)."""
    return record[0] if record[0] in "01489" else record[:2]


def _cut(record: str, start: int, end: int) -> str:
    """Positions `start`..`end`, 1-based and inclusive, as the Febelfin spec numbers them."""
    return record[start - 1:end]


def _text(record: str, start: int, end: int) -> str | None:
    return _collapse(_cut(record, start, end))


def _collapse(value: str) -> str | None:
    return " ".join(value.split()) or None


def _number(record: str, start: int, end: int, line: int, what: str) -> int:
    raw = _cut(record, start, end)
    if not _DIGITS.fullmatch(raw):
        raise ImportFormatError(f"{what} is not numeric: {raw!r}", line=line)
    return int(raw)


def _amount(record: str, sign_at: int, start: int, end: int, line: int, what: str) -> Decimal:
    """15 digits with 3 implied decimals, signed by a digit: 0 credit (+), 1 debit (−)."""
    sign = _cut(record, sign_at, sign_at)
    if sign not in {"0", "1"}:
        raise ImportFormatError(f"{what} sign must be 0 or 1, found {sign!r}", line=line)
    value = _thousandths(_number(record, start, end, line, what))
    # A zero debit stays a plain zero rather than Decimal("-0.00").
    return -value if sign == "1" and value else value


def _thousandths(number: int) -> Decimal:
    """CODA writes three decimals; cents are shown as cents (5.000 → 5.00), like every
    other format gives them, and a real third decimal is kept."""
    value = Decimal(number).scaleb(-3)
    return value.quantize(_CENT) if number % 10 == 0 else value


def _date(record: str, start: int, end: int, line: int, what: str) -> date | None:
    """DDMMYY; 000000 means "not given" (value dates may be unknown)."""
    raw = _cut(record, start, end)
    if raw == "000000":
        return None
    if not _DIGITS.fullmatch(raw):
        raise ImportFormatError(f"{what} is not a DDMMYY date: {raw!r}", line=line)
    try:
        return date(2000 + int(raw[4:6]), int(raw[2:4]), int(raw[0:2]))
    except ValueError:
        raise ImportFormatError(f"{what} is not a valid date: {raw!r}", line=line) from None


def _account_reference(value: str | None) -> str | None:
    """Compact IBAN when it looks like one; an all-zero account means none."""
    if value is None:
        return None
    compact = value.replace(" ", "").upper()
    if _IBAN_SHAPE.fullmatch(compact):
        return compact
    if not compact.strip("0"):
        return None
    return value


def _header_bic(record: str) -> str | None:
    """The bank's BIC (positions 61-71). Some producers shift it by one position
    ("BBRUBEBB0"); the 8-character BIC in front is then still the bank."""
    raw = _cut(record, 61, 71).strip()
    if _BIC.fullmatch(raw):
        return raw
    if len(raw) > 8 and _BIC.fullmatch(raw[:8]):
        return raw[:8]
    return None


def _iban_from_bban(bban: str) -> str | None:
    """The Belgian IBAN of a 12-digit BBAN whose own check digits are right."""
    if not _DIGITS.fullmatch(bban) or len(bban) != 12:
        return None
    if (int(bban[:10]) % 97 or 97) != int(bban[10:]):
        return None
    # ISO 13616: BBAN + "BE00" with letters as numbers (B=11, E=14), mod 97.
    check = 98 - int(bban + "111400") % 97
    return f"BE{check:02d}{bban}"


@dataclass(frozen=True)
class _Account:
    iban: str | None
    number: str | None
    currency: str

    @property
    def key(self) -> str:
        return self.iban or self.number or ""


def _account(record: str, structure: str, shift: int, line: int) -> _Account:
    """Account and currency of record 1 (`shift` 0) or record 8 (`shift` −1: record 8 has
    no structure digit, so every field sits one position to the left). The layout is the
    one of record 1's account structure digit."""

    def cut(start: int, end: int) -> str:
        return _cut(record, start + shift, end + shift)

    if structure == "0":  # Belgian BBAN
        number = cut(6, 17).strip()
        iban, currency = _iban_from_bban(number), cut(19, 21)
    elif structure == "1":  # foreign account number
        number, iban, currency = cut(6, 39).strip(), None, cut(40, 42)
    elif structure == "2":  # Belgian IBAN
        number, iban, currency = None, cut(6, 21).replace(" ", ""), cut(40, 42)
    elif structure == "3":  # foreign IBAN
        number, iban, currency = None, cut(6, 39).replace(" ", ""), cut(40, 42)
    else:
        raise ImportFormatError(f"unknown account structure {structure!r} in record 1", line=line)
    if not _CURRENCY.fullmatch(currency):
        raise ImportFormatError(f"account currency is not an ISO code: {currency!r}", line=line)
    return _Account(iban=iban or None, number=number or None, currency=currency)


# --- movements ----------------------------------------------------------------------------


@dataclass
class _Movement:
    """A record 2.1 (a movement, or a detail of a globalised one) and what follows it."""

    line: int
    sequence: int
    detail: int
    bank_reference: str | None
    amount: Decimal
    value_date: date | None
    booking_date: date | None
    transaction_code: str
    structured: bool
    communication_type: str | None
    globalisation: str
    communication: list[str] = field(default_factory=list)
    counterparty_name: str | None = None
    counterparty_account: str | None = None
    counterparty_currency: str | None = None
    counterparty_bic: str | None = None
    end_to_end_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    information: list[str] = field(default_factory=list)
    information_type: str | None = None
    free_text: list[str] = field(default_factory=list)
    details: list[_Movement] = field(default_factory=list)

    def remittance_and_reference(self) -> tuple[str | None, str | None]:
        text = "".join(self.communication)
        if self.structured and self.communication_type in OGM_TYPES:
            digits = text[:12]
            if _DIGITS.fullmatch(digits):
                return _collapse(text[12:]), digits
        return _collapse(text), None


def _movement(record: str, line: int) -> _Movement:
    structured = _cut(record, 62, 62) == "1"
    communication = _cut(record, 66, 115) if structured else _cut(record, 63, 115)
    return _Movement(
        line=line,
        sequence=_number(record, 3, 6, line, "sequence number"),
        detail=_number(record, 7, 10, line, "detail number"),
        bank_reference=_text(record, 11, 31),
        amount=_amount(record, 32, 33, 47, line, "movement amount"),
        value_date=_date(record, 48, 53, line, "value date"),
        booking_date=_date(record, 116, 121, line, "entry date"),
        transaction_code=_cut(record, 54, 61),
        structured=structured,
        communication_type=_cut(record, 63, 65) if structured else None,
        globalisation=_cut(record, 125, 125),
        communication=[communication],
    )


def _add_record_22(target: _Movement, record: str) -> None:
    target.communication.append(_cut(record, 11, 63))
    reference = _text(record, 64, 98)
    if reference and reference.upper() != _NO_END_TO_END:
        target.end_to_end_id = reference
    target.counterparty_bic = _text(record, 99, 109)
    for key, (start, end) in _RECORD_22_EXTRA.items():
        value = _text(record, start, end)
        if value:
            target.extra[key] = value


_RECORD_22_EXTRA = {
    "r_transaction_type": (113, 113),
    "return_reason": (114, 117),
    "category_purpose": (118, 121),
    "purpose": (122, 125),
}


def _add_record_23(target: _Movement, record: str) -> None:
    target.counterparty_account = _account_reference(_text(record, 11, 44))
    target.counterparty_currency = _text(record, 45, 47)
    target.counterparty_name = _text(record, 48, 82)
    target.communication.append(_cut(record, 83, 125))


def _entry_details(movement: _Movement) -> dict[str, str]:
    details: dict[str, str] = {"coda_sequence": f"{movement.sequence:04d}"}
    if movement.communication_type:
        details["communication_type"] = movement.communication_type
    if movement.globalisation not in {"0", " "}:
        details["globalisation_code"] = movement.globalisation
    if movement.counterparty_currency:
        details["counterparty_currency"] = movement.counterparty_currency
    details.update(movement.extra)
    _add_information(details, "", movement)
    if movement.details:
        details["detail_count"] = str(len(movement.details))
    for detail in movement.details:
        details.update(_detail_details(detail))
    return details


def _add_information(details: dict[str, str], prefix: str, movement: _Movement) -> None:
    information = _collapse("".join(movement.information))
    if information:
        details[f"{prefix}information"] = information
        if movement.information_type:
            details[f"{prefix}information_type"] = movement.information_type


def _detail_details(detail: _Movement) -> dict[str, str]:
    prefix = f"detail.{detail.detail:04d}."
    remittance, reference = detail.remittance_and_reference()
    values = {
        "amount": str(detail.amount),
        "transaction_code": detail.transaction_code,
        "communication_type": detail.communication_type,
        "communication": remittance,
        "structured_reference": reference,
        "counterparty_name": detail.counterparty_name,
        "counterparty_account": detail.counterparty_account,
        "counterparty_bic": detail.counterparty_bic,
        "end_to_end_id": detail.end_to_end_id,
        **detail.extra,
    }
    details = {prefix + key: value for key, value in values.items() if value}
    _add_information(details, prefix, detail)
    return details


# --- statements ---------------------------------------------------------------------------


@dataclass
class _Block:
    """A 0…9 group: what record 9 has to agree with."""

    line: int
    bic: str | None
    records: int = 0
    debit: Decimal = Decimal("0.00")
    credit: Decimal = Decimal("0.00")


@dataclass
class _Statement:
    index: int
    line: int
    structure: str
    account: _Account
    number: str
    opening: Decimal
    opening_date: date | None
    entries: int = 0
    total: Decimal = Decimal("0.00")
    last_sequence: int = 0
    closing: Decimal | None = None
    closing_date: date | None = None
    warnings: list[ImportWarning] = field(default_factory=list)

    def warn(self, code: str, message: str, line: int) -> None:
        self.warnings.append(ImportWarning(code=code, message=message, line=line))

    def end(self) -> StatementEnd:
        return StatementEnd(
            statement_index=self.index,
            closing_balance=self.closing,
            closing_date=self.closing_date,
            entry_count=self.entries,
            warnings=tuple(self.warnings),
        )


class _Reader:
    """The record-by-record state machine behind `CodaParser.parse`."""

    def __init__(self) -> None:
        self.line = 0
        self.records = 0
        self.block: _Block | None = None
        self.statement: _Statement | None = None  # between records 1 and 8
        self.finished: _Statement | None = None  # record 8 read, StatementEnd not yet sent
        self.previous: _Statement | None = None
        self.movement: _Movement | None = None
        self.target: _Movement | None = None  # the last 2.1, movement or detail
        self.information: _Movement | None = None  # where 3.2/3.3 continue a 3.1
        self.information_structured = False
        self.statements = 0
        self.bank_references: dict[str, str] = {}
        self.handlers: dict[str, Callable[[str], Iterator[Event]]] = {
            "0": self._header,
            "1": self._old_balance,
            "21": self._movement_record,
            "22": self._record_22,
            "23": self._record_23,
            "31": self._information_start,
            "32": self._information_more,
            "33": self._information_more,
            "4": self._free_communication,
            "8": self._new_balance,
            "9": self._trailer,
        }

    def feed(self, line: int, text: str) -> Iterator[Event]:
        self.line = line
        if not text.strip():
            return
        record = self._checked(text)
        key = _record_key(record)
        handler = self.handlers[key]
        if key not in {"0", "9"}:
            self._require_block(key)
            assert self.block is not None
            self.block.records += 1
        yield from handler(record)

    def finish(self) -> Iterator[Event]:
        if self.records == 0:
            raise ImportFormatError("empty file: no CODA records", line=self.line or None)
        if self.statement is not None:
            raise ImportFormatError(
                f"the file ends inside the statement that starts at line {self.statement.line}"
                " (no record 8): truncated file",
                line=self.line,
            )
        if self.block is not None:
            yield from self._close_block_without_trailer()
        if self.statements == 0:
            raise ImportFormatError("no statement in the file (no record 1)", line=self.line)

    # --- structure ----------------------------------------------------------------------

    def _checked(self, text: str) -> str:
        self.records += 1
        if self.records == 1 and not text.startswith("0"):
            raise ImportFormatError(
                "not a CODA file: the first record must be a header record 0", line=self.line
            )
        if len(text) != RECORD_LENGTH:
            if len(text) < RECORD_LENGTH or text[RECORD_LENGTH:].strip():
                raise ImportFormatError(
                    f"record is {len(text)} characters long; CODA records are {RECORD_LENGTH}",
                    line=self.line,
                )
            text = text[:RECORD_LENGTH]
        key = _record_key(text)
        if key not in _RECORD_TYPES:
            raise ImportFormatError(f"unknown CODA record type {key!r}", line=self.line)
        return text

    def _require_block(self, key: str) -> None:
        if self.block is None:
            raise ImportFormatError(
                f"record {key} after the trailer record 9; a statement file starts with"
                " record 0",
                line=self.line,
            )
        if key != "1" and self.statement is None:
            raise ImportFormatError(
                f"record {key} outside a statement (no record 1 before it)", line=self.line
            )

    def _require_target(self, record: str) -> _Movement:
        target = self.target
        sequence = _cut(record, 3, 6)
        if target is None or f"{target.sequence:04d}" != sequence:
            raise ImportFormatError(
                f"record {record[:2]} for sequence {sequence} does not follow its movement"
                " record 2.1",
                line=self.line,
            )
        return target

    # --- records ------------------------------------------------------------------------

    def _header(self, record: str) -> Iterator[Event]:
        if self.block is not None:
            if self.statement is not None:
                raise ImportFormatError(
                    f"header record 0 inside the statement that starts at line"
                    f" {self.statement.line} (no record 8 before it)",
                    line=self.line,
                )
            yield from self._close_block_without_trailer()
        version = _cut(record, 128, 128)
        if version != "2":
            raise ImportFormatError(
                f"CODA version {version!r} is not supported (only version 2)", line=self.line
            )
        self.block = _Block(line=self.line, bic=_header_bic(record))

    def _old_balance(self, record: str) -> Iterator[Event]:
        if self.statement is not None:
            raise ImportFormatError(
                f"record 1 while the statement that starts at line {self.statement.line} has"
                " no record 8",
                line=self.line,
            )
        if self.finished is not None:
            yield self._send_end()
        assert self.block is not None
        structure = _cut(record, 2, 2)
        account = _account(record, structure, 0, self.line)
        statement = _Statement(
            index=self.statements,
            line=self.line,
            structure=structure,
            account=account,
            number=_cut(record, 3, 5),
            opening=_amount(record, 43, 44, 58, self.line, "old balance"),
            opening_date=_date(record, 59, 64, self.line, "old balance date"),
        )
        self.statements += 1
        self.statement = statement
        self._check_continuity(statement)
        yield StatementStart(
            statement_index=statement.index,
            account_iban=account.iban,
            account_number=account.number,
            currency=account.currency,
            account_holder=_text(record, 65, 90),
            bic=self.block.bic,
            statement_id=statement.number,
            opening_balance=statement.opening,
            opening_date=statement.opening_date,
        )

    def _movement_record(self, record: str) -> Iterator[Event]:
        movement = _movement(record, self.line)
        current = self.movement
        if movement.detail > 0 and current is not None and current.sequence == movement.sequence:
            current.details.append(movement)
        else:
            yield from self._flush_movement()
            self._start_movement(movement)
        self.target = movement
        self.information = None

    def _record_22(self, record: str) -> Iterator[Event]:
        _add_record_22(self._require_target(record), record)
        yield from ()

    def _record_23(self, record: str) -> Iterator[Event]:
        _add_record_23(self._require_target(record), record)
        yield from ()

    def _information_start(self, record: str) -> Iterator[Event]:
        target = self.target
        self.information = None
        # Information about another sequence number belongs to no movement we know:
        # there is nowhere to put it, and it changes no amount.
        if target is None or f"{target.sequence:04d}" != _cut(record, 3, 6):
            return
        self.information = target
        self.information_structured = _cut(record, 40, 40) == "1"
        if self.information_structured:
            target.information_type = target.information_type or _cut(record, 41, 43)
            self._add_information(_cut(record, 44, 113))
        else:
            self._add_information(_cut(record, 41, 113))
        yield from ()

    def _information_more(self, record: str) -> Iterator[Event]:
        target = self.information
        if target is not None and f"{target.sequence:04d}" == _cut(record, 3, 6):
            self._add_information(
                _cut(record, 11, 115) if record.startswith("32") else _cut(record, 11, 100)
            )
        yield from ()

    def _free_communication(self, record: str) -> Iterator[Event]:
        # Record 4 is a message from the bank to the account holder, not about a movement.
        yield from ()

    def _new_balance(self, record: str) -> Iterator[Event]:
        yield from self._flush_movement()
        statement = self.statement
        assert statement is not None
        statement.closing = _amount(record, 42, 43, 57, self.line, "new balance")
        statement.closing_date = _date(record, 58, 63, self.line, "new balance date")
        self._check_new_balance(statement, record)
        self.statement = None
        self.finished = statement
        self.target = self.information = None

    def _trailer(self, record: str) -> Iterator[Event]:
        block = self.block
        if block is None:
            raise ImportFormatError("trailer record 9 without a header record 0", line=self.line)
        if self.statement is not None:
            raise ImportFormatError(
                f"trailer record 9 inside the statement that starts at line"
                f" {self.statement.line} (no record 8 before it)",
                line=self.line,
            )
        count = _number(record, 17, 22, self.line, "record count")
        debit = _thousandths(_number(record, 23, 37, self.line, "debit total"))
        credit = _thousandths(_number(record, 38, 52, self.line, "credit total"))
        statement = self.finished
        if statement is not None:
            self._check_trailer(statement, block, count, debit, credit)
            yield self._send_end()
        self.block = None

    # --- movements ----------------------------------------------------------------------

    def _start_movement(self, movement: _Movement) -> None:
        statement = self.statement
        assert statement is not None and self.block is not None
        expected = statement.last_sequence + 1
        if movement.sequence != expected:
            statement.warn(
                "sequence_gap",
                f"movement sequence number {movement.sequence:04d} where {expected:04d} was"
                " expected",
                self.line,
            )
        statement.last_sequence = movement.sequence
        if movement.amount < 0:
            self.block.debit -= movement.amount
        else:
            self.block.credit += movement.amount
        self.movement = movement

    def _add_information(self, text: str) -> None:
        target = self.information
        assert target is not None
        if self.information_structured:
            target.information.append(text)
        else:
            # Free text is for people and for matching, whichever detail it follows.
            owner = self.movement or target
            owner.free_text.append(text)

    def _flush_movement(self) -> Iterator[Event]:
        movement, statement = self.movement, self.statement
        self.movement = None
        if movement is None or statement is None:
            return
        statement.entries += 1
        statement.total += movement.amount
        yield self._entry(statement, movement)

    def _entry(self, statement: _Statement, movement: _Movement) -> Entry:
        booking_date = movement.booking_date or movement.value_date
        if booking_date is None:
            raise ImportFormatError(
                "movement has neither an entry date nor a value date", line=movement.line
            )
        remittance, reference = movement.remittance_and_reference()
        free_text = _collapse("".join(movement.free_text))
        details = _entry_details(movement)
        return Entry(
            statement_index=statement.index,
            sequence=statement.entries,
            booking_date=booking_date,
            amount=movement.amount,
            currency=statement.account.currency,
            value_date=movement.value_date,
            counterparty_name=movement.counterparty_name,
            counterparty_iban=movement.counterparty_account,
            counterparty_bic=movement.counterparty_bic,
            remittance=" ".join(part for part in (remittance, free_text) if part) or None,
            structured_reference=reference,
            bank_reference=self._unique_reference(statement, movement, details),
            end_to_end_id=movement.end_to_end_id,
            transaction_code=movement.transaction_code.strip() or None,
            details=details,
        )

    def _unique_reference(
        self, statement: _Statement, movement: _Movement, details: dict[str, str]
    ) -> str | None:
        reference = movement.bank_reference
        if reference is None:
            return None
        where = f"statement {statement.index + 1}, sequence {movement.sequence:04d}"
        first = self.bank_references.setdefault(reference, where)
        if first == where:
            return reference
        details["bank_reference"] = reference
        statement.warn(
            "duplicate_bank_reference",
            f"bank reference {reference!r} was already used by {first}",
            movement.line,
        )
        return None

    # --- consistency --------------------------------------------------------------------

    def _check_continuity(self, statement: _Statement) -> None:
        previous = self.previous
        if (
            previous is not None
            and previous.closing is not None
            and previous.account.key == statement.account.key
            and previous.closing != statement.opening
        ):
            statement.warn(
                "statement_gap",
                f"old balance {statement.opening} differs from the new balance"
                f" {previous.closing} of the previous statement of this account",
                self.line,
            )

    def _check_new_balance(self, statement: _Statement, record: str) -> None:
        account = _account(record, statement.structure, -1, self.line)
        if account != statement.account:
            statement.warn(
                "account_mismatch",
                f"record 8 names account {account.key} {account.currency}, record 1"
                f" {statement.account.key} {statement.account.currency}",
                self.line,
            )
        number = _cut(record, 2, 4)
        if number != statement.number:
            statement.warn(
                "statement_number_mismatch",
                f"record 8 has statement number {number}, record 1 {statement.number}",
                self.line,
            )
        if (
            statement.opening_date is not None
            and statement.closing_date is not None
            and statement.closing_date < statement.opening_date
        ):
            statement.warn(
                "date_mismatch",
                f"new balance date {statement.closing_date} is before the old balance date"
                f" {statement.opening_date}",
                self.line,
            )
        assert statement.closing is not None
        expected = statement.opening + statement.total
        if expected != statement.closing:
            statement.warn(
                "balance_mismatch",
                f"old balance {statement.opening} + movements {statement.total} = {expected},"
                f" but the new balance is {statement.closing}",
                self.line,
            )

    def _check_trailer(
        self, statement: _Statement, block: _Block, count: int, debit: Decimal, credit: Decimal
    ) -> None:
        if count != block.records:
            statement.warn(
                "trailer_count_mismatch",
                f"record 9 counts {count} records, the file has {block.records}",
                self.line,
            )
        if (debit, credit) != (block.debit, block.credit):
            statement.warn(
                "trailer_totals_mismatch",
                f"record 9 totals debit {debit} / credit {credit}, the movements"
                f" {block.debit} / {block.credit}",
                self.line,
            )

    def _close_block_without_trailer(self) -> Iterator[Event]:
        statement = self.finished
        if statement is not None:
            statement.warn(
                "missing_trailer",
                "no trailer record 9 after the new balance: the totals could not be checked",
                self.line,
            )
            yield self._send_end()
        self.block = None

    def _send_end(self) -> StatementEnd:
        statement = self.finished
        assert statement is not None
        self.finished = None
        self.previous = statement
        return statement.end()
