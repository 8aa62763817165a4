"""OFX parser: every shared OFX sample (figures read from the files by hand), then encodings,
dates, several statements and broken input."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from smbfinance.transactions.importers.model import (
    Entry,
    Event,
    ImportFormatError,
    StatementEnd,
    StatementStart,
)
from smbfinance.transactions.importers.ofx import OfxParser

# The parser module silences these for the application; pytest resets filters per test.
pytestmark = [
    pytest.mark.filterwarnings("ignore::bs4.XMLParsedAsHTMLWarning"),
    pytest.mark.filterwarnings("ignore:Call to deprecated method findAll:DeprecationWarning"),
]

FORMATS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "formats"
OFX_DIR = FORMATS / "ofx"
needs_samples = pytest.mark.skipif(
    not OFX_DIR.is_dir(), reason=f"shared sample files not found at {OFX_DIR}"
)


def parse(data: bytes) -> list[Event]:
    return list(OfxParser().parse(io.BytesIO(data)))


def starts(events: list[Event]) -> list[StatementStart]:
    return [e for e in events if isinstance(e, StatementStart)]


def entries(events: list[Event]) -> list[Entry]:
    return [e for e in events if isinstance(e, Entry)]


def ends(events: list[Event]) -> list[StatementEnd]:
    return [e for e in events if isinstance(e, StatementEnd)]


@dataclass(frozen=True)
class Expected:
    account: str
    currency: str
    entries: int
    total: Decimal
    closing: Decimal


D = Decimal
SAMPLES: dict[str, list[Expected]] = {
    # Four BANKTRANLIST blocks of one POS debit each (-80, -90, -100, -90), then an empty
    # credit-card statement.
    "oca-bsi-16.0__test_ofx_iban.ofx": [
        Expected("12345678901", "USD", 4, D("-360"), D("2156.56")),
        Expected("123412341234", "USD", 0, D("0"), D("-562.00")),
    ],
    "ofxparse__anzcc.ofx": [Expected("1234123412341234", "AUD", 1, D("-5.50"), D("-123.45"))],
    # -6.60 - 316.67 - 22.00
    "ofxparse__bank_medium.ofx": [Expected("12300 000012345678", "CAD", 3, D("-345.27"),
                                           D("382.34"))],
    # 0.01 - 34.51 - 25.00
    "ofxparse__checking.ofx": [Expected("1452687~7", "USD", 3, D("-59.50"), D("100.99"))],
    "ofxparse__multiple_accounts.ofx": [
        Expected("9100", "USD", 0, D("0"), D("111")),
        Expected("9200", "USD", 0, D("0"), D("222")),
    ],
    "ofxparse__suncorp.ofx": [Expected("123456789", "AUD", 1, D("-16.85"), D("1234.12"))],
    # -200.00 - 300.00
    "ofxtools__stmtrs.ofx": [Expected("999988", "USD", 2, D("-500.00"), D("200.29"))],
}


@needs_samples
def test_every_shared_file_has_expectations() -> None:
    assert sorted(p.name for p in OFX_DIR.iterdir() if p.is_file()) == sorted(SAMPLES)


@needs_samples
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_shared_file_figures(name: str) -> None:
    path = OFX_DIR / name
    if not path.exists():
        pytest.skip(f"{path} is missing")
    with path.open("rb") as stream:
        events = list(OfxParser().parse(stream))
    expected = SAMPLES[name]
    assert len(starts(events)) == len(ends(events)) == len(expected)
    for index, want in enumerate(expected):
        start, end = starts(events)[index], ends(events)[index]
        mine = [e for e in entries(events) if e.statement_index == index]
        assert (start.account_number, start.currency) == (want.account, want.currency)
        assert start.opening_balance is None  # OFX has none
        assert len(mine) == want.entries == end.entry_count
        assert sum((e.amount for e in mine), Decimal(0)) == want.total
        assert end.closing_balance == want.closing
        assert end.warnings == ()  # no balance check without an opening balance


@needs_samples
def test_bank_medium_fields() -> None:
    with (OFX_DIR / "ofxparse__bank_medium.ofx").open("rb") as stream:
        events = list(OfxParser().parse(stream))
    first = entries(events)[0]
    # 20090401122017.000[-5:EST]: the bank's calendar day, not converted to UTC.
    assert first.booking_date == date(2009, 4, 1)
    assert first.amount == Decimal("-6.60")
    assert first.counterparty_name == "MCDONALD'S #112"
    assert first.remittance == "POS MERCHANDISE;MCDONALD'S #112"
    assert first.bank_reference == "0000123456782009040100001"
    assert first.transaction_code == "POS"
    assert first.details["bank_id"] == "160000100"
    assert first.details["branch_id"] == "00"
    assert entries(events)[1].details["check_number"] == "0"
    assert ends(events)[0].closing_date == date(2009, 5, 23)


@needs_samples
def test_oca_file_reads_every_transaction_list_and_the_card_statement() -> None:
    with (OFX_DIR / "oca-bsi-16.0__test_ofx_iban.ofx").open("rb") as stream:
        events = list(OfxParser().parse(stream))
    assert [e.counterparty_name for e in entries(events)] == [
        "Agrolait", "China Export", "Axelor Scuba", "China Scuba",
    ]
    assert entries(events)[0].details["branch_id"] == "00794"
    assert [s.statement_index for s in starts(events)] == [0, 1]


@needs_samples
def test_user_date_and_memo_only_card_entry() -> None:
    with (OFX_DIR / "ofxparse__anzcc.ofx").open("rb") as stream:
        (entry,) = entries(list(OfxParser().parse(stream)))
    assert entry.counterparty_name is None
    assert entry.remittance == "SOME MEMO"
    assert entry.details["user_date"] == "2017-05-08"
    assert entry.transaction_code == "DEBIT"


def ofx2(transactions: str, *, encoding: str = "UTF-8", currency: str = "EUR",
         account: str = "BE68539007547034") -> str:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        '<?OFX OFXHEADER="200" VERSION="211" SECURITY="NONE" OLDFILEUID="NONE" '
        'NEWFILEUID="NONE"?>\n<OFX><BANKMSGSRSV1><STMTTRNRS><TRNUID>1</TRNUID><STMTRS>'
        f"<CURDEF>{currency}</CURDEF><BANKACCTFROM><BANKID>GEBABEBB</BANKID>"
        f"<ACCTID>{account}</ACCTID><ACCTTYPE>CHECKING</ACCTTYPE></BANKACCTFROM>"
        f"<BANKTRANLIST><DTSTART>20240101</DTSTART><DTEND>20240131</DTEND>{transactions}"
        "</BANKTRANLIST><LEDGERBAL><BALAMT>10.00</BALAMT><DTASOF>20240131</DTASOF></LEDGERBAL>"
        "</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
    )


def trn(amount: str, fitid: str, *, posted: str = "20240115", name: str = "",
        memo: str = "") -> str:
    return (f"<STMTTRN><TRNTYPE>OTHER</TRNTYPE><DTPOSTED>{posted}</DTPOSTED>"
            f"<TRNAMT>{amount}</TRNAMT><FITID>{fitid}</FITID>"
            + (f"<NAME>{name}</NAME>" if name is not None else "")
            + (f"<MEMO>{memo}</MEMO>" if memo is not None else "") + "</STMTTRN>")


def test_utf8_xml_with_accents_and_iban_account() -> None:
    data = ofx2(trn("-12.50", "A1", name="Café Zoé", memo="Facture n° 12 – merci")).encode()
    events = parse(data)
    (entry,) = entries(events)
    assert entry.counterparty_name == "Café Zoé"
    assert entry.remittance == "Facture n° 12 – merci"
    assert starts(events)[0].account_iban == "BE68539007547034"
    assert starts(events)[0].currency == "EUR"


def test_sgml_cp1252_with_accents() -> None:
    header = ("OFXHEADER:100\r\nDATA:OFXSGML\r\nVERSION:102\r\nSECURITY:NONE\r\n"
              "ENCODING:USASCII\r\nCHARSET:1252\r\nCOMPRESSION:NONE\r\nOLDFILEUID:NONE\r\n"
              "NEWFILEUID:NONE\r\n\r\n")
    body = ("<OFX><BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STMTRS><CURDEF>EUR<BANKACCTFROM>"
            "<BANKID>1<ACCTID>42<ACCTTYPE>CHECKING</BANKACCTFROM><BANKTRANLIST>"
            "<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20240105<TRNAMT>-3,20<FITID>X1<NAME>Boulangerie "
            "Ménard<MEMO>Pain €</STMTTRN></BANKTRANLIST><LEDGERBAL><BALAMT>7.00<DTASOF>20240105"
            "</LEDGERBAL></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>")
    (entry,) = entries(parse((header + body).encode("cp1252")))
    assert entry.counterparty_name == "Boulangerie Ménard"
    assert entry.remittance == "Pain €"
    assert entry.amount == Decimal("-3.20")  # OFX allows a decimal comma


def test_unknown_charset_header_does_not_crash() -> None:
    data = ("OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nENCODING:USASCII\nCHARSET:NONE\n\n"
            "<OFX><CREDITCARDMSGSRSV1><CCSTMTTRNRS><CCSTMTRS><CURDEF>EUR<CCACCTFROM><ACCTID>7"
            "</CCACCTFROM><BANKTRANLIST><STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20240105<TRNAMT>-1.00"
            "<FITID>1</STMTTRN></BANKTRANLIST></CCSTMTRS></CCSTMTTRNRS></CREDITCARDMSGSRSV1>"
            "</OFX>")
    events = parse(data.encode())
    assert starts(events)[0].account_number == "7"
    assert ends(events)[0].closing_balance is None


def test_dates_keep_the_bank_calendar_day() -> None:
    # 23:30 in New York is already the next day in UTC; the statement says the 31st.
    data = ofx2(trn("-1.00", "T1", posted="20240131233000.000[-5:EST]")).encode()
    (entry,) = entries(parse(data))
    assert entry.booking_date == date(2024, 1, 31)


def test_empty_name_and_memo_are_tolerated() -> None:
    data = ofx2(trn("5.00", "E1", name="", memo="")).encode()
    (entry,) = entries(parse(data))
    assert entry.counterparty_name is None and entry.remittance is None
    assert entry.amount == Decimal("5.00")


def test_entity_declarations_are_not_expanded() -> None:
    data = ofx2(trn("5.00", "E1", name="&xxe;")).replace(
        "<OFX>", '<!DOCTYPE OFX [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><OFX>'
    ).encode()
    events = parse(data)
    assert "root:" not in (entries(events)[0].counterparty_name or "")


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"", "empty"),
        (b"hello world", "no <OFX>"),
        (ofx2(trn("abc", "B1")).encode(), "Amount"),
        (ofx2(trn("1.00", "B1", posted="2024-01-15")).encode(), "OFX"),
        (ofx2("", currency="").replace("<CURDEF></CURDEF>", "").encode(), "CURDEF"),
        (b"<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>"
         b"</SONRS></SIGNONMSGSRSV1></OFX>", "no bank"),
    ],
    ids=["empty", "not-ofx", "bad-amount", "bad-date", "no-currency", "no-statement"],
)
def test_broken_files_are_refused(data: bytes, text: str) -> None:
    with pytest.raises(ImportFormatError, match=text):
        parse(data)


def test_missing_fitid_is_refused() -> None:
    data = ofx2("<STMTTRN><TRNTYPE>DEBIT</TRNTYPE><DTPOSTED>20240101</DTPOSTED>"
                "<TRNAMT>-1.00</TRNAMT></STMTTRN>").encode()
    with pytest.raises(ImportFormatError, match="FIT"):
        parse(data)
