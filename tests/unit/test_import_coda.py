"""CODA 2.x parser: every shared sample file, then hand-made records for the edge cases.

The per-file figures below were worked out from the files themselves, not with the parser:
the 2.1 records with detail number 0000 counted and their signed amounts (positions 32-47)
added with an awk one-liner, and the balances of records 1 and 8 read by eye.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from smbfinance.transactions.importers.coda import CodaParser
from smbfinance.transactions.importers.model import (
    Entry,
    Event,
    ImportFormatError,
    StatementEnd,
    StatementStart,
)
from tests.importing import statements

FORMATS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "formats"
CODA = FORMATS / "coda"
needs_shared = pytest.mark.skipif(
    not CODA.is_dir(),
    reason=f"shared sample files not found at {CODA} (../shared beside the repo)",
)

BALANCE_CODES = {"balance_mismatch", "trailer_count_mismatch", "trailer_totals_mismatch",
                 "account_mismatch", "date_mismatch", "statement_gap", "missing_trailer"}


def parse_bytes(data: bytes) -> list[Event]:
    return list(CodaParser().parse(io.BytesIO(data)))


def parse_file(name: str) -> list[Event]:
    with (CODA / name).open("rb") as stream:
        return list(CodaParser().parse(stream))


# --- every shared file --------------------------------------------------------------------

# file -> per statement: (entries, sum of amounts, closing balance or None when the README
# says the file is inconsistent, exact set of warning codes)
SHARED: dict[str, list[tuple[int, str, str | None, set[str]]]] = {
    "php-coda-parser__sample1.cod": [(4, "80.00", "17832.12", set())],
    "php-coda-parser__sample2.cod": [
        (1, "-9.68", None, {"account_mismatch", "date_mismatch", "balance_mismatch"}),
    ],
    "php-coda-parser__sample5.cod": [
        (3, "6303.46", None, {
            "sequence_gap", "duplicate_bank_reference", "statement_number_mismatch",
            "balance_mismatch", "trailer_count_mismatch", "trailer_totals_mismatch",
        }),
    ],
    "php-coda-parser__sample7.cod": [
        (1, "-75.00", None,
         {"balance_mismatch", "trailer_count_mismatch", "trailer_totals_mismatch"}),
    ],
    "php-coda-parser__sample8.cod": [(2, "-644.89", "648.56", set())],
    "php-coda-parser__sample9.cod": [
        (1, "5.00", None,
         {"balance_mismatch", "trailer_count_mismatch", "trailer_totals_mismatch"}),
    ],
    "php-coda-parser__sample10.cod": [(1, "1000.00", "1100.00", set())],
    "php-coda-parser__sample11.cod": [(1, "1000.00", "1100.00", set())],
    "oca-l10n-belgium-16.0__Ontvangen_CODA.2012-01-11-18.59.15.txt": [
        (5, "1715.11", None, {"account_mismatch", "balance_mismatch"}),
    ],
    "oca-l10n-belgium-7.0__Coda_iban_v2_3_multi_statements.txt": [
        (1, "-122.40", "39575.69", set()),
        (1, "100000.00", "139575.69", set()),
    ],
    "oca-l10n-belgium-7.0__Coda_iban_v2_3_single_statement.txt": [(17, "0.00", "0.00", set())],
    # Two movements (0032 and 0050) share the bank reference BVGB00596LKKTOVSOVKUG.
    "decodar__exemple_coda2.coda": [
        (59, "9405296.99", "9405296.99", {"duplicate_bank_reference"}),
    ],
    "coda_standard__coda.cod": [
        (2, "700.86", None, {
            "account_mismatch", "balance_mismatch", "trailer_count_mismatch",
            "trailer_totals_mismatch",
        }),
    ],
    "tryton__CODA.txt": [(1, "100.00", "100.00", set())],
}


@needs_shared
def test_every_shared_file_is_listed() -> None:
    assert sorted(path.name for path in CODA.iterdir()) == sorted(SHARED)


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
        if closing is not None:
            assert end.closing_balance == Decimal(closing)
            assert start.opening_balance is not None
            assert start.opening_balance + Decimal(total) == end.closing_balance
            assert not {warning.code for warning in end.warnings} & BALANCE_CODES


@needs_shared
def test_sample1_structured_communication_and_counterparty() -> None:
    (start, entries, _end), = statements(parse_file("php-coda-parser__sample1.cod"))
    assert start.account_number == "138536152215"
    assert start.account_iban is None  # the BBAN's own check digits are wrong
    assert start.currency == "EUR"
    assert start.bic == "KREDBEBB"
    assert start.account_holder == "BOUWBEDRIJF VOOR GROTE WER"
    assert start.opening_date == date(2017, 10, 10)
    first = entries[0]
    assert first.amount == Decimal("5.00")
    assert first.structured_reference == "000003505158"
    assert first.remittance is None
    assert first.counterparty_name == "KLANT1 MET NAAM1"
    assert first.counterparty_iban == "BE22313215646432"
    assert first.counterparty_bic == "KREDBEBB"
    assert first.bank_reference == "JRFC00120DSCCOCACAERT"
    assert first.transaction_code == "00150000"
    assert first.booking_date == first.value_date == date(2017, 10, 11)
    assert first.details["communication_type"] == "101"
    assert first.details["information_type"] == "001"
    assert first.details["information"] == "KLANT1 MET NAAM1 GROTE WEG 32 3215 HASSELT"


@needs_shared
def test_sample7_globalised_batch_is_one_entry_with_its_details() -> None:
    (_start, entries, _end), = statements(parse_file("php-coda-parser__sample7.cod"))
    (entry,) = entries
    assert entry.amount == Decimal("-75.00")
    assert entry.details["globalisation_code"] == "1"
    assert entry.details["detail_count"] == "3"
    amounts = [Decimal(entry.details[f"detail.{n:04d}.amount"]) for n in (2, 3, 4)]
    assert amounts == [Decimal("-25"), Decimal("-20"), Decimal("-30")]
    assert sum(amounts) == entry.amount
    assert entry.details["detail.0003.counterparty_name"] == "KLANT3 NAAM"
    assert entry.details["detail.0003.structured_reference"] == "000003154982"
    assert entry.details["detail.0004.counterparty_account"] == "BE23156453132168"
    assert "UITVOERING VAN UW BESTAND/GROEP" in (entry.remittance or "")


@needs_shared
def test_sample2_free_text_information_joins_words_cut_at_record_ends() -> None:
    (_start, entries, end), = statements(parse_file("php-coda-parser__sample2.cod"))
    (entry,) = entries
    assert "Avenue Marnix 24, B-1000 Bruxelles" in (entry.remittance or "")
    assert entry.details["detail.0002.communication_type"] == "106"
    assert end.closing_date == date(2015, 11, 18)


@needs_shared
def test_sample5_negative_closing_balance_and_duplicate_references() -> None:
    (_start, entries, end), = statements(parse_file("php-coda-parser__sample5.cod"))
    assert end.closing_balance == Decimal("-500012.10")
    assert [entry.bank_reference for entry in entries] == ["0001200002835", None, None]
    assert entries[1].details["bank_reference"] == "0001200002835"
    gap = next(w for w in end.warnings if w.code == "sequence_gap")
    assert gap.line == 13


@needs_shared
def test_multi_statement_file_keeps_statements_apart() -> None:
    found = statements(parse_file("oca-l10n-belgium-7.0__Coda_iban_v2_3_multi_statements.txt"))
    (first_start, _, first_end), (second_start, second_entries, _) = found
    assert first_start.account_iban == second_start.account_iban == "BE13001676096039"
    assert first_end.closing_balance == second_start.opening_balance
    assert [first_start.statement_id, second_start.statement_id] == ["036", "037"]
    (entry,) = second_entries
    assert entry.counterparty_iban == "NL34BKMG0261239759"
    assert entry.end_to_end_id == "FT14090KG9S3"
    assert entry.details["detail.0002.communication_type"] == "105"


@needs_shared
def test_bban_with_valid_check_digits_gives_the_belgian_iban() -> None:
    (start, _, _), = statements(parse_file("coda_standard__coda.cod"))
    assert start.account_number == "539007547034"
    assert start.account_iban == "BE68539007547034"


@needs_shared
def test_header_bic_shifted_by_one_position() -> None:
    (start, _, _), = statements(parse_file("tryton__CODA.txt"))
    assert start.bic == "BBRUBEBB"
    assert start.account_iban == "BE47435000000080"


@needs_shared
def test_crlf_shared_file_reads_like_lf() -> None:
    name = "oca-l10n-belgium-7.0__Coda_iban_v2_3_single_statement.txt"
    raw = (CODA / name).read_bytes()
    assert b"\r\n" in raw
    assert parse_bytes(raw) == parse_bytes(raw.replace(b"\r\n", b"\n"))


@needs_shared
@pytest.mark.parametrize("name", [
    "php-coda-parser__sample1.cod",
    "oca-l10n-belgium-7.0__Coda_iban_v2_3_multi_statements.txt",
    "oca-l10n-belgium-7.0__Coda_iban_v2_3_single_statement.txt",
])
def test_file_without_line_breaks_reads_like_one_record_per_line(name: str) -> None:
    raw = (CODA / name).read_bytes()
    unwrapped = raw.replace(b"\r\n", b"").replace(b"\n", b"")
    assert len(unwrapped) % 128 == 0
    assert parse_bytes(unwrapped) == parse_file(name)


# --- hand-made records --------------------------------------------------------------------


def record(*fields: tuple[int, str]) -> str:
    """A 128-character record with each text at its 1-based position."""
    chars = [" "] * 128
    for position, text in fields:
        assert position - 1 + len(text) <= 128, (position, text)
        chars[position - 1:position - 1 + len(text)] = list(text)
    return "".join(chars)


def amount15(value: str) -> tuple[str, str]:
    """(sign digit, 15 digits with 3 decimals) of a signed amount."""
    number = Decimal(value)
    return ("1" if number < 0 else "0"), f"{int(abs(number) * 1000):015d}"


def header(version: str = "2", bic: str = "GKCCBEBB") -> str:
    return record((1, "0"), (2, "0000"), (6, "010324"), (12, "000"), (15, "05"),
                  (35, "ACME BV"), (61, bic), (72, "00403200393"), (84, "00000"),
                  (128, version))


def old_balance(balance: str = "1000.00", *, structure: str = "2",
                account: str = "BE68539007547034", currency: str = "EUR",
                number: str = "012", when: str = "010324", holder: str = "ACME BV") -> str:
    sign, digits = amount15(balance)
    if structure == "0":
        account_fields = [(6, account), (19, currency), (22, "0"), (23, "BE")]
    else:
        account_fields = [(6, account), (40, currency)]
    return record((1, "1"), (2, structure), (3, number), *account_fields, (43, sign),
                  (44, digits), (59, when), (65, holder), (126, number))


def new_balance(balance: str, *, structure: str = "2", account: str = "BE68539007547034",
                currency: str = "EUR", number: str = "012", when: str = "020324") -> str:
    sign, digits = amount15(balance)
    if structure == "0":
        account_fields = [(5, account), (18, currency)]
    else:
        account_fields = [(5, account), (39, currency)]
    return record((1, "8"), (2, number), *account_fields, (42, sign), (43, digits),
                  (58, when), (128, "0"))


def movement(sequence: int, amount: str, *, detail: int = 0, reference: str = "REF",
             code: str = "00150000", communication: str = "", structured: str = "",
             booked: str = "020324", value: str = "020324", glob: str = "0") -> str:
    sign, digits = amount15(amount)
    fields = [(1, "21"), (3, f"{sequence:04d}"), (7, f"{detail:04d}"), (11, reference),
              (32, sign), (33, digits), (48, value), (54, code), (116, booked),
              (122, "012"), (125, glob), (126, "0"), (128, "0")]
    if structured:
        fields += [(62, "1"), (63, structured)]
    else:
        fields += [(62, "0"), (63, communication)]
    return record(*fields)


def record22(sequence: int, *, detail: int = 0, communication: str = "",
             end_to_end: str = "", bic: str = "") -> str:
    return record((1, "22"), (3, f"{sequence:04d}"), (7, f"{detail:04d}"),
                  (11, communication), (64, end_to_end), (99, bic), (128, "0"))


def record23(sequence: int, *, detail: int = 0, account: str = "", name: str = "",
             communication: str = "") -> str:
    return record((1, "23"), (3, f"{sequence:04d}"), (7, f"{detail:04d}"), (11, account),
                  (48, name), (83, communication), (128, "0"))


def record31(sequence: int, text: str, *, detail: int = 1, structured: str = "") -> str:
    body = [(40, "1"), (41, structured), (44, text)] if structured else [(40, "0"), (41, text)]
    return record((1, "31"), (3, f"{sequence:04d}"), (7, f"{detail:04d}"), (11, "REF"),
                  (32, "00150000"), *body, (128, "0"))


def record32(sequence: int, text: str, *, detail: int = 1) -> str:
    return record((1, "32"), (3, f"{sequence:04d}"), (7, f"{detail:04d}"), (11, text),
                  (128, "0"))


def trailer(count: int, debit: str, credit: str) -> str:
    return record((1, "9"), (17, f"{count:06d}"), (23, amount15(debit)[1]),
                  (38, amount15(credit)[1]), (128, "2"))


def coda(*records: str, newline: str = "\n", final_newline: bool = True,
         encoding: str = "cp1252") -> bytes:
    text = newline.join(records) + (newline if final_newline else "")
    return text.encode(encoding)


def simple_file(*body: str, opening: str = "1000.00", closing: str = "1000.00",
                debit: str = "0", credit: str = "0", **balance: str) -> bytes:
    records = [old_balance(opening, **balance), *body, new_balance(closing, **balance)]
    return coda(header(), *records, trailer(len(records), debit, credit))


def only(events: list[Event]) -> tuple[StatementStart, list[Entry], StatementEnd]:
    (statement,) = statements(events)
    return statement


def test_consistent_file_has_no_warnings() -> None:
    data = simple_file(
        movement(1, "250.00", communication="INVOICE 2024-001"),
        movement(2, "-100.50", reference="REF2", communication="RENT MARCH"),
        closing="1149.50", debit="100.50", credit="250.00",
    )
    start, entries, end = only(parse_bytes(data))
    assert start.account_iban == "BE68539007547034"
    assert start.opening_balance == Decimal("1000.00")
    assert start.opening_date == date(2024, 3, 1)
    assert start.statement_id == "012"
    assert start.bic == "GKCCBEBB"
    assert [entry.amount for entry in entries] == [Decimal("250.00"), Decimal("-100.50")]
    assert [entry.remittance for entry in entries] == ["INVOICE 2024-001", "RENT MARCH"]
    assert end.closing_balance == Decimal("1149.50")
    assert end.closing_date == date(2024, 3, 2)
    assert end.warnings == ()


def test_reversal_with_debit_family_code_and_credit_sign_is_money_in() -> None:
    # 0-05-01-000 is a direct debit payment; booked with sign 0 it is its reversal.
    data = simple_file(
        movement(1, "42.00", code="00501000", communication="REVERSAL DIRECT DEBIT"),
        closing="1042.00", credit="42.00",
    )
    _start, (entry,), end = only(parse_bytes(data))
    assert entry.amount == Decimal("42.00")
    assert entry.transaction_code == "00501000"
    assert end.warnings == ()


def test_cents_are_cents_and_a_third_decimal_is_kept() -> None:
    data = simple_file(movement(1, "5.00"), movement(2, "1.234", reference="R2"),
                       closing="1006.234", credit="6.234")
    start, (five, odd), end = only(parse_bytes(data))
    assert str(start.opening_balance) == "1000.00"
    assert (str(five.amount), str(odd.amount)) == ("5.00", "1.234")
    assert end.closing_balance == Decimal("1006.234")
    assert end.warnings == ()


def test_debit_of_zero_is_a_plain_zero() -> None:
    data = simple_file(movement(1, "0", communication="NOTHING"))
    _start, (entry,), _end = only(parse_bytes(data))
    assert entry.amount == 0 and not entry.amount.is_signed()


def test_globalised_movement_is_one_entry_and_details_are_kept() -> None:
    data = simple_file(
        movement(1, "-300.00", glob="1", code="10107000", communication="PAYROLL MARCH"),
        movement(1, "-120.00", detail=1, code="00107000", structured="101123456789002"),
        record23(1, detail=1, account="BE71096123456769", name="JANSSENS JAN"),
        movement(1, "-180.00", detail=2, code="00107000", communication="SALARY PEETERS",
                 glob="1"),
        record22(1, detail=2, end_to_end="E2E-PEETERS", bic="GEBABEBB"),
        record23(1, detail=2, account="BE62510007547061", name="PEETERS AN"),
        movement(2, "50.00", reference="REF2", communication="REFUND"),
        closing="750.00", debit="300.00", credit="50.00",
    )
    _start, entries, end = only(parse_bytes(data))
    assert [entry.amount for entry in entries] == [Decimal("-300.00"), Decimal("50.00")]
    total = entries[0]
    assert total.remittance == "PAYROLL MARCH"
    assert total.counterparty_name is None
    assert total.details["detail_count"] == "2"
    assert total.details["detail.0001.amount"] == "-120.00"
    assert total.details["detail.0001.structured_reference"] == "123456789002"
    assert total.details["detail.0001.counterparty_name"] == "JANSSENS JAN"
    assert total.details["detail.0002.communication"] == "SALARY PEETERS"
    assert total.details["detail.0002.end_to_end_id"] == "E2E-PEETERS"
    assert total.details["detail.0002.counterparty_bic"] == "GEBABEBB"
    assert total.details["detail.0002.counterparty_account"] == "BE62510007547061"
    assert end.entry_count == 2
    assert end.warnings == ()  # record 9 counts the totals, not the details


def test_empty_statement() -> None:
    start, entries, end = only(parse_bytes(simple_file(opening="512.30", closing="512.30")))
    assert entries == []
    assert end.entry_count == 0
    assert end.closing_balance == start.opening_balance == Decimal("512.30")
    assert end.warnings == ()


def test_negative_balances() -> None:
    data = simple_file(movement(1, "-99.99", communication="CARD"),
                       opening="-1500.00", closing="-1599.99", debit="99.99")
    start, _entries, end = only(parse_bytes(data))
    assert start.opening_balance == Decimal("-1500.00")
    assert end.closing_balance == Decimal("-1599.99")
    assert end.warnings == ()


@pytest.mark.parametrize(("structure", "account", "iban", "number"), [
    ("3", "GB33BUKB20201555555555", "GB33BUKB20201555555555", None),
    ("1", "123-456789-00", None, "123-456789-00"),
])
def test_foreign_currency_accounts(structure: str, account: str, iban: str | None,
                                   number: str | None) -> None:
    data = simple_file(movement(1, "10.00", communication="USD IN"), closing="1010.00",
                       credit="10.00", structure=structure, account=account, currency="USD")
    start, (entry,), end = only(parse_bytes(data))
    assert (start.account_iban, start.account_number) == (iban, number)
    assert start.currency == entry.currency == "USD"
    assert end.warnings == ()


def test_belgian_bban_account_structure() -> None:
    data = simple_file(structure="0", account="539007547034")
    start, _entries, end = only(parse_bytes(data))
    assert start.account_number == "539007547034"
    assert start.account_iban == "BE68539007547034"
    assert end.warnings == ()


def test_crlf_and_missing_final_newline_read_like_lf() -> None:
    records = [header(), old_balance(), movement(1, "5.00", communication="X"),
               new_balance("1005.00"), trailer(3, "0", "5.00")]
    lf = parse_bytes(coda(*records))
    assert parse_bytes(coda(*records, newline="\r\n")) == lf
    assert parse_bytes(coda(*records, final_newline=False)) == lf
    assert parse_bytes(coda(*records, newline="\r\n", final_newline=False)) == lf


def test_cp1252_byte_in_a_name() -> None:
    data = simple_file(
        movement(1, "5.00", communication="MERCI"),
        record23(1, account="BE71096123456769", name="CAFÉ DE LA GARE"),
        closing="1005.00", credit="5.00",
    )
    assert b"CAF\xc9 " in data  # one byte, so the record is still 128 bytes long
    _start, (entry,), _end = only(parse_bytes(data))
    assert entry.counterparty_name == "CAFÉ DE LA GARE"


def test_utf8_file_counts_characters_not_bytes() -> None:
    records = [header(), old_balance(holder="SOCIÉTÉ GÉNÉRALE"),
               movement(1, "5.00", communication="RÉSERVATION"),
               new_balance("1005.00"), trailer(3, "0", "5.00")]
    data = coda(*records, encoding="utf-8")
    start, (entry,), end = only(parse_bytes(data))
    assert start.account_holder == "SOCIÉTÉ GÉNÉRALE"
    assert entry.remittance == "RÉSERVATION"
    assert end.warnings == ()


def test_undefined_cp1252_byte_does_not_crash() -> None:
    data = simple_file(movement(1, "5.00", communication="ODD"), closing="1005.00",
                       credit="5.00")
    data = data.replace(b"ODD", b"O\x81D")
    _start, (entry,), _end = only(parse_bytes(data))
    assert entry.remittance == "O\x81D"


def test_structured_and_free_information_records() -> None:
    data = simple_file(
        movement(1, "75.00", structured="101000003505158"),
        record31(1, "ACME SUPPLIES NV", structured="001"),
        record32(1, "MAIN STREET 1                      1000 BRUSSEL"),
        movement(2, "25.00", reference="REF2", communication="ORDER"),
        record31(2, "INVOICE 2024/0042 DELIVERED"),
        closing="1100.00", credit="100.00",
    )
    _start, (first, second), end = only(parse_bytes(data))
    assert first.structured_reference == "000003505158"
    assert first.remittance is None
    assert first.details["information_type"] == "001"
    assert first.details["information"] == "ACME SUPPLIES NV MAIN STREET 1 1000 BRUSSEL"
    assert second.remittance == "ORDER INVOICE 2024/0042 DELIVERED"
    assert end.warnings == ()


def test_other_structured_types_keep_their_text() -> None:
    data = simple_file(movement(1, "5.00", structured="127060624120BE25ZZZ548413215"),
                       closing="1005.00", credit="5.00")
    _start, (entry,), _end = only(parse_bytes(data))
    assert entry.structured_reference is None
    assert entry.remittance == "060624120BE25ZZZ548413215"
    assert entry.details["communication_type"] == "127"


def test_record_22_and_23_fill_the_counterparty() -> None:
    # The 2.1 zone (53 characters) ends inside a word that record 2.2 finishes.
    message = "PAYMENT OF INVOICES 2024-0001, 2024-0002 AND 2024-0003 WITH THANKS"
    head, tail = message[:53], message[53:]
    assert head.endswith("2024-000") and tail.startswith("3 ")
    data = simple_file(
        movement(1, "5.00", communication=head),
        record22(1, communication=tail, end_to_end="NOTPROVIDED", bic="BBRUBEBB"),
        record23(1, account="NL91 ABNA 0417 1643 00", name="  SOME   NAME  "),
        closing="1005.00", credit="5.00",
    )
    _start, (entry,), _end = only(parse_bytes(data))
    assert entry.remittance == message
    assert entry.end_to_end_id is None
    assert entry.counterparty_bic == "BBRUBEBB"
    assert entry.counterparty_iban == "NL91ABNA0417164300"
    assert entry.counterparty_name == "SOME NAME"


def test_unknown_value_date_and_booking_date() -> None:
    data = simple_file(movement(1, "5.00", value="000000", booked="050324"),
                       closing="1005.00", credit="5.00")
    _start, (entry,), _end = only(parse_bytes(data))
    assert entry.value_date is None
    assert entry.booking_date == date(2024, 3, 5)


@pytest.mark.parametrize(("body", "totals", "closing", "codes"), [
    ([movement(1, "5.00"), movement(3, "5.00", reference="R3")], ("0", "10.00"), "1010.00",
     {"sequence_gap"}),
    ([movement(1, "5.00")], ("0", "5.00"), "1006.00", {"balance_mismatch"}),
    ([movement(1, "5.00")], ("0", "7.00"), "1005.00", {"trailer_totals_mismatch"}),
    ([movement(1, "5.00"), movement(2, "5.00")], ("0", "10.00"), "1010.00",
     {"duplicate_bank_reference"}),
])
def test_consistency_problems_are_warnings(body: list[str], totals: tuple[str, str],
                                           closing: str, codes: set[str]) -> None:
    data = simple_file(*body, closing=closing, debit=totals[0], credit=totals[1])
    _start, _entries, end = only(parse_bytes(data))
    assert {warning.code for warning in end.warnings} == codes


def test_trailer_count_and_record_8_mismatches() -> None:
    records = [header(), old_balance(), movement(1, "5.00"),
               new_balance("1005.00", account="BE62510007547061", number="013",
                           when="290224"),
               trailer(9, "0", "5.00")]
    _start, _entries, end = only(parse_bytes(coda(*records)))
    by_code = {warning.code: warning for warning in end.warnings}
    assert set(by_code) == {"trailer_count_mismatch", "account_mismatch",
                            "statement_number_mismatch", "date_mismatch"}
    assert by_code["trailer_count_mismatch"].line == 5
    assert by_code["account_mismatch"].line == 4


def test_gap_between_two_statements_of_one_account() -> None:
    first = [old_balance("100.00", number="001"), new_balance("100.00", number="001")]
    second = [old_balance("90.00", number="002"), new_balance("90.00", number="002")]
    data = coda(header(), *first, trailer(2, "0", "0"), header(), *second,
                trailer(2, "0", "0"))
    (_s1, _e1, end1), (_s2, _e2, end2) = statements(parse_bytes(data))
    assert end1.warnings == ()
    assert [warning.code for warning in end2.warnings] == ["statement_gap"]


def test_file_ending_after_record_8_without_trailer_warns() -> None:
    data = coda(header(), old_balance(), new_balance("1000.00"))
    _start, _entries, end = only(parse_bytes(data))
    assert [warning.code for warning in end.warnings] == ["missing_trailer"]


def test_streams_entries_before_the_end_of_the_file() -> None:
    body = [movement(n, "1.00", reference=f"R{n}") for n in range(1, 201)]
    data = simple_file(*body, closing="1200.00", credit="200.00")
    stream = io.BytesIO(data)
    events: Iterator[Event] = CodaParser().parse(stream)
    assert isinstance(next(events), StatementStart)
    first = next(events)
    assert isinstance(first, Entry) and first.sequence == 1
    assert stream.tell() < len(data) // 10
    rest = list(events)
    assert isinstance(rest[-1], StatementEnd) and rest[-1].entry_count == 200


# --- structural errors --------------------------------------------------------------------


def error_of(data: bytes) -> ImportFormatError:
    with pytest.raises(ImportFormatError) as caught:
        parse_bytes(data)
    return caught.value


def test_wrong_record_length_names_the_line() -> None:
    records = [header(), old_balance(), movement(1, "5.00")[:127], new_balance("1005.00"),
               trailer(3, "0", "5.00")]
    error = error_of(coda(*records))
    assert error.line == 3
    assert "127 characters" in error.message
    assert "line 3" in str(error)


def test_blank_padding_beyond_128_is_tolerated() -> None:
    records = [header() + "   ", old_balance(), new_balance("1000.00"), trailer(2, "0", "0")]
    _start, _entries, end = only(parse_bytes(coda(*records)))
    assert end.warnings == ()


@pytest.mark.parametrize("bad", ["5", "24", "34", "7"])
def test_unknown_record_type(bad: str) -> None:
    records = [header(), old_balance(), bad + movement(1, "5.00")[len(bad):],
               new_balance("1005.00"), trailer(3, "0", "5.00")]
    error = error_of(coda(*records))
    assert error.line == 3
    assert "unknown CODA record type" in error.message


def test_file_must_start_with_record_0() -> None:
    error = error_of(coda(old_balance(), new_balance("1000.00"), trailer(2, "0", "0")))
    assert error.line == 1


def test_not_a_coda_file() -> None:
    assert error_of(b":20:STARTUMSE\r\n:25:12345678/0123456789\r\n").line == 1


@pytest.mark.parametrize("data", [b"", b"\n\n"])
def test_empty_file(data: bytes) -> None:
    assert "empty" in error_of(data).message


def test_truncated_file_inside_a_statement() -> None:
    error = error_of(coda(header(), old_balance(), movement(1, "5.00")))
    assert error.line == 3
    assert "truncated" in error.message


def test_truncated_record_in_a_file_without_line_breaks() -> None:
    data = coda(header(), old_balance(), movement(1, "5.00"), newline="")[:-60]
    error = error_of(data)
    assert error.line == 3  # the third 128-byte record
    assert "68 characters" in error.message


def test_truncated_record() -> None:
    data = coda(header(), old_balance(), movement(1, "5.00"))[:-60]
    assert error_of(data).line == 3


@pytest.mark.parametrize(("field", "message"), [
    ((33, "00000000000X000"), "movement amount is not numeric"),
    ((32, "7"), "sign must be 0 or 1"),
    ((48, "320224"), "value date is not a valid date"),
    ((116, "02-3-4"), "entry date is not a DDMMYY date"),
])
def test_bad_numbers_and_dates(field: tuple[int, str], message: str) -> None:
    position, text = field
    line = movement(1, "5.00")
    line = line[:position - 1] + text + line[position - 1 + len(text):]
    error = error_of(simple_file(line, closing="1005.00", credit="5.00"))
    assert error.line == 3
    assert message in error.message


def test_record_22_without_its_movement() -> None:
    error = error_of(simple_file(movement(1, "5.00"), record22(2), closing="1005.00",
                                 credit="5.00"))
    assert error.line == 4


def test_movement_outside_a_statement() -> None:
    data = coda(header(), movement(1, "5.00"), trailer(1, "0", "5.00"))
    assert error_of(data).line == 2


def test_only_version_2_is_read() -> None:
    assert "version" in error_of(coda(header(version="1"))).message


def test_nul_bytes_are_refused() -> None:
    data = simple_file().replace(b"ACME BV", b"ACME\x00BV", 1)
    assert error_of(data).line == 1
