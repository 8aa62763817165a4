"""SWIFT MT940 customer statements, read with the maintained `mt-940` package. Pure.

The file is cut into tags here, one line at a time (so that every error names its line and
memory stays flat), and each tag's content is handed to `mt-940`: it parses the balances,
the `:61:` statement lines (amount, mark, dates with the year-boundary fix, references)
and the German `?20`-`?29` sub-fields of `:86:` with their SEPA keywords (EREF+, SVWZ+,
…). The other `:86:` dialects are read here: the Dutch/SWIFT `/EREF/…/NAME/…/REMI/…`
layout (Rabobank, ING, bunq), Penta's `999type:text:name:IBAN` and free text.

Where `mt-940` 5.1.1 misreads a real file in a way that matters, this module works around
it, each time in one small function:

- the whole file is never given to `mt940.parse`: it glues a statement-level `:86:`
  written after `:62F:` (ING's `/SUM/` line) onto the last transaction, drops every line
  that is only "-" even inside an `:86:` (ING's `MND` + "-" + `EV01` mandate reference)
  and, with the default `:61:` rules, starts no new transaction for a `:61:` without a
  transaction type;
- a `:61:` whose customer reference is longer than 16 characters (de Volksbank: SNS,
  ASN, RegioBank put the counterparty IBAN there) fails the library's pattern: it is
  retried with the same pattern allowing 34 characters;
- a space between the amount and the transaction type ("D12,35 NRTI", Commerzbank and
  Deutsche Bank) is removed first, or the type would be read as customer reference;
- "NONREF" written without a transaction type (Penta) is not read as type "NONR";
- a `:28C:` wrapped over two lines (ING sample) is joined before parsing.

Statements are delimited by `:20:` and by the SWIFT envelope (`{1:…}{2:…}{4:` … `-}`);
intermediate balances (`:60M:`/`:62M:`) open and close a statement like final ones. A
statement without a closing balance ends with `closing_balance=None` and a warning.
Amounts follow the SWIFT marks: C and RD (reversal of a debit) are money in, D and RC
(reversal of a credit) money out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, BinaryIO, ClassVar

import mt940
import pycountry
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from smbfinance.transactions.importers._lines import decoded_lines
from smbfinance.transactions.importers.model import (
    Entry,
    Event,
    Format,
    ImportFormatError,
    ImportWarning,
    StatementEnd,
    StatementStart,
)

# Every fix the library offers, named so that a new option in a later release is a
# deliberate choice rather than a silent change.
_OPTIONS = mt940.Options(
    applicant_iban=True,  # ?31 is the counterparty account, not part of the name
    merge_keeps_values=True,
    reversal_sign=True,  # RC is money out
    case_insensitive_marks=True,
    timezone_offset=True,
    unbounded_details=True,  # never cut :86: after 9 × 65 characters
    non_swift_free_text=True,
    floor_limit_blank_mark=True,
    strip_bom=True,
    gvc_leading_text=True,
)

_KNOWN_TAGS = frozenset({
    "13", "13D", "20", "21", "25", "28", "28C", "34F", "60", "60F", "60M", "61",
    "62", "62F", "62M", "64", "65", "86", "90C", "90D", "NS",
})
_OPENING_TAGS = frozenset({"60", "60F", "60M"})
_CLOSING_TAGS = frozenset({"62", "62F", "62M"})
_TAG_LINE = re.compile(r":([0-9]{2}[A-Z]?|NS):(.*)", re.ASCII)
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}", re.ASCII)
_SPACE_BEFORE_TYPE = re.compile(r"(\d{6}(?:\d{4})?R?[CDcd][A-Z]?[\d,]+) (?=[A-Z][A-Z0-9]{3})")
_GERMAN_DETAILS = re.compile(r"\d{3}\?\d{2}", re.ASCII)
_TRIODOS_DETAILS = re.compile(r"\d{3}>\d{2}", re.ASCII)
_SWIFT_KEYS = (
    "EREF", "PREF", "KREF", "MARF", "CSID", "CNTP", "BENM", "ORDP", "NAME", "IBAN",
    "BIC", "ADDR", "REMI", "RTRN", "ISDT", "TRCD", "PURP", "ULTD", "ULTC", "ULTB",
    "SUM", "EXCH", "OCMT", "CHGS", "BUSP", "SVCL", "CDTRREFTP", "CDTRREF",
)
_SWIFT_KEY = re.compile(r"/(" + "|".join(_SWIFT_KEYS) + r")/")
_KNAB_COUNTERPARTY = re.compile(r"REK:\s*([A-Z0-9]+)\s*/\s*NAAM:\s*(.+)$", re.ASCII)
# The SWIFT line length: a full :86: line was most likely wrapped inside a word.
_SWIFT_LINE = 65
_NO_REFERENCE = frozenset({"NONREF", "NOTPROVIDED", ""})
_OGM = re.compile(r"[0-9]{12}", re.ASCII)
_ENVELOPE_TEXT = "{4:"
_CONTROL = str.maketrans("", "", "\x01\x03")  # SOH/ETX around each message (PostFinance)


class Mt940Parser:
    format: Format = "mt940"

    def parse(self, stream: BinaryIO) -> Iterator[Event]:
        reader = _Reader()
        for tag in _tags(decoded_lines(stream)):
            yield from reader.feed(tag)
        yield from reader.finish()


# --- cutting the file into tags -----------------------------------------------------------


@dataclass
class _Tag:
    name: str  # "20", "61", "60F", …; "-" for the end of a message
    line: int
    lines: list[str] = field(default_factory=list)

    @property
    def value(self) -> str:
        return "\n".join(self.lines)


_END = "-"


def _tags(lines: Iterator[tuple[int, str]]) -> Iterator[_Tag]:
    """The tags of the file in order, with an `_END` tag where a message ends."""
    cutter = _TagCutter()
    for number, raw in lines:
        yield from cutter.feed(number, raw)
    yield from cutter.finish()


class _TagCutter:
    def __init__(self) -> None:
        self.current: _Tag | None = None
        self.dash_line: int | None = None  # a lone "-" waiting for the next line

    def feed(self, number: int, raw: str) -> Iterator[_Tag]:
        # Content keeps its trailing blanks (fixed-width :86: lines); decisions do not.
        content = raw.translate(_CONTROL)
        text = content.rstrip()
        if self.dash_line is not None:
            yield from self._after_dash(text)
        if text == "-":
            self.dash_line = number
            return
        # "{" is outside the SWIFT character set: such a line is always envelope.
        if text.startswith(("{", "-}")):
            yield from self._end_message(number)
            content = content.split(_ENVELOPE_TEXT, 1)[1] if _ENVELOPE_TEXT in content else ""
            if not content.strip():
                return
        yield from self._content(number, content)

    def finish(self) -> Iterator[_Tag]:
        if self.dash_line is not None:
            yield from self._end_message(self.dash_line)
        elif self.current is not None:
            yield self.current

    def _after_dash(self, text: str) -> Iterator[_Tag]:
        assert self.dash_line is not None
        current = self.current
        if current is not None and current.name == "86" and _is_continuation(text):
            # ING wraps a mandate reference as "MND" / "-" / "EV01": content, not an end.
            current.lines.append("-")
        else:
            yield from self._end_message(self.dash_line)
        self.dash_line = None

    def _end_message(self, line: int) -> Iterator[_Tag]:
        if self.current is not None:
            yield self.current
        self.current = None
        yield _Tag(name=_END, line=line)

    def _content(self, number: int, content: str) -> Iterator[_Tag]:
        match = _TAG_LINE.match(content)
        if match and match.group(1) in _KNOWN_TAGS:
            if self.current is not None:
                yield self.current
            self.current = _Tag(name=match.group(1), line=number, lines=[match.group(2)])
        elif self.current is not None:
            self.current.lines.append(content)
        # Anything else sits outside a tag: bank headers ("ABNANL2A", "940", ":940:").


def _is_continuation(text: str) -> bool:
    return bool(text) and not text.startswith(("{", "-", ":"))


# --- the library's :61: with a wider customer reference ------------------------------------


def _widened_statement_pattern() -> re.Pattern[str]:
    """The library's own :61: pattern with room for a 34-character customer reference."""
    narrow = r"(?P<customer_reference>((?!//)[^\n]){0,16})"
    pattern = mt940.tags.Statement.pattern
    if narrow not in pattern:
        # A new mt-940 release rewrote the pattern: this work-around needs a new look.
        raise RuntimeError("mt-940's :61: pattern changed; review _Statement61")
    wide = narrow.replace("{0,16}", "{0,34}")
    return re.compile(pattern.replace(narrow, wide), mt940.tags.Tag.RE_FLAGS)


