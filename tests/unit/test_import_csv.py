"""CSV import through a column mapping: delimiters, encodings, number formats, and errors
that name the line and the column."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest

from smbfinance.transactions.importers.csv_mapping import CsvMapping, CsvParser
from smbfinance.transactions.importers.model import (
    Entry,
    Event,
    ImportFormatError,
    StatementEnd,
    StatementStart,
)

BELGIAN = CsvMapping(
    date_column="Datum",
    amount_column="Bedrag",
    value_date_column="Valuta",
    description_column="Omschrijving",
    counterparty_column="Tegenpartij",
    iban_column="Rekening tegenpartij",
    reference_column="Mededeling",
    bank_reference_column="Referentie",
    date_format="%d/%m/%Y",
    decimal_separator=",",
    thousands_separator=".",
    currency="EUR",
    account_iban="BE68 5390 0754 7034",
)

BELGIAN_CSV = (
    "Datum;Valuta;Bedrag;Omschrijving;Tegenpartij;Rekening tegenpartij;Mededeling;Referentie\r\n"
    "02/01/2024;03/01/2024;-12,50;Betaling Bancontact;Colruyt;;;R1\r\n"
    "05/01/2024;05/01/2024;1.234,56;Factuur 2024-001;Klant NV;BE71 0961 2345 6769;"
    "+++090/9337/55493+++;R2\r\n"
    "\r\n"
    '08/01/2024;;"7,00";"twee\r\nregels";Café Zoé;;RF18 5390 0754 7034;R3\r\n'
)


def parse(mapping: CsvMapping, data: bytes) -> list[Event]:
    return list(CsvParser(mapping).parse(io.BytesIO(data)))


def entries(events: list[Event]) -> list[Entry]:
    return [e for e in events if isinstance(e, Entry)]


def test_belgian_export_cp1252() -> None:
    events = parse(BELGIAN, BELGIAN_CSV.encode("cp1252"))
    start, first, second, third, end = events
    assert isinstance(start, StatementStart) and isinstance(end, StatementEnd)
    assert start.account_iban == "BE68539007547034"
    assert start.currency == "EUR" and start.opening_balance is None
    assert isinstance(first, Entry) and isinstance(second, Entry) and isinstance(third, Entry)
    assert first.booking_date == date(2024, 1, 2) and first.value_date == date(2024, 1, 3)
    assert first.amount == Decimal("-12.50")
    assert first.counterparty_name == "Colruyt" and first.counterparty_iban is None
    assert first.bank_reference == "R1"
    assert second.amount == Decimal("1234.56")
    assert second.counterparty_iban == "BE71096123456769"
    assert second.structured_reference == "090933755493"
    assert third.amount == Decimal("7.00")
    assert third.value_date is None
    assert third.counterparty_name == "Café Zoé"
    assert third.remittance == "twee regels"
    assert third.structured_reference == "RF18539007547034"
    assert third.details["line"] == "5"  # the record starts on line 5 and spans two
    assert [e.sequence for e in (first, second, third)] == [1, 2, 3]
    assert end.entry_count == 3 and end.closing_balance is None and end.warnings == ()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_utf8_with_and_without_bom(encoding: str) -> None:
    events = parse(BELGIAN, BELGIAN_CSV.encode(encoding))
    assert entries(events)[2].counterparty_name == "Café Zoé"


def test_explicit_encoding() -> None:
    mapping = CsvMapping(**{**BELGIAN.__dict__, "encoding": "latin-1"})
    assert entries(parse(mapping, BELGIAN_CSV.replace("€", "").encode("latin-1")))[2] \
        .counterparty_name == "Café Zoé"


def test_explicit_utf8_that_is_not_is_refused() -> None:
    mapping = CsvMapping(**{**BELGIAN.__dict__, "encoding": "utf-8"})
    with pytest.raises(ImportFormatError, match="not valid"):
        parse(mapping, BELGIAN_CSV.encode("cp1252"))


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(delimiter: str) -> None:
    mapping = CsvMapping(date_column="date", amount_column="amount",
                         description_column="text")
    rows = [["date", "amount", "text"], ["2024-03-01", "-1.50", "coffee, black"],
            ["2024-03-02", "20.00", "refund"]]
    text = "\n".join(delimiter.join(f'"{c}"' if delimiter in c or "," in c else c for c in row)
                     for row in rows) + "\n"
    got = entries(parse(mapping, text.encode()))
    assert [e.amount for e in got] == [Decimal("-1.50"), Decimal("20.00")]
    assert got[0].remittance == "coffee, black"


def test_sniffer_failure_falls_back_to_the_header() -> None:
    mapping = CsvMapping(date_column="date", amount_column="amount")
    assert len(entries(parse(mapping, b"date;amount\n"))) == 0


def test_given_delimiter_wins() -> None:
    mapping = CsvMapping(date_column="d", amount_column="a", delimiter=";",
                         decimal_separator=",")
    assert entries(parse(mapping, b"d;a\n2024-01-01;1,5\n"))[0].amount == Decimal("1.5")


def test_debit_and_credit_columns() -> None:
    mapping = CsvMapping(date_column="Date", debit_column="Debit", credit_column="Credit",
                         date_format="%d.%m.%Y", decimal_separator=",", thousands_separator=" ")
    data = ("Date;Debit;Credit\n01.02.2024;1\u00a0250,00;\n02.02.2024;;300,10\n"
            "03.02.2024;-5,00;0,00\n").encode()
    got = entries(parse(mapping, data))
    # A debit is money out whatever sign the bank writes on it.
    assert [e.amount for e in got] == [Decimal("-1250.00"), Decimal("300.10"), Decimal("-5.00")]


def test_debit_and_credit_both_filled_is_an_error() -> None:
    mapping = CsvMapping(date_column="Date", debit_column="Debit", credit_column="Credit")
    with pytest.raises(ImportFormatError, match="both filled") as caught:
        parse(mapping, b"Date,Debit,Credit\n2024-01-01,1.00,2.00\n")
    assert caught.value.line == 2


def test_debit_and_credit_both_empty_is_an_error() -> None:
    mapping = CsvMapping(date_column="Date", debit_column="Debit", credit_column="Credit")
    with pytest.raises(ImportFormatError, match="both empty"):
        parse(mapping, b"Date,Debit,Credit\n2024-01-01,,\n")


@pytest.mark.parametrize(
    ("text", "decimal", "thousands", "expected"),
    [
        ("1.234,56", ",", ".", Decimal("1234.56")),
        ("1,234.56", ".", ",", Decimal("1234.56")),
        ("1'234.56", ".", "'", Decimal("1234.56")),
        ("1 234,56", ",", " ", Decimal("1234.56")),
        ("1234,56", ",", ".", Decimal("1234.56")),
        ("-0,5", ",", "", Decimal("-0.5")),
        ("+12", ".", "", Decimal("12")),
        ("12,50-", ",", "", Decimal("-12.50")),
        ("12.500", ".", "", Decimal("12.50")),
    ],
)
def test_amount_formats(text: str, decimal: str, thousands: str, expected: Decimal) -> None:
    mapping = CsvMapping(date_column="d", amount_column="a", delimiter="\t",
                         decimal_separator=decimal, thousands_separator=thousands)  # type: ignore[arg-type]
    (entry,) = entries(parse(mapping, f"d\ta\n2024-01-01\t{text}\n".encode()))
    assert entry.amount == expected


@pytest.mark.parametrize(
    ("text", "decimal", "thousands"),
    [
        ("1.234,56", ",", ""),  # "." is not declared
        ("1,234.56", ".", ""),
        ("12.34,56", ",", "."),  # bad grouping
        ("12,5,0", ",", ""),
        ("abc", ".", ""),
        ("€ 12.00", ".", ""),
    ],
)
def test_ambiguous_amounts_are_refused(text: str, decimal: str, thousands: str) -> None:
    mapping = CsvMapping(date_column="d", amount_column="Bedrag", delimiter="\t",
                         decimal_separator=decimal, thousands_separator=thousands)  # type: ignore[arg-type]
    with pytest.raises(ImportFormatError, match='column "Bedrag"') as caught:
        parse(mapping, f"d\tBedrag\n2024-01-01\t{text}\n".encode())
    assert caught.value.line == 2


def test_bad_date_names_line_and_column() -> None:
    lines = [BELGIAN_CSV.splitlines()[0]] + [
        f"0{day}/01/2024;;1,00;x;y;;;R{day}" for day in range(1, 6)
    ] + ["31/02/2024;;1,00;x;y;;;R9"]
    data = "\n".join(lines).encode()
    with pytest.raises(ImportFormatError) as caught:
        parse(BELGIAN, data)
    assert caught.value.line == 7
    assert 'column "Datum"' in caught.value.message
    assert str(caught.value).startswith("line 7: ")


def test_empty_date_and_amount() -> None:
    mapping = CsvMapping(date_column="Datum", amount_column="Bedrag")
    with pytest.raises(ImportFormatError, match='"Datum": the date is empty'):
        parse(mapping, b"Datum,Bedrag\n,1.00\n")
    with pytest.raises(ImportFormatError, match='"Bedrag": the amount is empty'):
        parse(mapping, b"Datum,Bedrag\n2024-01-01,\n")


def test_missing_column_in_header() -> None:
    mapping = CsvMapping(date_column="Datum", amount_column="Amount")
    with pytest.raises(ImportFormatError, match='column "Amount"') as caught:
        parse(mapping, b"Datum;Bedrag\n2024-01-01;1\n")
    assert caught.value.line == 1


def test_short_row() -> None:
    mapping = CsvMapping(date_column="a", amount_column="c", delimiter=",")
    with pytest.raises(ImportFormatError, match='column "c"') as caught:
        parse(mapping, b"a,b,c\n2024-01-01,x,1\n2024-01-02\n")
    assert caught.value.line == 3


def test_empty_file_and_header_only() -> None:
    mapping = CsvMapping(date_column="d", amount_column="a")
    with pytest.raises(ImportFormatError, match="empty"):
        parse(mapping, b"")
    events = parse(mapping, b"d,a\r\n")
    assert [type(e) for e in events] == [StatementStart, StatementEnd]


def test_long_file_past_the_sniff_sample() -> None:
    mapping = CsvMapping(date_column="d", amount_column="a", description_column="t")
    rows = "".join(f"2024-01-01,1.00,{'x' * 50} row {n}\n" for n in range(3000))
    got = entries(parse(mapping, ("d,a,t\n" + rows).encode()))
    assert len(got) == 3000
    assert got[-1].remittance is not None and got[-1].remittance.endswith("row 2999")
    assert got[-1].details["line"] == "3001"


def test_non_seekable_stream() -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    events = list(CsvParser(BELGIAN).parse(Pipe(BELGIAN_CSV.encode("cp1252"))))  # type: ignore[arg-type]
    assert len(entries(events)) == 3


@pytest.mark.parametrize(
    "kwargs",
    [
        {"date_column": "d"},
        {"date_column": "d", "amount_column": "a", "debit_column": "x"},
        {"date_column": "d", "debit_column": "x"},
        {"date_column": "", "amount_column": "a"},
        {"date_column": "d", "amount_column": "a", "decimal_separator": ",",
         "thousands_separator": ","},
        {"date_column": "d", "amount_column": "a", "delimiter": ";;"},
        {"date_column": "d", "amount_column": "a", "currency": "euro"},
        {"date_column": "d", "amount_column": "a", "encoding": "no-such-codec"},
    ],
)
def test_invalid_mappings(kwargs: dict[str, str]) -> None:
    with pytest.raises((ValueError, LookupError)):
        CsvMapping(**kwargs)  # type: ignore[arg-type]


def test_mapping_is_frozen() -> None:
    with pytest.raises(AttributeError):
        BELGIAN.currency = "USD"  # type: ignore[misc]
