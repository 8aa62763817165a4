"""ECB euro foreign exchange reference rates, parsed from the files the ECB publishes. Pure.

Formats, told apart by content (never by file name):
- daily CSV (inside eurofxref.zip): `Date, USD, JPY, ..., ` then one row dated `13 April 2026`,
  every field followed by ", " including a trailing separator;
- historical CSV (eurofxref-hist.csv): `Date,USD,...,` with ISO dates and `N/A` where a
  currency had no rate that day;
- daily, 90-day and historical XML: gesmes:Envelope / Cube / Cube@time / Cube@currency@rate.

A rate is units of the currency per 1 EUR, kept as the exact Decimal written in the file.
A broken file is rejected whole with the line (CSV) or element path (XML) at fault.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

import defusedxml
from defusedxml import ElementTree as SafeET

GESMES_NS = "http://www.gesmes.org/xml/2002-08-01"
EUROFXREF_NS = "http://www.ecb.int/vocabulary/2002-08-01/eurofxref"
if TYPE_CHECKING:
    # Only the type; every parse goes through defusedxml.
    from xml.etree.ElementTree import Element

_ENVELOPE = f"{{{GESMES_NS}}}Envelope"
_CUBE = f"{{{EUROFXREF_NS}}}Cube"

_CURRENCY = re.compile(r"[A-Z]{3}")
# The ECB writes plain positive decimals; anything else (exponents, signs, commas) is a
# sign the file was edited or is not what it claims to be.
_RATE = re.compile(r"\d+(?:\.\d+)?")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_LONG_DAY = re.compile(r"(\d{1,2}) ([A-Za-z]+) (\d{4})")
# English month names written out, so parsing does not depend on the process locale.
_MONTHS = {name: number for number, name in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august",
     "september", "october", "november", "december"), start=1)}
_MISSING = "N/A"


@dataclass(frozen=True)
class EcbRate:
    day: date
    currency: str
    rate: Decimal  # units of `currency` per 1 EUR


class RatesFormatError(ValueError):
    """The file is not a readable ECB rates file; `where` is a line or element path."""

    def __init__(self, message: str, where: str | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


def detect_format(data: bytes) -> Literal["csv", "xml"]:
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "xml"
    if head[:4].lower() == b"date":
        return "csv"
    raise RatesFormatError("not an ECB rates file: expected XML (gesmes:Envelope) or a CSV "
                           "starting with a Date column")


def parse_ecb(data: bytes) -> list[EcbRate]:
    rates = list(_parse_xml(data) if detect_format(data) == "xml" else _parse_csv(data))
    if not rates:
        raise RatesFormatError("the file holds no rates")
    return rates


# --- CSV -----------------------------------------------------------------------------------

def _parse_csv(data: bytes) -> Iterator[EcbRate]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RatesFormatError(f"not UTF-8 text (byte {error.start})") from None
    rows = [(number, line) for number, line in enumerate(text.splitlines(), start=1)
            if line.strip()]
    header_number, header_line = rows[0]
    header = _fields(header_line)
    where = f"line {header_number}"
    if header[0] != "Date":
        raise RatesFormatError(f"the first column must be Date, found {header[0]!r}", where)
    currencies = header[1:]
    if not currencies:
        raise RatesFormatError("the header names no currency", where)
    for currency in currencies:
        if not _CURRENCY.fullmatch(currency):
            raise RatesFormatError(f"{currency!r} is not a currency code", where)
    if len(set(currencies)) != len(currencies):
        raise RatesFormatError("a currency appears twice in the header", where)
    seen: set[date] = set()
    for number, line in rows[1:]:
        where = f"line {number}"
        fields = _fields(line)
        if len(fields) != len(header):
            raise RatesFormatError(
                f"expected {len(header)} fields like the header, found {len(fields)}", where)
        day = _csv_day(fields[0], where)
        if day in seen:
            raise RatesFormatError(f"a second row for {day.isoformat()}", where)
        seen.add(day)
        for currency, raw in zip(currencies, fields[1:], strict=True):
            if raw != _MISSING:
                yield EcbRate(day, currency, _rate(raw, f"{where}, {currency}"))


def _fields(line: str) -> list[str]:
    # Both CSV flavours end every row with a separator; drop the empty field it leaves.
    fields = [field.strip() for field in line.split(",")]
    if len(fields) > 1 and fields[-1] == "":
        fields.pop()
    return fields


def _csv_day(raw: str, where: str) -> date:
    try:
        if _ISO_DAY.fullmatch(raw):
            return date.fromisoformat(raw)
        match = _LONG_DAY.fullmatch(raw)
        if match and match.group(2).lower() in _MONTHS:
            return date(int(match.group(3)), _MONTHS[match.group(2).lower()],
                        int(match.group(1)))
    except ValueError:
        pass
    raise RatesFormatError(f"{raw!r} is not a date such as 2026-04-13 or 13 April 2026", where)


def _rate(raw: str, where: str) -> Decimal:
    if not _RATE.fullmatch(raw):
        raise RatesFormatError(f"{raw!r} is not a rate", where)
    rate = Decimal(raw)
    if rate == 0:
        raise RatesFormatError("a rate of zero", where)
    return rate


# --- XML -----------------------------------------------------------------------------------

def _parse_xml(data: bytes) -> Iterator[EcbRate]:
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except defusedxml.DefusedXmlException:
        raise RatesFormatError("XML with a DOCTYPE or entity declarations is refused") from None
    except SafeET.ParseError as error:
        raise RatesFormatError(f"not well-formed XML ({error})") from None
    if root.tag != _ENVELOPE:
        raise RatesFormatError(f"the root element is {root.tag!r}, expected gesmes:Envelope "
                               f"in {GESMES_NS}", "/")
    outer = root.find(_CUBE)
    if outer is None:
        raise RatesFormatError("missing element", "/gesmes:Envelope/Cube")
    seen: set[tuple[date, str]] = set()
    for day_index, day_cube in _indexed(outer.findall(_CUBE)):
        day_path = f"/gesmes:Envelope/Cube/Cube[{day_index}]"
        day = _xml_day(day_cube.get("time"), f"{day_path}/@time")
        for index, cube in _indexed(day_cube.findall(_CUBE)):
            path = f"{day_path}/Cube[{index}]"
            currency = (cube.get("currency") or "").strip()
            if not _CURRENCY.fullmatch(currency):
                raise RatesFormatError(f"{currency!r} is not a currency code",
                                       f"{path}/@currency")
            if (day, currency) in seen:
                raise RatesFormatError(f"a second {currency} rate for {day.isoformat()}", path)
            seen.add((day, currency))
            yield EcbRate(day, currency, _rate((cube.get("rate") or "").strip(),
                                               f"{path}/@rate"))


def _indexed(elements: Iterable[Element]) -> Iterator[tuple[int, Element]]:
    return enumerate(elements, start=1)


def _xml_day(raw: str | None, where: str) -> date:
    text = (raw or "").strip()
    if _ISO_DAY.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise RatesFormatError(f"{raw!r} is not a date such as 2018-06-11", where)