class _Statement61(mt940.tags.Statement):
    """`mt940.tags.Statement` (slug "statement", so the library's processors still run)
    that retries a line it cannot match with a 34-character customer reference."""

    wide_pattern: ClassVar[re.Pattern[str]] = _widened_statement_pattern()

    def parse(self, transactions: mt940.models.Transactions, value: str) -> dict[str, Any]:
        match = self.re.match(value) or self.wide_pattern.match(value)
        if match is None:
            raise RuntimeError(f"not an MT940 statement line: {value!r}")
        return match.groupdict()


_STATEMENT_TAG = _Statement61()


def _library() -> mt940.models.Transactions:
    return mt940.models.Transactions(tags={61: _STATEMENT_TAG}, options=_OPTIONS)


# The :86: processor only reads the options from its collection.
_DETAILS_CONTEXT = _library()
_DETAILS_TAG = mt940.tags.TAG_BY_ID[86]


# --- :86: ---------------------------------------------------------------------------------


@dataclass
class _Details:
    """What an :86: says about the counterparty and the payment."""

    name: str | None = None
    iban: str | None = None
    bic: str | None = None
    remittance: str | None = None
    structured_reference: str | None = None
    end_to_end_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None


def _reference(value: object) -> str | None:
    cleaned = _clean(value)
    return None if cleaned is None or cleaned.upper() in _NO_REFERENCE else cleaned


