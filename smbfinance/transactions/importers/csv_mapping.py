"""Bank CSV exports read through a column mapping the user gives. Pure.

Every bank exports a different CSV, so nothing is guessed about the columns: the mapping
names them (by their header text). What can be detected safely is: the delimiter
(`csv.Sniffer`, when the mapping leaves it open) and the encoding (UTF-8, with or without
BOM, else windows-1252 — what Belgian banks' Excel-oriented exports use).

Strictness: a value that does not parse is an ImportFormatError naming the line (as
counted in the file, header = line 1) and the column, e.g. line 7, column "Datum". An
amount is never guessed: with decimal separator "," the text "1.234" is an error unless
"." is the declared thousands separator.

The whole file is one statement (index 0) without balances.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import BinaryIO, Literal

from smbfinance.transactions.importers import compact_iban, normalise_reference, tidy_amount
from smbfinance.transactions.importers.model import (
    Entry,
    Event,
    Format,
    ImportFormatError,
    StatementEnd,
    StatementStart,
)

_SNIFF_BYTES = 64 * 1024
_DELIMITERS = ";,\t|"
_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_DIGITS = re.compile(r"\d+", re.ASCII)
_GROUPED = {sep: re.compile(rf"\d{{1,3}}(?:{re.escape(sep)}\d{{3}})+", re.ASCII)
            for sep in (".", ",", " ", "'")}


@dataclass(frozen=True)
class CsvMapping:
    """Which column holds what, and how dates and amounts are written.

    Give either `amount_column` (signed) or both `debit_column` and `credit_column`
    (unsigned money out / money in; a debit is made negative whatever sign it carries)."""

    date_column: str
    amount_column: str | None = None
    debit_column: str | None = None
    credit_column: str | None = None
    value_date_column: str | None = None
    description_column: str | None = None
    counterparty_column: str | None = None
    iban_column: str | None = None
    reference_column: str | None = None  # payment reference: OGM / RF normalised
    bank_reference_column: str | None = None  # the bank's unique id of the transaction
    date_format: str = "%Y-%m-%d"
    decimal_separator: Literal[",", "."] = "."
    thousands_separator: Literal["", ".", ",", " ", "'"] = ""
    delimiter: str | None = None  # None: detected with csv.Sniffer
    encoding: str | None = None  # None: UTF-8 (BOM or not), else windows-1252
    currency: str = "EUR"
    account_iban: str | None = None

    def __post_init__(self) -> None:
        if not self.date_column:
            raise ValueError("date_column is required")
        split = self.debit_column is not None or self.credit_column is not None
        if self.amount_column is not None and split:
            raise ValueError("give amount_column or debit_column + credit_column, not both")
        if self.amount_column is None and not (self.debit_column and self.credit_column):
            raise ValueError("give amount_column, or both debit_column and credit_column")
        if self.decimal_separator not in (",", "."):
            raise ValueError('decimal_separator is "," or "."')
        if self.thousands_separator == self.decimal_separator:
            raise ValueError("thousands and decimal separators must differ")
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise ValueError("delimiter is one character")
        if not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise ValueError("currency is an ISO 4217 code such as EUR")
        if self.encoding is not None:
            codecs.lookup(self.encoding)  # LookupError for an unknown codec, now not later

    def columns(self) -> dict[str, str]:
        """Role → header text, for the columns this mapping uses."""
        roles = {
            "date": self.date_column,
            "amount": self.amount_column,
            "debit": self.debit_column,
            "credit": self.credit_column,
            "value_date": self.value_date_column,
            "description": self.description_column,
            "counterparty": self.counterparty_column,
            "iban": self.iban_column,
            "reference": self.reference_column,
            "bank_reference": self.bank_reference_column,
        }
        return {role: column for role, column in roles.items() if column}


def _is_utf8(stream: BinaryIO) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := stream.read(1024 * 1024):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


class CsvParser:
    format: Format = "csv"

    def __init__(self, mapping: CsvMapping) -> None:
        self.mapping = mapping

    def _text_stream(self, stream: BinaryIO) -> io.TextIOWrapper:
        encoding = self.mapping.encoding
        if encoding is None:
            # Deciding needs the whole file; scan it once (flat memory) and rewind.
            if not stream.seekable():
                stream = io.BytesIO(stream.read())
            start = stream.tell()
            encoding = "utf-8-sig" if _is_utf8(stream) else "cp1252"
            stream.seek(start)
        elif encoding.replace("_", "-").lower() in ("utf-8", "utf8"):
            encoding = "utf-8-sig"  # a BOM is never part of the first header
        # cp1252 leaves five bytes undefined; "replace" keeps a stray one from failing the file.
        errors = "replace" if encoding == "cp1252" else "strict"
        return io.TextIOWrapper(stream, encoding=encoding, errors=errors, newline="")

    def _dialect_delimiter(self, sample: str) -> str:
        if self.mapping.delimiter:
            return self.mapping.delimiter
        try:
            return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
        except csv.Error:
            # The sniffer gives up on short or irregular samples; the header line is enough.
            header = sample.splitlines()[0] if sample else ""
            counts = {d: header.count(d) for d in _DELIMITERS}
            best = max(counts, key=lambda d: counts[d])
            if counts[best] == 0:
                raise ImportFormatError("cannot tell the column delimiter; set it in the "
                                        "mapping", line=1) from None
            return best

    def parse(self, stream: BinaryIO) -> Iterator[Event]:
        mapping = self.mapping
        text = self._text_stream(stream)
        try:
            sample = text.read(_SNIFF_BYTES)
        except UnicodeDecodeError as exc:
            raise ImportFormatError(f"the file is not valid {text.encoding}: {exc.reason}",
                                    line=1) from None
        if not sample.strip():
            raise ImportFormatError("the file is empty", line=1)
        delimiter = self._dialect_delimiter(sample)
        rows = csv.reader(_Chain(sample, text), delimiter=delimiter, strict=True)
        try:
            header = next(rows)
        except csv.Error as exc:
            raise ImportFormatError(f"unreadable CSV header: {exc}", line=1) from None
        names = [name.strip() for name in header]
        positions: dict[str, int] = {}
        for role, column in mapping.columns().items():
            if column.strip() not in names:
                raise ImportFormatError(
                    f'column "{column}" ({role}) is not in the header; the header has: '
                    + ", ".join(f'"{n}"' for n in names),
                    line=rows.line_num,
                )
            positions[role] = names.index(column.strip())

        yield StatementStart(
            statement_index=0,
            account_iban=compact_iban(mapping.account_iban) if mapping.account_iban else None,
            account_number=None,
            currency=mapping.currency,
        )
        count = 0
        while True:
            # A quoted field may span lines: the error names the line the record starts on.
            line = rows.line_num + 1
            try:
                row = next(rows)
            except StopIteration:
                break
            except csv.Error as exc:
                raise ImportFormatError(f"unreadable CSV: {exc}", line=line) from None
            except UnicodeDecodeError as exc:
                raise ImportFormatError(f"the file is not valid {text.encoding}: {exc.reason}",
                                        line=line) from None
            if not any(cell.strip() for cell in row):
                continue
            entry = self._entry(row, positions, line, count + 1)
            count += 1
            yield entry
        yield StatementEnd(statement_index=0, closing_balance=None, closing_date=None,
                           entry_count=count)

    # -- one row -------------------------------------------------------------------------

    def _cell(self, row: list[str], positions: dict[str, int], role: str, line: int) -> str | None:
        position = positions.get(role)
        if position is None:
            return None
        if position >= len(row):
            column = self.mapping.columns()[role]
            raise ImportFormatError(
                f'column "{column}": the row has {len(row)} fields, the header more', line=line
            )
        value = row[position].strip()
        return value or None

    def _date(self, value: str | None, role: str, line: int, *, required: bool) -> date | None:
        column = self.mapping.columns().get(role, role)
        if value is None:
            if required:
                raise ImportFormatError(f'column "{column}": the date is empty', line=line)
            return None
        try:
            return datetime.strptime(value, self.mapping.date_format).date()
        except ValueError:
            raise ImportFormatError(
                f'column "{column}": {value!r} is not a date in the format '
                f"{self.mapping.date_format}",
                line=line,
            ) from None

    def _amount(self, value: str, role: str, line: int) -> Decimal:
        mapping = self.mapping
        text = value.strip()
        negative = False
        if text[:1] in ("+", "-"):
            negative, text = text[0] == "-", text[1:].strip()
        elif text.endswith("-"):  # some banks write the sign after the number
            negative, text = True, text[:-1].strip()
        thousands = mapping.thousands_separator
        if thousands == " ":
            text = _SPACES.sub(" ", text)  # no-break spaces are what spreadsheets write
        integer, separator, fraction = text.partition(mapping.decimal_separator)
        grouped = bool(thousands) and thousands in integer
        valid = (
            (_GROUPED[thousands].fullmatch(integer) if grouped else _DIGITS.fullmatch(integer))
            and (not separator or _DIGITS.fullmatch(fraction))
        )
        if not valid:
            raise ImportFormatError(
                f'column "{mapping.columns()[role]}": {value!r} is not an amount with decimal '
                f'separator "{mapping.decimal_separator}"'
                + (f' and thousands separator "{thousands}"' if thousands else
                   " and no thousands separator"),
                line=line,
            )
        digits = integer.replace(thousands, "") if grouped else integer
        amount = tidy_amount(Decimal(f"{digits}.{fraction}" if separator else digits))
        return -amount if negative else amount

    def _entry(self, row: list[str], positions: dict[str, int], line: int, sequence: int) -> Entry:
        mapping = self.mapping
        booking_date = self._date(self._cell(row, positions, "date", line), "date", line,
                                  required=True)
        assert booking_date is not None
        value_date = self._date(self._cell(row, positions, "value_date", line), "value_date",
                                line, required=False)
        if mapping.amount_column:
            raw = self._cell(row, positions, "amount", line)
            if raw is None:
                raise ImportFormatError(f'column "{mapping.amount_column}": the amount is empty',
                                        line=line)
            amount = self._amount(raw, "amount", line)
        else:
            debit_raw = self._cell(row, positions, "debit", line)
            credit_raw = self._cell(row, positions, "credit", line)
            debit = abs(self._amount(debit_raw, "debit", line)) if debit_raw else Decimal(0)
            credit = self._amount(credit_raw, "credit", line) if credit_raw else Decimal(0)
            if debit and credit:
                raise ImportFormatError(
                    f'columns "{mapping.debit_column}" and "{mapping.credit_column}" are both '
                    "filled in; a row is either money out or money in",
                    line=line,
                )
            if debit_raw is None and credit_raw is None:
                raise ImportFormatError(
                    f'columns "{mapping.debit_column}" and "{mapping.credit_column}" are both '
                    "empty",
                    line=line,
                )
            amount = credit - debit
        iban = self._cell(row, positions, "iban", line)
        reference = self._cell(row, positions, "reference", line)
        description = self._cell(row, positions, "description", line)
        return Entry(
            statement_index=0,
            sequence=sequence,
            booking_date=booking_date,
            amount=amount,
            currency=mapping.currency,
            value_date=value_date,
            counterparty_name=self._cell(row, positions, "counterparty", line),
            counterparty_iban=compact_iban(iban) if iban else None,
            remittance=" ".join(description.split()) if description else None,
            structured_reference=normalise_reference(reference),
            bank_reference=self._cell(row, positions, "bank_reference", line),
            details={"line": str(line)},
        )


class _Chain(io.TextIOBase):
    """The sniffed sample, then the rest of the text stream, read line by line by csv."""

    def __init__(self, first: str, rest: io.TextIOWrapper) -> None:
        self._buffer = io.StringIO(first, newline="")
        self._rest = rest
        self._first_done = False

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return self

    def __next__(self) -> str:
        line = self._buffer.readline()
        if line and (line.endswith(("\n", "\r")) or self._first_done):
            return line
        if not self._first_done:
            # The sample may end mid-line: glue on the rest of that line from the stream.
            self._first_done = True
            line += self._rest.readline()
            if line:
                return line
        line = self._rest.readline()
        if not line:
            raise StopIteration
        return line
