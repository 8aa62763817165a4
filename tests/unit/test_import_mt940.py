"""MT940 parser: every shared sample file, then hand-made statements for the edge cases.

The per-file figures below were worked out from the files themselves, not with the parser:
the :61: lines of each :20: block counted and their amounts added (D and RC negative) with
a perl one-liner, and the :60x:/:62x: balances read by eye.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
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
from smbfinance.transactions.importers.mt940 import Mt940Parser
from tests.importing import statements

FORMATS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "formats"
MT940 = FORMATS / "mt940"
needs_shared = pytest.mark.skipif(
    not MT940.is_dir(),
    reason=f"shared sample files not found at {MT940} (../shared beside the repo)",
)

BALANCE_CODES = {"balance_mismatch", "statement_gap", "missing_closing_balance"}


def parse_bytes(data: bytes) -> list[Event]:
    return list(Mt940Parser().parse(io.BytesIO(data)))


def parse_file(name: str) -> list[Event]:
    with (MT940 / name).open("rb") as stream:
        return list(Mt940Parser().parse(stream))


# --- every shared file --------------------------------------------------------------------

# ASN Bank: 31 one-day statements, most of them without transactions.
_ASNB_MOVES = {1: (1, "-65.00"), 5: (2, "198.45"), 25: (1, "-1.65"), 29: (2, "-171.28"),
               31: (2, "96.42")}
_ASNB_CLOSING = {1: "379.29", 2: "379.29", 3: "379.29", 4: "379.29", 5: "577.74",
                 **dict.fromkeys(range(6, 25), "577.74"), 25: "576.09", 26: "576.09",
                 27: "576.09", 28: "576.09", 29: "404.81", 30: "404.81", 31: "501.23"}

# file -> per statement: (entries, sum of amounts, closing balance as written or None when
# there is none, exact set of warning codes)
SHARED: dict[str, list[tuple[int, str, str | None, set[str]]]] = {
    # Neither statement adds up, and the second does not open where the first closed.
    "jejik-mt940__abnamro.txt": [
        (8, "-321.44", "876.84", {"balance_mismatch"}),
        (2, "-24.49", "1849.75", {"statement_gap", "balance_mismatch"}),
    ],
    # README: opening and closing 0.00 although a debit is booked.
    "jejik-mt940__commerzbank.txt": [(1, "-12.35", "0.00", {"balance_mismatch"})],
    "jejik-mt940__deutschebank.txt": [(1, "-12.35", "0.00", {"balance_mismatch"})],
    "jejik-mt940__knab.txt": [
        (1, "500.00", "500.00", set()),
        (2, "-6760.00", "798.98", {"statement_gap", "balance_mismatch"}),
    ],
    "jejik-mt940__postfinance.txt": [
        (2, "229.20", "229.20", set()),
        (2, "-69.80", "159.60", {"balance_mismatch"}),  # 229.20 - 69.80 = 159.40
    ],
    "jejik-mt940__rabobank-iban.txt": [
        (2, "-35.00", "965.00", set()),
        (2, "-35.00", "930.00", set()),
    ],
    "jejik-mt940__sparkasse.txt": [
        (1, "-20.00", "174.57", set()),
        (1, "-20.00", "154.57", set()),
    ],
    "jejik-mt940__triodos.txt": [(2, "-715.70", "4370.79", {"balance_mismatch"})],
    "oca-bsi-10.0__test-ing.940": [(8, "-97.88", "564.35", set())],
    "oca-bsi-11.0__test-sns.940": [
        (4, "-762.44", "2264.52", set()),
        (2, "-10.95", "2253.57", set()),
        (2, "-942.29", None, {"missing_closing_balance"}),
    ],
    "php-mt940__Bunq_sample": [(111, "-26.67", "5.66", set())],
    "php-mt940__Penta_sample": [(30, "-10576.30", "9843.36", set())],
    "wolph-mt940__ASNB_mt940.txt": [
        (*_ASNB_MOVES.get(n, (0, "0")), _ASNB_CLOSING[n], set()) for n in range(1, 32)
    ],
    "wolph-mt940__betterplace_sepa_snippet.sta": [
        (4, "358593.91", "1125250.40", set()),
        # -1970431.87 - 2501917.30 = -4472349.17, the file says -4472049.09
        (7, "-2501917.30", "-4472049.09", {"balance_mismatch"}),
    ],
}


@needs_shared
def test_every_shared_file_is_listed() -> None:
    assert sorted(path.name for path in MT940.iterdir()) == sorted(SHARED)


@needs_shared
@pytest.mark.parametrize("name", sorted(SHARED))
def test_shared_file_figures(name: str) -> None:
    found = statements(parse_file(name))
    expected = SHARED[name]
    assert len(found) == len(expected)
    for index, ((start, entries, end), (count, total, closing, codes)) in enumerate(
        zip(found, expected, strict=True)
    ):
        assert start.statement_index == end.statement_index == index
        assert len(entries) == count == end.entry_count
        assert [entry.sequence for entry in entries] == list(range(1, count + 1))
        assert sum((entry.amount for entry in entries), Decimal(0)) == Decimal(total)
        assert {warning.code for warning in end.warnings} == codes
        if closing is None:
            assert end.closing_balance is None and end.closing_date is None
        else:
            assert end.closing_balance == Decimal(closing)
        if not codes & BALANCE_CODES:
            assert start.opening_balance is not None
            assert start.opening_balance + Decimal(total) == end.closing_balance


@needs_shared
def test_rabobank_structured_details_and_counterparty_iban_on_the_61_line() -> None:
    (start, entries, _), _second = statements(parse_file("jejik-mt940__rabobank-iban.txt"))
    assert start.account_iban == "NL71RABO0123456789"
    assert start.currency == "EUR"
    first, second = entries
    assert first.counterparty_name == "CONTRA ACCOUNT HOLDER"  # wrapped inside "ACCOUN|T"
    assert first.counterparty_iban == "NL70ABNA0987654321"
    assert first.end_to_end_id == "01-01-2013 12:00 0030000987654321"
    assert first.transaction_code == "N102"
    assert second.remittance == "Reference 201301234"
    assert second.counterparty_name == "JOHN DOE"


@needs_shared
def test_ing_statement_level_86_and_dash_inside_a_mandate_reference() -> None:
    (start, entries, _end), = statements(parse_file("oca-bsi-10.0__test-ing.940"))
    assert start.account_iban == "NL77INGB0574908765"
    assert start.account_number == "NL77INGB0574908765EUR"
    assert start.statement_id == "00000"  # ":28C:0000" wrapped onto a second line "0"
    assert all("/SUM/" not in str(entry) for entry in entries)
    assert entries[-1].remittance == "1070123412341234"
    assert entries[-1].details["creditor_reference"] == "1070123412341234"
    assert entries[3].details["marf"] == "MND-EV01"
    assert entries[3].details["csid"] == "NL32ZZZ999999991234"
    assert entries[0].counterparty_name == "ING BANK NV INZAKE WEB"
    assert entries[0].counterparty_bic == "INGBNL2A"
    assert entries[0].counterparty_iban == "NL32INGB0000012345"
    assert entries[0].end_to_end_id == "EV12341REP1231456T1234"
    assert entries[0].remittance == "EV10001REP1000000T1000"
    assert entries[1].bank_reference == "00000000001006"


@needs_shared
def test_german_subfields_and_space_before_the_transaction_type() -> None:
    (_start, (entry,), _end), = statements(parse_file("jejik-mt940__commerzbank.txt"))
    assert entry.transaction_code == "NRTI"
    assert entry.bank_reference == "2016021783252833"
    assert entry.end_to_end_id == "A1.200080779.400143254.4961336"
    assert entry.counterparty_iban == "DE50712345600200691329"
    assert entry.counterparty_bic == "CSDBDE71XXX"
    assert entry.details["gvc"] == "109"
    assert entry.details["mandate_reference"] == "20852HW2723821"
    assert entry.details["supplementary_details"] == "/OCMT/EUR11,85//CHGS/EUR0,50/"
    assert entry.remittance is not None and entry.remittance.startswith("SONSTIGE GRUENDE")


@needs_shared
def test_sparkasse_utf8_text() -> None:
    (_, (entry,), _), _ = statements(parse_file("jejik-mt940__sparkasse.txt"))
    assert "Leipziger Straße 257" in entry.details["ultimate_debtor"]
    assert entry.counterparty_name == "ARAL AG"
    assert entry.remittance == "2019-02-15T20.10 Debitk.4 2019-12"


@needs_shared
def test_bunq_structured_details() -> None:
    (start, entries, _), = statements(parse_file("php-mt940__Bunq_sample"))
    assert start.account_iban == "NL10BUNQ2290325473"
    assert entries[0].counterparty_iban == "NL65BUNQ2206724936"
    assert entries[0].counterparty_name == "P.C. Wacki"
    assert entries[3].remittance == "Proficiat"
    names = {entry.counterparty_name for entry in entries}
    assert "Hr J F M Wacki en/of Mw K Wacki-Blokland" in names  # a no-break space in the file


@needs_shared
def test_penta_999_details_and_nonref_without_transaction_type() -> None:
    (_start, entries, _end), = statements(parse_file("php-mt940__Penta_sample"))
    first, _, third = entries[:3]
    assert first.transaction_code is None
    assert "customer_reference" not in first.details
    assert first.counterparty_name == "Campus Business Box e.V."
    assert first.counterparty_iban == "DE85213581701400076509"
    assert first.remittance == "Unkostenbeitrag Starterkitchen Ines Neumann Off The Beaten Track"
    assert first.details["booking_type"] == "SEPA_STANDING_ORDER"
    assert third.remittance == "CCI : 0150577373,PURPOSE:DEVELOPER PROCEEDS,HOPPA"
    assert third.counterparty_name == "HOPPA Inc"
    assert third.details["additional_information"] == "PRODUKTVERKAUF AWAKE"


@needs_shared
def test_sns_counterparty_from_the_61_line_and_block_without_closing() -> None:
    found = statements(parse_file("oca-bsi-11.0__test-sns.940"))
    first = found[0][1][0]
    assert first.counterparty_iban == "NL49RABO0166416932"
    assert first.counterparty_name == "gerrits glas en schilderwerk"
    assert first.remittance == "Factuur 17227/248/20"
    card = found[0][1][1]
    # The 65-character line ends in "M" and the next starts "CC:5411": one word.
    assert card.remittance == (
        "Jumbo Wijchen B.V. >WIJCHEN 27.12.2017 13U38 KV005 4XZJ4Z MCC:5411"
        " Contactloze betaling"
    )
    assert card.bank_reference == "228ohu/972795"
    *_, (_start, _entries, end) = found
    assert end.closing_balance is None
    assert end.warnings[0].line == 60  # the third block's :20:


@needs_shared
def test_postfinance_envelopes_and_intermediate_balances() -> None:
    (s1, e1, end1), (s2, _e2, end2) = statements(parse_file("jejik-mt940__postfinance.txt"))
    assert (s1.statement_id, s2.statement_id) == ("999/1", "999/2")
    assert s1.currency == "CHF" and e1[0].currency == "CHF"
    assert end1.closing_balance == s2.opening_balance == Decimal("229.2")  # :62M: / :60M:
    assert end2.closing_date == date(2014, 4, 7)
    assert e1[0].bank_reference is None  # "//NONREF"


@needs_shared
def test_knab_free_text_counterparty() -> None:
    _first, (_, entries, _) = statements(parse_file("jejik-mt940__knab.txt"))
    assert entries[0].counterparty_iban == "NL65INGB0123456789"
    assert entries[0].counterparty_name == "PICQER"
    assert entries[0].remittance == "FACTUUR 201403110, 201403113"


@needs_shared
def test_triodos_subfields() -> None:
    (_, entries, _), = statements(parse_file("jejik-mt940__triodos.txt"))
    assert entries[0].remittance == (
        "ALGEMENE TUSSENREKENING KOSTEN VAN 01-10-2010 TOT EN MET 31-12-2010"
    )
    assert entries[1].remittance == "HUUR KANTOOR - FEB 2010"


@needs_shared
def test_betterplace_negative_balances_and_dates() -> None:
    _first, (start, entries, end) = statements(
        parse_file("wolph-mt940__betterplace_sepa_snippet.sta")
    )
    assert start.opening_balance == Decimal("-1970431.87")
    assert end.closing_balance == Decimal("-4472049.09")
    first = statements(parse_file("wolph-mt940__betterplace_sepa_snippet.sta"))[0][1][0]
    assert first.value_date == date(2007, 9, 7)
    assert first.booking_date == date(2007, 9, 4)
    assert first.counterparty_name == "KARL KAUFMANN"
    assert entries[0].amount == Decimal("-0.08")


# --- hand-made statements -----------------------------------------------------------------


def mt940(*lines: str, newline: str = "\r\n", final_newline: bool = True,
          encoding: str = "utf-8") -> bytes:
    text = newline.join(lines) + (newline if final_newline else "")
    return text.encode(encoding)


def statement(*body: str, opening: str = "C240301EUR1000,00",
              closing: str | None = "C240302EUR1000,00", account: str = "BE68539007547034",
              reference: str = "STMT1") -> list[str]:
    lines = [f":20:{reference}", f":25:{account}", ":28C:12/1", f":60F:{opening}", *body]
    if closing is not None:
        lines.append(f":62F:{closing}")
    return lines


def only(events: list[Event]) -> tuple[StatementStart, list[Entry], StatementEnd]:
    (found,) = statements(events)
    return found


def test_consistent_statement() -> None:
    data = mt940(*statement(
        ":61:2403010301C250,00NTRFINV-2024-001//BANKREF1",
        ":86:/EREF/E2E-1/IBAN/NL91ABNA0417164300/NAME/ACME BV/REMI/USTD//INVOICE 1/",
        ":61:2403020302D100,50NDDTNONREF//BANKREF2",
        ":86:Rent March",
        closing="C240302EUR1149,50",
    ))
    start, (credit, debit), end = only(parse_bytes(data))
    assert start.account_iban == "BE68539007547034"
    assert start.statement_id == "12/1"
    assert start.opening_date == date(2024, 3, 1)
    assert credit.amount == Decimal("250.00") and debit.amount == Decimal("-100.50")
    assert credit.counterparty_name == "ACME BV"
    assert credit.counterparty_iban == "NL91ABNA0417164300"
    assert credit.end_to_end_id == "E2E-1"
    assert credit.remittance == "INVOICE 1"
    assert credit.bank_reference == "BANKREF1"
    assert credit.details["customer_reference"] == "INV-2024-001"
    assert debit.remittance == "Rent March"
    assert end.closing_balance == Decimal("1149.50")
    assert end.warnings == ()


def test_reversal_marks() -> None:
    data = mt940(*statement(
        ":61:2403010301RC30,00NTRFNONREF",
        ":86:reversal of a credit",
        ":61:2403010301RD20,00NTRFNONREF",
        ":86:reversal of a debit",
        closing="C240302EUR990,00",
    ))
    _start, (rc, rd), end = only(parse_bytes(data))
    assert rc.amount == Decimal("-30.00")
    assert rd.amount == Decimal("20.00")
    assert rc.details["reversal"] == rd.details["reversal"] == "true"
    assert (rc.details["mark"], rd.details["mark"]) == ("RC", "RD")
    assert end.warnings == ()


def test_empty_statement() -> None:
    start, entries, end = only(parse_bytes(mt940(*statement())))
    assert entries == [] and end.entry_count == 0
    assert start.opening_balance == end.closing_balance == Decimal("1000.00")
    assert end.warnings == ()


def test_negative_balances() -> None:
    data = mt940(*statement(":61:2403010301D99,99NMSCNONREF", opening="D240301EUR1500,00",
                            closing="D240302EUR1599,99"))
    start, _entries, end = only(parse_bytes(data))
    assert start.opening_balance == Decimal("-1500.00")
    assert end.closing_balance == Decimal("-1599.99")
    assert end.warnings == ()


def test_foreign_currency() -> None:
    data = mt940(*statement(":61:2403010301C10,NTRFNONREF", opening="C240301USD0,",
                            closing="C240302USD10,", account="GB33BUKB20201555555555 USD"))
    start, (entry,), end = only(parse_bytes(data))
    assert start.currency == entry.currency == "USD"
    assert start.account_iban == "GB33BUKB20201555555555"
    assert end.warnings == ()


def test_crlf_lf_and_missing_final_newline_read_alike() -> None:
    lines = statement(":61:2403010301C5,00NTRFNONREF", ":86:X", closing="C240302EUR1005,00")
    crlf = parse_bytes(mt940(*lines))
    assert parse_bytes(mt940(*lines, newline="\n")) == crlf
    assert parse_bytes(mt940(*lines, final_newline=False)) == crlf


def test_cp1252_byte_in_a_name() -> None:
    data = mt940(*statement(
        ":61:2403010301C5,00NTRFNONREF",
        ":86:/NAME/CAFÉ DE LA GARE/REMI/MERCI",
        closing="C240302EUR1005,00",
    ), encoding="cp1252")
    assert b"CAF\xc9 " in data
    _start, (entry,), _end = only(parse_bytes(data))
    assert entry.counterparty_name == "CAFÉ DE LA GARE"


def test_utf8_file() -> None:
    data = mt940(*statement(
        ":61:2403010301C5,00NTRFNONREF",
        ":86:166?00GUTSCHRIFT?20SVWZ+Miete Büro März?32Müller GmbH",
        closing="C240302EUR1005,00",
    ))
    _start, (entry,), _end = only(parse_bytes(data))
    assert entry.remittance == "Miete Büro März"
    assert entry.counterparty_name == "Müller GmbH"


def test_german_end_to_end_and_purpose() -> None:
    data = mt940(*statement(
        ":61:2403010301D12,00NDDTNONREF//REF-X",
        ":86:105?00SEPA-LASTSCHRIFT?20EREF+INV-77?21MREF+M-1?22SVWZ+Beitrag Maer",
        "z 2024?30GENODEF1XXX?31DE02120300000000202051?32VEREIN E.V.",
        closing="C240302EUR988,00",
    ))
    _start, (entry,), _end = only(parse_bytes(data))
    assert entry.end_to_end_id == "INV-77"
    assert entry.remittance == "Beitrag Maerz 2024"
    assert entry.counterparty_iban == "DE02120300000000202051"
    assert entry.counterparty_bic == "GENODEF1XXX"
    assert entry.details["mandate_reference"] == "M-1"
    assert entry.details["posting_text"] == "SEPA-LASTSCHRIFT"


def test_structured_remittance_ogm_and_rf() -> None:
    data = mt940(*statement(
        ":61:2403010301C5,00NTRFNONREF",
        ":86:/REMI/STRD/ISO/RF18539007547034/",
        ":61:2403010301C5,00NTRFNONREF",
        ":86:/REMI/STRD/BBA/123456789002/",
        closing="C240302EUR1010,00",
    ))
    _start, (rf, ogm), _end = only(parse_bytes(data))
    assert rf.structured_reference == "RF18539007547034"
    assert ogm.structured_reference == "123456789002"


def test_swift_envelope_with_several_messages() -> None:
    first = statement(":61:2403010301C5,00NTRFNONREF//A1", closing="C240302EUR1005,00")
    second = statement(":61:2403020302D5,00NTRFNONREF//A2", opening="C240302EUR1005,00",
                       reference="STMT2")
    data = mt940(
        "{1:F01BANKBEBBAXXX0000000000}{2:O940BANKBEBBXXXXN}{4:", *first, "-}{5:}",
        "{1:F01BANKBEBBAXXX0000000000}{2:O940BANKBEBBXXXXN}{4:", *second, "-}",
    )
    (_s1, e1, end1), (s2, e2, end2) = statements(parse_bytes(data))
    assert [e.bank_reference for e in (*e1, *e2)] == ["A1", "A2"]
    assert end1.warnings == end2.warnings == ()
    assert s2.opening_balance == end1.closing_balance


def test_intermediate_balances() -> None:
    data = mt940(
        *statement(":61:2403010301C5,00NTRFNONREF", closing="C240302EUR1005,00")[:-1],
        ":62M:C240301EUR1005,00", "-",
        ":20:STMT1", ":25:BE68539007547034", ":28C:12/2", ":60M:C240301EUR1005,00",
        ":61:2403010301C5,00NTRFNONREF", ":62F:C240301EUR1010,00", "-",
    )
    (_s1, _e1, end1), (s2, _e2, end2) = statements(parse_bytes(data))
    assert end1.closing_balance == s2.opening_balance == Decimal("1005.00")
    assert end2.closing_balance == Decimal("1010.00")
    assert end1.warnings == end2.warnings == ()


def test_statement_without_closing_balance() -> None:
    data = mt940(*statement(":61:2403010301C5,00NTRFNONREF", ":86:LAST", closing=None))
    _start, (entry,), end = only(parse_bytes(data))
    assert entry.remittance == "LAST"
    assert end.closing_balance is None
    assert [warning.code for warning in end.warnings] == ["missing_closing_balance"]


def test_balance_mismatch_names_the_closing_line() -> None:
    data = mt940(*statement(":61:2403010301C5,00NTRFNONREF", closing="C240302EUR1006,00"))
    _start, _entries, end = only(parse_bytes(data))
    (warning,) = end.warnings
    assert (warning.code, warning.line) == ("balance_mismatch", 6)


def test_duplicate_bank_reference_is_kept_out_of_the_key() -> None:
    data = mt940(*statement(
        ":61:2403010301C5,00NTRFNONREF//SAME",
        ":61:2403010301C5,00NTRFNONREF//SAME",
        closing="C240302EUR1010,00",
    ))
    _start, (first, second), end = only(parse_bytes(data))
    assert (first.bank_reference, second.bank_reference) == ("SAME", None)
    assert second.details["bank_reference"] == "SAME"
    assert [warning.code for warning in end.warnings] == ["duplicate_bank_reference"]


def test_61_without_transaction_type_is_its_own_entry() -> None:
    data = mt940(*statement(
        ":61:2403010301C5,00", ":86:ONE",
        ":61:2403010301C6,00", ":86:TWO",
        closing="C240302EUR1011,00",
    ))
    _start, entries, end = only(parse_bytes(data))
    assert [(e.amount, e.remittance) for e in entries] == [
        (Decimal("5.00"), "ONE"), (Decimal("6.00"), "TWO"),
    ]
    assert end.warnings == ()


def test_streams_entries_before_the_end_of_the_file() -> None:
    body = [line for n in range(200)
            for line in (f":61:2403010301C1,00NTRFNONREF//R{n}", f":86:entry {n}")]
    data = mt940(*statement(*body, closing="C240302EUR1200,00"))
    stream = io.BytesIO(data)
    events: Iterator[Event] = Mt940Parser().parse(stream)
    assert isinstance(next(events), StatementStart)
    first = next(events)
    assert isinstance(first, Entry) and first.remittance == "entry 0"
    assert stream.tell() < len(data) // 10
    rest = list(events)
    assert isinstance(rest[-1], StatementEnd) and rest[-1].entry_count == 200


# --- structural errors --------------------------------------------------------------------


def error_of(data: bytes) -> ImportFormatError:
    with pytest.raises(ImportFormatError) as caught:
        parse_bytes(data)
    return caught.value


def test_unreadable_61_names_its_line() -> None:
    data = mt940(*statement(":61:2403010301C5,00NTRFNONREF", ":61:24AB01C5,00NTRFNONREF"))
    error = error_of(data)
    assert error.line == 6
    assert ":61:" in error.message


def test_bad_balance_amount_names_its_line() -> None:
    error = error_of(mt940(*statement(opening="C240301EUR1,000,00")))
    assert error.line == 4


def test_balance_without_amount() -> None:
    assert error_of(mt940(*statement(closing="C240302EUR"))).line == 5


def test_not_mt940() -> None:
    error = error_of(b"0000001081700005 this is something else\nhello\n")
    assert "not an MT940 file" in error.message


def test_empty_file() -> None:
    assert "not an MT940 file" in error_of(b"").message


def test_statement_without_account() -> None:
    data = mt940(":20:STMT1", ":28C:1/1", ":60F:C240301EUR0,", ":61:2403010301C5,00NTRF",
                 ":62F:C240301EUR5,")
    error = error_of(data)
    assert error.line == 1
    assert ":25:" in error.message


def test_tag_before_the_first_20() -> None:
    error = error_of(mt940(":25:BE68539007547034", *statement()))
    assert error.line == 1


def test_truncated_file_ends_with_an_unclosed_statement() -> None:
    data = mt940(*statement(":61:2403010301C5,00NTRFNONREF", ":86:CUT HE", closing=None),
                 final_newline=False)
    _start, (entry,), end = only(parse_bytes(data))
    assert entry.remittance == "CUT HE"
    assert [warning.code for warning in end.warnings] == ["missing_closing_balance"]


def test_nul_bytes_are_refused() -> None:
    assert error_of(mt940(*statement()).replace(b"STMT1", b"ST\x00T1")).line == 1