def _account(value: str | None) -> str | None:
    if value is None:
        return None
    compact = value.replace(" ", "").upper()
    return compact if _IBAN_SHAPE.fullmatch(compact) else value


def _details(lines: list[str]) -> _Details:
    glued = "".join(lines)
    if _GERMAN_DETAILS.match(glued):
        return _german(glued)
    if _TRIODOS_DETAILS.match(glued):
        return _german(glued.replace(">", "?"))
    if _SWIFT_KEY.match(glued):
        return _swift(glued)
    if glued.startswith("999"):
        return _penta(" ".join(line.strip() for line in lines)[3:])
    return _free_text(lines)


# The library's names for the German sub-fields and SEPA keywords → our detail keys.
_GERMAN_EXTRA = {
    "transaction_code": "gvc",
    "posting_text": "posting_text",
    "prima_nota": "prima_nota",
    "return_debit_notes": "text_key_extension",
    "recipient_name": "recipient_name",
    "additional_purpose": "additional_purpose",
    "customer_reference": "customer_reference",
    "additional_position_reference": "mandate_reference",
    "applicant_creditor_id": "creditor_id",
    "purpose_code": "purpose_code",
    "additional_position_date": "mandate_date",
    "deviate_applicant": "ultimate_debtor",
    "deviate_recipient": "ultimate_creditor",
    "original_amount": "original_amount",
    "compensation_amount": "compensation_amount",
    "settlement_tag": "settlement_date",
    "debitor_identifier": "debtor_id",
    "FRST_ONE_OFF_RECC": "sequence_type",
}


def _german(text: str) -> _Details:
    parsed: dict[str, Any] = mt940.processors.transaction_details_post_processor(
        _DETAILS_CONTEXT, _DETAILS_TAG, {"transaction_details": text},
        {"transaction_details": text},
    )
    details = _Details(
        name=_clean(parsed.get("applicant_name")),
        iban=_account(_clean(parsed.get("applicant_iban"))),
        bic=_clean(parsed.get("applicant_bin")),
        remittance=_clean(parsed.get("purpose")),
        end_to_end_id=_reference(parsed.get("end_to_end_reference")),
    )
    for key, name in _GERMAN_EXTRA.items():
        value = _clean(parsed.get(key))
        if value:
            details.extra[name] = value
    return details


def _swift_fields(text: str) -> dict[str, str]:
    """`/KEY/value/KEY/value…` cut at the known keys; a value keeps its inner slashes."""
    matches = list(_SWIFT_KEY.finditer(text))
    fields: dict[str, str] = {}
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(text)
        value = text[match.end():end].rstrip("/")
        fields.setdefault(match.group(1), value)
    return fields


def _swift(text: str) -> _Details:
    fields = _swift_fields(text)
    details = _Details(
        name=_clean(fields.pop("NAME", None)),
        iban=_account(_clean(fields.pop("IBAN", None))),
        bic=_clean(fields.pop("BIC", None)),
        end_to_end_id=_reference(fields.pop("EREF", None)),
    )
    counterparty = fields.pop("CNTP", None)
    if counterparty is not None:
        # ING: /CNTP/account/BIC/name/city/
        parts = [*counterparty.split("/"), "", "", ""]
        details.iban = details.iban or _account(_clean(parts[0]))
        details.bic = details.bic or _clean(parts[1])
        details.name = details.name or _clean(parts[2])
        if _clean(parts[3]):
            details.extra["counterparty_city"] = parts[3].strip()
    _read_remi(details, fields.pop("REMI", None))
    for key, value in fields.items():
        if _clean(value):
            details.extra[key.lower()] = value.strip("/ ")
    return details


def _read_remi(details: _Details, remi: str | None) -> None:
    """REMI is `USTD//free text` or `STRD/CUR/reference` (or plain text, bunq)."""
    if remi is None:
        return
    kind, _, rest = remi.partition("/")
    if kind == "USTD":
        details.remittance = _clean(rest.lstrip("/"))
    elif kind == "STRD":
        issuer, _, reference = rest.partition("/")
        reference = reference.strip("/ ")
        details.extra["reference_issuer"] = issuer
        if _OGM.fullmatch(reference) or reference.upper().startswith("RF"):
            details.structured_reference = reference
        else:
            details.remittance = reference or None
            details.extra["creditor_reference"] = reference
    else:
        details.remittance = _clean(remi)


def _penta(text: str) -> _Details:
    """`type:text:name:IBAN[:more]`; the text may itself hold colons, so the fields are
    found from the IBAN backwards."""
    parts = text.split(":")
    for index in range(len(parts) - 1, 1, -1):
        candidate = parts[index].strip()
        if _IBAN_SHAPE.fullmatch(candidate):
            details = _Details(
                name=_clean(parts[index - 1]),
                iban=candidate,
                remittance=_clean(":".join(parts[1:index - 1])),
            )
            details.extra["booking_type"] = parts[0].strip()
            more = _clean(":".join(parts[index + 1:]))
            if more:
                details.extra["additional_information"] = more
            return details
    return _Details(remittance=_clean(text))


def _free_text(lines: list[str]) -> _Details:
    parts: list[str] = []
    previous = ""
    for line in lines:
        # A full SWIFT line that does not end in a blank was wrapped inside a word.
        wrapped = len(previous) >= _SWIFT_LINE and not previous.endswith(" ")
        parts.append(line if wrapped else "\n" + line)
        previous = line
    remittance = _clean("".join(parts))
    details = _Details(remittance=remittance)
    knab = _KNAB_COUNTERPARTY.search(remittance or "")
    if knab and _IBAN_SHAPE.fullmatch(knab.group(1)):
        details.iban, details.name = knab.group(1), _clean(knab.group(2))
        details.remittance = _clean((remittance or "")[:knab.start()])
    return details


# --- statements ---------------------------------------------------------------------------


def _plain_date(value: object) -> date | None:
    if isinstance(value, date):
        return date(value.year, value.month, value.day)
    return None


@dataclass
class _Account:
    number: str
    iban: str | None
    currency: str | None


def _is_valid_iban(value: str) -> bool:
    try:
        IBAN(value)
    except (SchwiftyException, ValueError):
        return False
    return True


def _parse_account(value: str) -> _Account:
    """`:25:` as written; an IBAN in it, possibly followed by the currency ("NL…EUR",
    "NL… EUR"), is read out. Whether the last three letters are a currency or part of
    the IBAN is decided by the IBAN check when the shape leaves it open."""
    written = " ".join(value.split())
    compact = written.replace(" ", "").upper()
    tail = compact[-3:]
    head = compact[:-3]
    if (
        len(compact) > 3
        and tail.isalpha()
        and head[-1:].isdigit()
        and _IBAN_SHAPE.fullmatch(head)
        and pycountry.currencies.get(alpha_3=tail) is not None
        and not _is_valid_iban(compact)
    ):
        return _Account(number=written, iban=head, currency=tail)
    iban = compact if _IBAN_SHAPE.fullmatch(compact) else None
    return _Account(number=written, iban=iban, currency=None)


@dataclass
class _Statement:
    index: int
    line: int
    reference: str
    library: mt940.models.Transactions = field(default_factory=_library)
    account: _Account | None = None
    number: str | None = None
    opening: Decimal | None = None
    opening_date: date | None = None
    opening_currency: str | None = None
    closing: Decimal | None = None
    closing_date: date | None = None
    closing_line: int | None = None
    currency: str | None = None
    started: bool = False
    entries: int = 0
    total: Decimal = Decimal(0)
    pending: _Tag | None = None  # the :61: being read
    pending_details: _Tag | None = None  # its :86:
    warnings: list[ImportWarning] = field(default_factory=list)

    def warn(self, code: str, message: str, line: int | None) -> None:
        self.warnings.append(ImportWarning(code=code, message=message, line=line))


def _library_parse(statement: _Statement, tag: _Tag, value: str) -> None:
    try:
        statement.library.parse(f":{tag.name}:{value}")
    except (RuntimeError, ValueError, ArithmeticError) as error:
        raise ImportFormatError(
            f"cannot read :{tag.name}: {value!r} ({_reason(error)})", line=tag.line
        ) from None


def _reason(error: Exception) -> str:
    return str(error.args[0]) if error.args else type(error).__name__


def _balance(statement: _Statement, tag: _Tag) -> tuple[Decimal, date | None, str | None]:
    _library_parse(statement, tag, "".join(tag.lines).strip())
    key = tag.name if not tag.name.isdigit() else int(tag.name)
    slug = mt940.tags.TAG_BY_ID[key].slug
    balance = statement.library.data.get(slug)
    amount = getattr(balance, "amount", None)
    if not isinstance(amount, mt940.models.Amount):
        raise ImportFormatError(f"balance :{tag.name}: has no amount", line=tag.line)
    return amount.amount, _plain_date(getattr(balance, "date", None)), amount.currency


def _statement_line(statement: _Statement, tag: _Tag) -> dict[str, Any]:
    first, *more = tag.lines
    first = _SPACE_BEFORE_TYPE.sub(r"\1", first.strip())
    # The library allows one supplementary line; banks wrap it (ING's /TRCD/), so the
    # rest is joined into that one line.
    value = first + ("\n" + "".join(line.strip() for line in more) if more else "")
    # Each :61: gets a fresh transaction: the library would otherwise merge a :61:
    # without a transaction type into the previous one.
    statement.library.transactions.clear()
    _library_parse(statement, tag, value)
    data = dict(statement.library.transactions[-1].data)
    if data.get("id") == "NONR" and str(data.get("customer_reference") or "").startswith("EF"):
        data["id"] = None
        data["customer_reference"] = "NONR" + str(data["customer_reference"])
    return data


class _Reader:
    """The tag-by-tag state machine behind `Mt940Parser.parse`."""

    def __init__(self) -> None:
        self.statement: _Statement | None = None
        self.previous: _Statement | None = None
        self.statements = 0
        self.last_line = 0
        self.bank_references: dict[str, str] = {}

    def feed(self, tag: _Tag) -> Iterator[Event]:
        self.last_line = tag.line
        if tag.name == _END:
            yield from self._close()
            return
        if tag.name == "20":
            yield from self._close()
            self.statement = _Statement(
                index=self.statements, line=tag.line, reference=" ".join(tag.value.split())
            )
            self.statements += 1
            return
        statement = self.statement
        if statement is None:
            raise ImportFormatError(
                f"tag :{tag.name}: outside a statement (no :20: before it)", line=tag.line
            )
        yield from self._tag(statement, tag)

    def finish(self) -> Iterator[Event]:
        yield from self._close()
        if self.statements == 0:
            raise ImportFormatError(
                "not an MT940 file: no statement (:20:) found", line=self.last_line or None
            )

    def _tag(self, statement: _Statement, tag: _Tag) -> Iterator[Event]:
        if tag.name == "25":
            statement.account = _parse_account(tag.value)
        elif tag.name in {"28", "28C"}:
            statement.number = "".join(part.strip() for part in tag.lines)
        elif tag.name in _OPENING_TAGS:
            statement.opening, statement.opening_date, statement.opening_currency = _balance(
                statement, tag
            )
        elif tag.name == "61":
            yield from self._flush(statement)
            yield from self._start(statement, tag)
            statement.pending = tag
        elif tag.name == "86":
            # An :86: after the balances describes the statement (ING's /SUM/), not an entry.
            if statement.pending is not None and statement.pending_details is None:
                statement.pending_details = tag
        elif tag.name in _CLOSING_TAGS:
            yield from self._flush(statement)
            statement.closing, statement.closing_date, currency = _balance(statement, tag)
            statement.closing_line = tag.line
            statement.currency = statement.currency or currency
        elif tag.name in {"64", "65"}:
            yield from self._flush(statement)
        # :13D:, :21:, :34F:, :90C:/:90D:, :NS: change no amount and name no account.

    def _start(self, statement: _Statement, tag: _Tag) -> Iterator[Event]:
        if statement.started:
            return
        account = statement.account
        if account is None:
            raise ImportFormatError(
                "statement has no :25: account identification", line=statement.line
            )
        currency = statement.opening_currency or statement.currency or account.currency
        if currency is None:
            raise ImportFormatError(
                "statement has no currency (no opening balance, none in :25:)", line=tag.line
            )
        statement.currency = currency
        statement.started = True
        self._check_continuity(statement)
        yield StatementStart(
            statement_index=statement.index,
            account_iban=account.iban,
            account_number=account.number,
            currency=currency,
            statement_id=statement.number,
            opening_balance=statement.opening,
            opening_date=statement.opening_date,
        )

    def _flush(self, statement: _Statement) -> Iterator[Event]:
        tag, details_tag = statement.pending, statement.pending_details
        statement.pending = statement.pending_details = None
        if tag is None:
            return
        data = _statement_line(statement, tag)
        details = _details(details_tag.lines) if details_tag is not None else _Details()
        statement.entries += 1
        entry = self._entry(statement, tag, data, details)
        statement.total += entry.amount
        yield entry

    def _entry(
        self, statement: _Statement, tag: _Tag, data: dict[str, Any], details: _Details
    ) -> Entry:
        amount = data["amount"].amount
        value_date = _plain_date(data.get("date"))
        booking_date = _plain_date(data.get("entry_date")) or value_date
        assert statement.currency is not None and booking_date is not None
        extra = _line_details(data)
        _apply_volksbank(details, data)
        extra.update(details.extra)
        return Entry(
            statement_index=statement.index,
            sequence=statement.entries,
            booking_date=booking_date,
            amount=amount if amount else Decimal(0),
            currency=statement.currency,
            value_date=value_date,
            counterparty_name=details.name,
            counterparty_iban=details.iban,
            counterparty_bic=details.bic,
            remittance=details.remittance,
            structured_reference=details.structured_reference,
            bank_reference=self._unique_reference(statement, tag, data, extra),
            end_to_end_id=details.end_to_end_id,
            transaction_code=_clean(data.get("id")),
            details=extra,
        )

    def _unique_reference(
        self, statement: _Statement, tag: _Tag, data: dict[str, Any], extra: dict[str, str]
    ) -> str | None:
        reference = _reference(data.get("bank_reference"))
        if reference is None:
            return None
        where = f"statement {statement.index + 1}, entry {statement.entries}"
        first = self.bank_references.setdefault(reference, where)
        if first == where:
            return reference
        extra["bank_reference"] = reference
        statement.warn(
            "duplicate_bank_reference",
            f"bank reference {reference!r} was already used by {first}",
            tag.line,
        )
        return None

    def _close(self) -> Iterator[Event]:
        statement = self.statement
        if statement is None:
            return
        self.statement = None
        yield from self._flush(statement)
        yield from self._start(statement, _Tag(name="20", line=statement.line))
        self._check_balances(statement)
        self.previous = statement
        yield StatementEnd(
            statement_index=statement.index,
            closing_balance=statement.closing,
            closing_date=statement.closing_date,
            entry_count=statement.entries,
            warnings=tuple(statement.warnings),
        )

    def _check_balances(self, statement: _Statement) -> None:
        if statement.closing is None:
            statement.warn(
                "missing_closing_balance",
                "statement has no closing balance (:62F:/:62M:): it could not be checked",
                statement.line,
            )
            return
        if statement.opening is None:
            return
        expected = statement.opening + statement.total
        if expected != statement.closing:
            statement.warn(
                "balance_mismatch",
                f"opening balance {statement.opening} + entries {statement.total} ="
                f" {expected}, but the closing balance is {statement.closing}",
                statement.closing_line,
            )

    def _check_continuity(self, statement: _Statement) -> None:
        previous = self.previous
        if (
            previous is None
            or previous.closing is None
            or statement.opening is None
            or previous.account is None
            or statement.account is None
            or previous.account.number != statement.account.number
        ):
            return
        if previous.closing != statement.opening:
            statement.warn(
                "statement_gap",
                f"opening balance {statement.opening} differs from the closing balance"
                f" {previous.closing} of the previous statement of this account",
                statement.line,
            )


def _line_details(data: dict[str, Any]) -> dict[str, str]:
    """What the :61: line says beyond amount, dates and references used elsewhere."""
    extra: dict[str, str] = {}
    mark = str(data.get("status") or "").upper()
    extra["mark"] = mark
    if mark.startswith("R"):
        extra["reversal"] = "true"
    for key, name in (
        ("customer_reference", "customer_reference"),
        ("extra_details", "supplementary_details"),
        ("funds_code", "funds_code"),
        ("transaction_reference", "statement_reference"),
    ):
        value = _reference(data.get(key))
        if value:
            extra[name] = value
    return extra


def _apply_volksbank(details: _Details, data: dict[str, Any]) -> None:
    """de Volksbank (SNS, ASN, RegioBank) writes the counterparty IBAN as the :61:
    customer reference and the name on the supplementary line, then repeats both at
    the start of the :86:; Rabobank writes the IBAN on the supplementary line."""
    customer = _reference(data.get("customer_reference"))
    supplementary = _reference(data.get("extra_details"))
    if details.iban is None and customer and _IBAN_SHAPE.fullmatch(customer):
        details.iban = customer
        if details.name is None and supplementary and not _IBAN_SHAPE.fullmatch(supplementary):
            details.name = supplementary
        prefix = " ".join(part for part in (customer, details.name) if part)
        if details.remittance and details.remittance.upper().startswith(prefix.upper()):
            details.remittance = _clean(details.remittance[len(prefix):])
    elif details.iban is None and supplementary and _IBAN_SHAPE.fullmatch(supplementary):
        details.iban = supplementary
