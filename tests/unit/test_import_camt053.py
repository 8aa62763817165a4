"""camt.053 parser: the shared sample files (figures worked out by reading each file), then
edge cases built here: reversals, batches, pending entries, currencies, hostile XML, ZIPs,
and flat memory on a large generated statement."""

from __future__ import annotations

import io
import json
import os
import re
import tracemalloc
import zipfile
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from smbfinance.transactions.importers.camt053 import Camt053Parser
from smbfinance.transactions.importers.model import (
    Entry,
    Event,
    ImportFormatError,
    StatementEnd,
    StatementStart,
)

FORMATS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "formats"
CAMT_DIR = FORMATS / "camt053"
NS2 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
NS8 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def parse(data: bytes) -> list[Event]:
    return list(Camt053Parser().parse(io.BytesIO(data)))


def parse_file(path: Path) -> list[Event]:
    with path.open("rb") as stream:
        return list(Camt053Parser().parse(stream))


def starts(events: list[Event]) -> list[StatementStart]:
    return [e for e in events if isinstance(e, StatementStart)]


def entries(events: list[Event]) -> list[Entry]:
    return [e for e in events if isinstance(e, Entry)]


def ends(events: list[Event]) -> list[StatementEnd]:
    return [e for e in events if isinstance(e, StatementEnd)]


def codes(end: StatementEnd) -> list[str]:
    return [w.code for w in end.warnings]


# ---------------------------------------------------------------------------------------
# Shared sample files. Figures read from the XML by hand, not produced by the parser.
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    entries: int
    total: Decimal
    opening: Decimal | None
    closing: Decimal | None
    warnings: tuple[str, ...] = ()


D = Decimal
SAMPLES: dict[str, list[Expected]] = {
    # -789903.41 - 0.99 + 789904.40 = 0.00; OPBD 0 = CLBD 0.
    "camt-to-coda__account_statement.xml": [Expected(3, D("0.00"), D("0"), D("0"))],
    # OPBD 1.01 (PRCD 2.02 differs), CLBD 4.04, one credit of 8.850: synthetic, inconsistent.
    "genkgo-camt__camt053.v2.all-balance-types.xml": [
        Expected(1, D("8.85"), D("1.01"), D("4.04"),
                 ("opening_balance_conflict", "balance_mismatch")),
    ],
    # OPBD 18.15 EUR, CLBD 27.00 SEK DBIT: the closing balance is in another currency.
    "genkgo-camt__camt053.v2.minimal.ultimate.xml": [
        Expected(1, D("8.85"), D("18.15"), None, ("balance_currency_mismatch",)),
    ],
    "genkgo-camt__camt053.v2.minimal.xml": [
        Expected(1, D("8.85"), D("18.15"), None, ("balance_currency_mismatch",)),
    ],
    # 18.15 + 8.85 = 27.00; then 27.00 - 7.00 = 20.00.
    "genkgo-camt__camt053.v2.multi.statement.xml": [
        Expected(1, D("8.85"), D("18.15"), D("27.00")),
        Expected(1, D("-7.00"), D("27.00"), D("20.00")),
    ],
    # Only a CLAV balance: no opening, no closing booked balance.
    "genkgo-camt__camt053.v2.with-account-name.xml": [
        Expected(1, D("8.85"), None, None, ("closing_balance_missing",)),
    ],
    "genkgo-camt__camt053.v2.with-party-ids.xml": [
        Expected(1, D("8.85"), D("18.15"), None, ("balance_currency_mismatch",)),
    ],
    "genkgo-camt__camt053.v4.xml": [
        Expected(1, D("8.85"), D("18.15"), None, ("balance_currency_mismatch",)),
    ],
    "genkgo-camt__camt053.v8.xml": [
        Expected(1, D("8.85"), D("18.15"), None, ("balance_currency_mismatch",)),
    ],
    # 832.01 + 1284.30 = 2116.31.
    "iso20022__camt053.xml": [Expected(1, D("1284.30"), D("832.01"), D("2116.31"))],
    # OPBD 75000.00 and one debit of 1200.00, no CLBD.
    "oca-bsi-14.0__camt053": [
        Expected(1, D("-1200.00"), D("75000.00"), None, ("closing_balance_missing",)),
    ],
    # 75960.15 + 3483.00 (one Ntry, two TxDtls of 2187.00 and 1296.00) = 79443.15.
    "oca-bsi-16.0__test-camt053-txdtls": [
        Expected(1, D("3483.00"), D("75960.15"), D("79443.15")),
    ],
}


def sample_files() -> list[str]:
    if not CAMT_DIR.is_dir():
        return []
    return sorted(p.name for p in CAMT_DIR.iterdir() if p.is_file())


needs_samples = pytest.mark.skipif(
    not CAMT_DIR.is_dir(), reason=f"shared sample files not found at {CAMT_DIR}"
)


@needs_samples
def test_every_shared_file_has_expectations() -> None:
    assert sample_files() == sorted(SAMPLES)


@needs_samples
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_shared_file_figures(name: str) -> None:
    path = CAMT_DIR / name
    if not path.exists():
        pytest.skip(f"{path} is missing")
    events = parse_file(path)
    expected = SAMPLES[name]
    assert len(starts(events)) == len(ends(events)) == len(expected)
    for index, want in enumerate(expected):
        start = starts(events)[index]
        end = ends(events)[index]
        mine = [e for e in entries(events) if e.statement_index == index]
        assert start.statement_index == end.statement_index == index
        assert len(mine) == want.entries == end.entry_count
        assert [e.sequence for e in mine] == list(range(1, want.entries + 1))
        assert sum((e.amount for e in mine), Decimal(0)) == want.total
        assert start.opening_balance == want.opening
        assert end.closing_balance == want.closing
        assert tuple(codes(end)) == want.warnings
    # Events come in order: start, its entries, its end.
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "StatementStart" and kinds[-1] == "StatementEnd"


@needs_samples
def test_minimal_sample_fields() -> None:
    events = parse_file(CAMT_DIR / "genkgo-camt__camt053.v2.minimal.xml")
    start, entry, end = events
    assert isinstance(start, StatementStart) and isinstance(entry, Entry)
    assert start.account_iban == "NL26VAYB8060476890"
    assert start.currency == "EUR"
    assert start.statement_id == "253EURNL26VAYB8060476890"
    assert start.opening_date == date(2014, 12, 30)
    assert entry.booking_date == date(2014, 12, 31)
    assert entry.value_date == date(2015, 1, 2)
    # A credit: the counterparty is the debtor.
    assert entry.counterparty_name == "NAME NAME"
    assert entry.counterparty_iban == "NL56AGDH9619008421"
    assert entry.details["creditor_name"] == "Company Name"
    # A 16-digit SCOR reference is not an OGM: kept as written.
    assert entry.structured_reference == "4654654654654654"
    assert entry.transaction_code == "544"
    assert entry.status == "booked"
    assert "reversal" not in entry.details
    assert isinstance(end, StatementEnd)
    warning = end.warnings[0]
    assert "SEK" in warning.message and "EUR" in warning.message
    assert warning.path is not None and warning.path.endswith("/Stmt[1]/Bal[2]")


@needs_samples
def test_v8_sample_fields() -> None:
    events = parse_file(CAMT_DIR / "genkgo-camt__camt053.v8.xml")
    start = starts(events)[0]
    (entry,) = entries(events)
    # The account is given as Othr/Id, and that id is a valid IBAN.
    assert start.account_number == "NL26VAYB8060476890"
    assert start.account_iban == "NL26VAYB8060476890"
    assert start.account_holder == "FINPETROL"
    # No Acct/Ccy: the statement currency comes from the entries.
    assert start.currency == "EUR"
    assert entry.booking_date == date(2014, 12, 31)  # from BookgDt/DtTm
    assert entry.status == "booked"  # Sts/Cd
    assert entry.transaction_code == "PMNT-RCDT-BOOK"
    assert entry.bank_reference == "AAAASESS-FP-CN_98765/01"
    assert entry.end_to_end_id == "MUELL/FINP/RA12345"
    assert entry.counterparty_name == "NAME NAME"  # Dbtr/Pty/Nm in .001.08


@needs_samples
def test_ultimate_parties_go_to_details() -> None:
    (entry,) = entries(parse_file(CAMT_DIR / "genkgo-camt__camt053.v2.minimal.ultimate.xml"))
    assert entry.details["ultimate_debtor"] == "DEBTOR NAME NM"
    assert entry.details["ultimate_creditor"] == "CREDITOR NAME NM"
    assert entry.counterparty_name is None  # no Dbtr on this credit


@needs_samples
def test_batch_sample_is_one_entry_with_both_transactions() -> None:
    (entry,) = entries(parse_file(CAMT_DIR / "oca-bsi-16.0__test-camt053-txdtls"))
    assert entry.amount == Decimal("3483.00")
    assert entry.counterparty_name == "Banque Cantonale Vaudoise"  # both agree
    assert entry.counterparty_iban is None  # they differ
    assert entry.details["counterparty_ibans"] == "CH2222000000123456789 | CH3333000000123456789"
    assert entry.details["structured_references"] == (
        "302388292000011111111111111 | 302388292000022222222222222"
    )
    assert entry.details["batch_size"] == "2"
    batch = json.loads(entry.details["batch_transactions"])
    assert [Decimal(t["amount"]) for t in batch] == [Decimal("2187.00"), Decimal("1296.00")]
    assert entry.bank_reference == "20170323001234567891234567891234"
    assert entry.remittance is not None and entry.remittance.startswith("CRÉDIT GROUPÉ BVR")
    assert entry.transaction_code == "PMNT-RCDT-VCOM"


@needs_samples
def test_anonymised_export_fields() -> None:
    events = parse_file(CAMT_DIR / "camt-to-coda__account_statement.xml")
    start = starts(events)[0]
    assert start.account_holder == "Sigma Solutions"
    assert start.bic == "DEUTBEB4NDX"
    first, second, third = entries(events)
    # Debits: the counterparty is the creditor.
    assert (second.counterparty_name, second.counterparty_iban) == ("Nova Ltd", "BE40933730571463")
    assert second.counterparty_bic == "DEUTBEB4NDX"
    # Credit: the debtor.
    assert third.counterparty_name == "Theta Solutions"
    assert third.amount == Decimal("789904.4")
    # "NOTPROVIDED" is the SEPA placeholder, not a remittance.
    assert first.remittance is None
    assert first.transaction_code == "PMNT-ICDT-ESCT"


@needs_samples
def test_swiss_sample_account_other_id() -> None:
    events = parse_file(CAMT_DIR / "iso20022__camt053.xml")
    start = starts(events)[0]
    assert start.account_iban is None
    assert start.account_number == "0035-2915203-10-000"
    assert start.currency == "CHF"
    (entry,) = entries(events)
    assert entry.remittance == "PAYMENT INFO"
    assert entry.details["uetr"] == "75e77105-a09f-4f9e-bfa8-e82e91ab209b"


# ---------------------------------------------------------------------------------------
# Synthetic documents
# ---------------------------------------------------------------------------------------


def balance(code: str, amount: str, indicator: str = "CRDT", currency: str = "EUR",
            on: str = "2024-01-31") -> str:
    return (f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
            f'<Amt Ccy="{currency}">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
            f"<Dt><Dt>{on}</Dt></Dt></Bal>")


def ntry(amount: str, indicator: str, *, currency: str = "EUR", status: str = "BOOK",
         reversal: str | None = None, booked: str = "2024-01-15", details: str = "",
         extra: str = "", v8: bool = False) -> str:
    sts = f"<Sts><Cd>{status}</Cd></Sts>" if v8 else f"<Sts>{status}</Sts>"
    rvsl = f"<RvslInd>{reversal}</RvslInd>" if reversal is not None else ""
    dtls = f"<NtryDtls>{details}</NtryDtls>" if details else ""
    return (f'<Ntry><Amt Ccy="{currency}">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
            f"{rvsl}{sts}<BookgDt><Dt>{booked}</Dt></BookgDt>{extra}{dtls}</Ntry>")


def tx(*, debtor: str = "", debtor_iban: str = "", creditor: str = "", creditor_iban: str = "",
       ustrd: tuple[str, ...] = (), ref: str = "", e2e: str = "", amount: str = "",
       indicator: str = "CRDT", v8: bool = False) -> str:
    def party(role: str, name: str) -> str:
        if not name:
            return ""
        inner = f"<Pty><Nm>{name}</Nm></Pty>" if v8 else f"<Nm>{name}</Nm>"
        return f"<{role}>{inner}</{role}>"

    def account(role: str, iban: str) -> str:
        return f"<{role}><Id><IBAN>{iban}</IBAN></Id></{role}>" if iban else ""

    refs = f"<Refs><EndToEndId>{e2e}</EndToEndId></Refs>" if e2e else ""
    amt = (f'<Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
           if amount else "")
    strd = f"<Strd><CdtrRefInf><Ref>{ref}</Ref></CdtrRefInf></Strd>" if ref else ""
    rmt = ("<RmtInf>" + "".join(f"<Ustrd>{u}</Ustrd>" for u in ustrd) + strd + "</RmtInf>"
           if ustrd or ref else "")
    parties = (party("Dbtr", debtor) + account("DbtrAcct", debtor_iban)
               + party("Cdtr", creditor) + account("CdtrAcct", creditor_iban))
    return (f"<TxDtls>{refs}{amt}"
            + (f"<RltdPties>{parties}</RltdPties>" if parties else "")
            + f"{rmt}</TxDtls>")


def stmt(body: str, *, account: str = "<Id><IBAN>BE68 5390 0754 7034</IBAN></Id><Ccy>EUR</Ccy>",
         ident: str = "STMT-1") -> str:
    return f"<Stmt><Id>{ident}</Id><Acct>{account}</Acct>{body}</Stmt>"


def document(*statements: str, ns: str = NS2, prolog: str = '<?xml version="1.0"?>') -> bytes:
    return (f'{prolog}<Document xmlns="{ns}"><BkToCstmrStmt>'
            "<GrpHdr><MsgId>TEST</MsgId><CreDtTm>2024-01-31T18:00:00</CreDtTm></GrpHdr>"
            + "".join(statements) + "</BkToCstmrStmt></Document>").encode()


def test_reversal_of_a_credit_is_money_out_and_names_the_original_payer() -> None:
    # An incoming transfer (+100) and its reversal, reported as DBIT + RvslInd=true.
    data = document(stmt(
        balance("OPBD", "0.00") + balance("CLBD", "0.00")
        + ntry("100.00", "CRDT", details=tx(debtor="Client NV", debtor_iban="BE71096123456769",
                                             creditor="Us BV"))
        + ntry("100.00", "DBIT", reversal="true",
               details=tx(debtor="Client NV", debtor_iban="BE71096123456769",
                          creditor="Us BV"))
    ))
    events = parse(data)
    credit, reversal = entries(events)
    assert credit.amount == Decimal("100.00")
    assert reversal.amount == Decimal("-100.00")
    assert reversal.details["reversal"] == "true"
    # The original operation was a credit: its counterparty, the debtor, gets the money back.
    assert reversal.counterparty_name == "Client NV"
    assert reversal.counterparty_iban == "BE71096123456769"
    assert reversal.details["creditor_name"] == "Us BV"
    assert ends(events)[0].warnings == ()


def test_reversal_of_a_debit_is_money_in_and_names_the_original_payee() -> None:
    data = document(stmt(
        balance("OPBD", "500.00") + balance("CLBD", "500.00")
        + ntry("40.00", "DBIT", details=tx(creditor="Supplier SA",
                                           creditor_iban="BE40933730571463"))
        + ntry("40.00", "CRDT", reversal="true",
               details=tx(creditor="Supplier SA", creditor_iban="BE40933730571463"))
    ))
    debit, reversal = entries(parse(data))
    assert (debit.amount, reversal.amount) == (Decimal("-40.00"), Decimal("40.00"))
    assert reversal.counterparty_name == "Supplier SA"
    assert reversal.counterparty_iban == "BE40933730571463"


def test_reversal_written_with_the_original_direction_is_flagged_by_the_balance_check() -> None:
    # A bank that writes the original direction (CRDT) on the reversal of a credit: under the
    # ISO reading the statement does not reconcile, and the warning says why.
    data = document(stmt(
        balance("OPBD", "0.00") + balance("CLBD", "0.00")
        + ntry("100.00", "CRDT") + ntry("100.00", "CRDT", reversal="true")
    ))
    end = ends(parse(data))[0]
    assert codes(end) == ["balance_mismatch"]
    assert "reversal" in end.warnings[0].message


def test_batch_with_disagreeing_transactions() -> None:
    data = document(stmt(
        balance("OPBD", "10.00") + balance("CLBD", "290.00", "DBIT")
        + ntry("300.00", "DBIT", extra="<AcctSvcrRef>BATCH-1</AcctSvcrRef>", details=(
            "<Btch><NbOfTxs>3</NbOfTxs></Btch>"
            + tx(creditor="Alpha", creditor_iban="BE71 0961 2345 6769", e2e="E1", amount="100.00",
                 indicator="DBIT", ustrd=("Invoice 1",), ref="+++090/9337/55493+++")
            + tx(creditor="Beta", creditor_iban="BE40933730571463", e2e="E2", amount="150.00",
                 indicator="DBIT", ustrd=("Invoice 2",))
            + tx(creditor="Beta", creditor_iban="BE40933730571463", e2e="E3", amount="50.00",
                 indicator="DBIT", ustrd=("Invoice 2",))
        ))
    ))
    events = parse(data)
    (entry,) = entries(events)
    assert entry.amount == Decimal("-300.00")  # the movement, not the sum of details
    assert entry.counterparty_name is None
    assert entry.details["counterparty_names"] == "Alpha | Beta"
    assert entry.details["counterparty_ibans"] == "BE71096123456769 | BE40933730571463"
    assert entry.end_to_end_id is None
    assert entry.details["end_to_end_ids"] == "E1 | E2 | E3"
    # Only one transaction has a structured reference: all that have one agree.
    assert entry.structured_reference == "090933755493"
    assert entry.remittance == "Invoice 1 | Invoice 2"
    assert entry.bank_reference == "BATCH-1"
    assert entry.details["batch_size"] == "3"
    batch = json.loads(entry.details["batch_transactions"])
    assert [t["amount"] for t in batch] == ["-100.00", "-150.00", "-50.00"]
    assert batch[0]["counterparty_iban"] == "BE71096123456769"
    # 10.00 - 300.00 = -290.00: a negative (DBIT) closing balance reconciles.
    end = ends(events)[0]
    assert end.closing_balance == Decimal("-290.00")
    assert end.warnings == ()


def test_negative_balances() -> None:
    data = document(stmt(
        balance("OPBD", "1500.00", "DBIT", on="2024-01-01") + balance("CLBD", "1250.50", "DBIT")
        + ntry("249.50", "CRDT")
    ))
    events = parse(data)
    assert starts(events)[0].opening_balance == Decimal("-1500.00")
    assert starts(events)[0].opening_date == date(2024, 1, 1)
    end = ends(events)[0]
    assert end.closing_balance == Decimal("-1250.50")
    assert end.closing_date == date(2024, 1, 31)
    assert end.warnings == ()


def test_balance_mismatch_is_a_warning_with_the_figures() -> None:
    data = document(stmt(balance("OPBD", "100.00") + balance("CLBD", "90.00")
                         + ntry("5.00", "DBIT")))
    end = ends(parse(data))[0]
    assert codes(end) == ["balance_mismatch"]
    message = end.warnings[0].message
    assert "100.00" in message and "95.00" in message and "90.00" in message
    assert end.warnings[0].path == "/Document/BkToCstmrStmt/Stmt[1]"


def test_prcd_is_the_opening_balance_when_there_is_no_opbd() -> None:
    data = document(stmt(balance("PRCD", "20.00") + balance("CLBD", "25.00")
                         + ntry("5.00", "CRDT")))
    events = parse(data)
    assert starts(events)[0].opening_balance == Decimal("20.00")
    assert ends(events)[0].warnings == ()


def test_pending_entries_are_kept_and_left_out_of_the_balance_check() -> None:
    data = document(stmt(
        balance("OPBD", "100.00") + balance("CLBD", "110.00")
        + ntry("10.00", "CRDT") + ntry("99.00", "DBIT", status="PDNG")
        + ntry("1.00", "DBIT", status="INFO")
    ))
    events = parse(data)
    booked, pending = entries(events)
    assert booked.status == "booked"
    assert pending.status == "pending" and pending.amount == Decimal("-99.00")
    end = ends(events)[0]
    assert end.entry_count == 2
    assert codes(end) == ["informational_entries_skipped"]


def test_v8_status_code_and_pending_without_booking_date() -> None:
    pending = (
        '<Ntry><Amt Ccy="EUR">12.00</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
        "<Sts><Cd>PDNG</Cd></Sts><ValDt><Dt>2024-02-01</Dt></ValDt></Ntry>"
    )
    data = document(stmt(balance("OPBD", "0.00") + balance("CLBD", "0.00") + pending), ns=NS8)
    (entry,) = entries(parse(data))
    assert entry.status == "pending"
    assert entry.booking_date == entry.value_date == date(2024, 2, 1)


def test_foreign_currency_account_and_instructed_amount() -> None:
    account = "<Id><IBAN>BE68539007547034</IBAN></Id><Ccy>USD</Ccy>"
    with_fx = (
        '<Ntry><Amt Ccy="USD">108.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
        "<BookgDt><Dt>2024-01-10</Dt></BookgDt><NtryDtls><TxDtls>"
        '<AmtDtls><InstdAmt><Amt Ccy="EUR">100.00</Amt><CcyXchg><SrcCcy>EUR</SrcCcy>'
        "<XchgRate>1.085</XchgRate></CcyXchg></InstdAmt></AmtDtls>"
        "</TxDtls></NtryDtls></Ntry>"
    )
    data = document(stmt(balance("OPBD", "0.00", currency="USD")
                         + balance("CLBD", "108.50", currency="USD") + with_fx,
                         account=account))
    events = parse(data)
    assert starts(events)[0].currency == "USD"
    (entry,) = entries(events)
    assert (entry.amount, entry.currency) == (Decimal("108.50"), "USD")
    assert entry.details["instructed_amount"] == "EUR 100.00"
    assert entry.details["exchange_rate"] == "1.085"
    assert ends(events)[0].warnings == ()


def test_entry_in_another_currency_is_left_out_of_the_balance_check() -> None:
    data = document(stmt(balance("OPBD", "0.00") + balance("CLBD", "5.00")
                         + ntry("5.00", "CRDT") + ntry("7.00", "CRDT", currency="GBP")))
    events = parse(data)
    assert [e.currency for e in entries(events)] == ["EUR", "GBP"]
    end = ends(events)[0]
    assert codes(end) == ["entry_currency_mismatch"]
    assert "GBP" in end.warnings[0].message


def test_empty_statement() -> None:
    data = document(stmt(balance("OPBD", "42.00") + balance("CLBD", "42.00")))
    events = parse(data)
    assert [type(e) for e in events] == [StatementStart, StatementEnd]
    assert ends(events)[0].entry_count == 0
    assert ends(events)[0].warnings == ()


def test_empty_statement_without_account_currency_takes_the_balance_currency() -> None:
    account = "<Id><IBAN>BE68539007547034</IBAN></Id>"
    data = document(stmt(balance("OPBD", "1.00", currency="CHF")
                         + balance("CLBD", "1.00", currency="CHF"), account=account))
    assert starts(parse(data))[0].currency == "CHF"


def test_statement_without_any_currency_is_refused() -> None:
    data = document(stmt("", account="<Id><IBAN>BE68539007547034</IBAN></Id>"))
    with pytest.raises(ImportFormatError, match="currency") as caught:
        parse(data)
    assert caught.value.path == "/Document/BkToCstmrStmt/Stmt[1]/Acct/Ccy"


def test_statement_indexes_run_across_statements() -> None:
    data = document(
        stmt(balance("OPBD", "0.00") + balance("CLBD", "1.00") + ntry("1.00", "CRDT"), ident="A"),
        stmt(balance("OPBD", "1.00") + balance("CLBD", "3.00") + ntry("2.00", "CRDT"), ident="B"),
    )
    events = parse(data)
    assert [s.statement_id for s in starts(events)] == ["A", "B"]
    assert [(e.statement_index, e.sequence) for e in entries(events)] == [(0, 1), (1, 1)]
    assert [e.statement_index for e in ends(events)] == [0, 1]


def test_references_and_codes() -> None:
    extra = ("<AcctSvcrRef>BANK-REF-9</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd>"
             "<SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn><Prtry><Cd>X1</Cd></Prtry></BkTxCd>")
    data = document(stmt(
        ntry("1.00", "CRDT", extra=extra, details=tx(ref="rf18 5390 0754 7034", e2e="E2E-1",
                                                      ustrd=("part one", "  part   two "))
             )
        + ntry("2.00", "CRDT", details=tx(ustrd=("Factuur +++090/9337/55493+++ dank u",)))
        + ntry("3.00", "CRDT", details=tx(ref="090933755493", e2e="NOTPROVIDED"))
    ))
    first, second, third = entries(parse(data))
    assert first.structured_reference == "RF18539007547034"
    assert first.remittance == "part one part two"
    assert first.bank_reference == "BANK-REF-9"
    assert first.end_to_end_id == "E2E-1"
    assert first.transaction_code == "PMNT-RCDT-ESCT"
    assert first.details["proprietary_code"] == "X1"
    # An OGM written in the free text becomes the structured reference.
    assert second.structured_reference == "090933755493"
    assert third.structured_reference == "090933755493"
    assert third.end_to_end_id is None


def test_trailer_summary_checks() -> None:
    summary = ("<TxsSummry><TtlNtries><NbOfNtries>3</NbOfNtries><Sum>15.00</Sum>"
               "<TtlNetNtryAmt>15.00</TtlNetNtryAmt><CdtDbtInd>CRDT</CdtDbtInd></TtlNtries>"
               "</TxsSummry>")
    data = document(stmt(balance("OPBD", "0.00") + balance("CLBD", "5.00") + summary
                         + ntry("5.00", "CRDT")))
    assert codes(ends(parse(data))[0]) == ["trailer_count_mismatch", "trailer_totals_mismatch"]
    good = summary.replace("<NbOfNtries>3<", "<NbOfNtries>1<").replace(">15.00<", ">5.00<")
    data = document(stmt(balance("OPBD", "0.00") + balance("CLBD", "5.00") + good
                         + ntry("5.00", "CRDT")))
    assert ends(parse(data))[0].warnings == ()


def test_non_seekable_stream() -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            chunk = self._data.read(min(len(buffer), 7))  # tiny reads on purpose
            buffer[: len(chunk)] = chunk
            return len(chunk)

    data = document(stmt(balance("OPBD", "0.00") + balance("CLBD", "1.00") + ntry("1.00", "CRDT")))
    events = list(Camt053Parser().parse(Pipe(data)))  # type: ignore[arg-type]
    assert len(entries(events)) == 1


# ---------------------------------------------------------------------------------------
# Structural errors and hostile input
# ---------------------------------------------------------------------------------------


def test_missing_account() -> None:
    data = document("<Stmt><Id>X</Id>" + ntry("1.00", "CRDT") + "</Stmt>")
    with pytest.raises(ImportFormatError) as caught:
        parse(data)
    assert caught.value.path == "/Document/BkToCstmrStmt/Stmt[1]/Acct"


def test_missing_entry_amount_names_the_path() -> None:
    bad = ("<Ntry><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>"
           "<BookgDt><Dt>2024-01-01</Dt></BookgDt></Ntry>")
    data = document(stmt(ntry("1.00", "CRDT") + bad))
    with pytest.raises(ImportFormatError, match="missing") as caught:
        parse(data)
    assert caught.value.path == "/Document/BkToCstmrStmt/Stmt[1]/Ntry[2]/Amt"


@pytest.mark.parametrize(
    ("entry_xml", "where", "text"),
    [
        (ntry("12,50", "CRDT"), "Ntry[1]/Amt", "not an amount"),
        (ntry("-12.50", "CRDT"), "Ntry[1]/Amt", "not an amount"),
        (ntry("1.00", "CRDT", booked="2024-02-30"), "Ntry[1]/BookgDt/Dt", "calendar date"),
        (ntry("1.00", "CRDT", booked="31/01/2024"), "Ntry[1]/BookgDt/Dt", "not an ISO date"),
        (ntry("1.00", "CREDIT"), "Ntry[1]/CdtDbtInd", "neither CRDT nor DBIT"),
        (ntry("1.00", "CRDT", status="WEIRD"), "Ntry[1]/Sts", "unknown entry status"),
        (ntry("1.00", "CRDT", currency="euro"), "Ntry[1]/Amt", "Ccy"),
    ],
)
def test_bad_values_name_the_element(entry_xml: str, where: str, text: str) -> None:
    with pytest.raises(ImportFormatError, match=text) as caught:
        parse(document(stmt(entry_xml)))
    assert caught.value.path == f"/Document/BkToCstmrStmt/Stmt[1]/{where}"


def test_bad_balance_amount() -> None:
    with pytest.raises(ImportFormatError) as caught:
        parse(document(stmt(balance("OPBD", "1.2.3"))))
    assert caught.value.path == "/Document/BkToCstmrStmt/Stmt[1]/Bal[1]/Amt"


def test_truncated_xml() -> None:
    data = document(stmt(balance("OPBD", "0.00") + ntry("1.00", "CRDT") + ntry("2.00", "CRDT")))
    cut = data[: data.index(b"<Ntry>", data.index(b"<Ntry>") + 1) + 30]
    with pytest.raises(ImportFormatError, match="invalid XML") as caught:
        parse(cut)
    assert caught.value.line == 1
    assert caught.value.path == "/Document/BkToCstmrStmt/Stmt[1]/Ntry[2]"


def test_malformed_xml() -> None:
    with pytest.raises(ImportFormatError, match="invalid XML"):
        parse(b'<?xml version="1.0"?><Document xmlns="' + NS2.encode() + b'"><BkToCstmrStmt>'
              b"<Stmt></Acct></Stmt></BkToCstmrStmt></Document>")


def test_empty_file() -> None:
    with pytest.raises(ImportFormatError, match="invalid XML"):
        parse(b"")


def test_document_without_statement() -> None:
    with pytest.raises(ImportFormatError, match="no Stmt"):
        parse(document())


XXE = (b'<?xml version="1.0"?>\n<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       b'<Document xmlns="' + NS2.encode() + b'"><BkToCstmrStmt><Stmt><Id>&xxe;</Id>'
       b"</Stmt></BkToCstmrStmt></Document>")
BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
    b'<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">'
    b'<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">'
    b'<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">'
    b'<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">'
    b'<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">'
    b'<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>'
    b'<Document xmlns="' + NS2.encode() + b'"><BkToCstmrStmt><Stmt><Id>&lol9;</Id>'
    b"</Stmt></BkToCstmrStmt></Document>"
)
PARAMETER_ENTITY = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY % p SYSTEM "file:///etc/passwd">'
                    b'%p;]><Document xmlns="' + NS2.encode() + b'"/>')
EXTERNAL_DTD = (b'<?xml version="1.0"?><!DOCTYPE Document SYSTEM "http://example.invalid/x.dtd">'
                b'<Document xmlns="' + NS2.encode() + b'"/>')


@pytest.mark.parametrize("data", [XXE, BILLION_LAUGHS, PARAMETER_ENTITY, EXTERNAL_DTD],
                         ids=["xxe", "billion-laughs", "parameter-entity", "external-dtd"])
def test_doctype_is_refused(data: bytes) -> None:
    with pytest.raises(ImportFormatError) as caught:
        parse(data)
    assert "root:" not in str(caught.value)  # nothing from /etc/passwd leaks into the message
    assert "DOCTYPE" in str(caught.value)
    assert caught.value.path == "/"


def test_doctype_is_refused_in_utf16() -> None:
    with pytest.raises(ImportFormatError, match="DOCTYPE"):
        parse(XXE.replace(b'<?xml version="1.0"?>', b"").decode().encode("utf-16"))


@pytest.mark.parametrize(
    ("namespace", "root", "what"),
    [
        ("urn:iso:std:iso:20022:tech:xsd:camt.052.001.02", "BkToCstmrAcctRpt", "camt.052"),
        ("urn:iso:std:iso:20022:tech:xsd:camt.054.001.02", "BkToCstmrDbtCdtNtfctn", "camt.054"),
        ("urn:iso:std:iso:20022:tech:xsd:pain.001.001.03", "CstmrCdtTrfInitn", "pain.001"),
        ("urn:iso:std:iso:20022:tech:xsd:pain.008.001.02", "CstmrDrctDbtInitn", "pain.008"),
    ],
)
def test_other_iso20022_messages_are_named(namespace: str, root: str, what: str) -> None:
    data = f'<?xml version="1.0"?><Document xmlns="{namespace}"><{root}/></Document>'.encode()
    with pytest.raises(ImportFormatError, match=what.replace(".", r"\.")) as caught:
        parse(data)
    assert caught.value.path == "/Document"


def test_not_iso20022_at_all() -> None:
    with pytest.raises(ImportFormatError, match="root element is <Invoice>"):
        parse(b'<?xml version="1.0"?><Invoice xmlns="urn:oasis:names:specification:ubl:'
              b'schema:xsd:Invoice-2"/>')
    with pytest.raises(ImportFormatError, match="namespace"):
        parse(b"<Document><BkToCstmrStmt/></Document>")


@pytest.mark.parametrize("version", ["02", "03", "04", "05", "06", "07", "08"])
def test_every_version_namespace_is_accepted(version: str) -> None:
    ns = f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}"
    events = parse(document(stmt(balance("OPBD", "0.00") + balance("CLBD", "1.00")
                                 + ntry("1.00", "CRDT", v8=version >= "08")), ns=ns))
    assert len(entries(events)) == 1 and ends(events)[0].warnings == ()


def test_prefixed_namespace_and_comments() -> None:
    body = document(stmt(balance("OPBD", "0.00") + balance("CLBD", "1.00") + ntry("1.00", "CRDT")))
    text = body.decode().replace(f' xmlns="{NS2}"', f' xmlns:c="{NS2}"')
    text = re.sub(r"<(/?)(?=[A-Za-z])", r"<\1c:", text)
    text = text.replace("<c:Stmt>", "<!-- a comment --><c:Stmt>")
    events = parse(text.encode())
    assert len(entries(events)) == 1


# ---------------------------------------------------------------------------------------
# ZIP archives
# ---------------------------------------------------------------------------------------


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def one_statement(ident: str, amount: str) -> bytes:
    return document(stmt(balance("OPBD", "0.00") + balance("CLBD", amount)
                         + ntry(amount, "CRDT"), ident=ident))


def test_zip_of_two_statements_in_archive_order() -> None:
    data = make_zip({
        "__MACOSX/._b.xml": b"junk",
        "b.xml": one_statement("B", "2.00"),
        "folder/": b"",
        "folder/a.xml": one_statement("A", "1.00"),
    })
    events = parse(data)
    assert [s.statement_id for s in starts(events)] == ["B", "A"]
    assert [s.statement_index for s in starts(events)] == [0, 1]
    assert [e.amount for e in entries(events)] == [Decimal("2.00"), Decimal("1.00")]


@needs_samples
def test_zip_of_shared_files() -> None:
    data = make_zip({
        "one.xml": (CAMT_DIR / "genkgo-camt__camt053.v2.multi.statement.xml").read_bytes(),
        "two.xml": (CAMT_DIR / "iso20022__camt053.xml").read_bytes(),
    })
    events = parse(data)
    assert [s.statement_index for s in starts(events)] == [0, 1, 2]
    assert [e.closing_balance for e in ends(events)] == [
        Decimal("27.00"), Decimal("20.00"), Decimal("2116.31"),
    ]


def test_zip_member_that_is_not_camt053_is_named() -> None:
    camt052 = (b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:'
               b'camt.052.001.02"><BkToCstmrAcctRpt/></Document>')
    data = make_zip({"a.xml": one_statement("A", "1.00"), "report.xml": camt052})
    with pytest.raises(ImportFormatError, match=r"camt\.052") as caught:
        parse(data)
    assert caught.value.path == "report.xml:/Document"


def test_zip_errors() -> None:
    with pytest.raises(ImportFormatError, match="no file"):
        parse(make_zip({"folder/": b""}))
    with pytest.raises(ImportFormatError, match="ZIP"):
        parse(b"PK\x03\x04" + b"\x00" * 40)
    bad = make_zip({"a.xml": b"<Document"})
    with pytest.raises(ImportFormatError, match="invalid XML") as caught:
        parse(bad)
    assert caught.value.path is not None and caught.value.path.startswith("a.xml:")


def test_zip_from_a_non_seekable_stream() -> None:
    data = make_zip({"a.xml": one_statement("A", "1.00")})

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    events = list(Camt053Parser().parse(Pipe()))  # type: ignore[arg-type]
    assert len(entries(events)) == 1


# ---------------------------------------------------------------------------------------
# Flat memory on a large statement
# ---------------------------------------------------------------------------------------


def write_large_statement(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{NS2}">'
                  "<BkToCstmrStmt><GrpHdr><MsgId>BIG</MsgId></GrpHdr><Stmt><Id>BIG</Id>"
                  "<Acct><Id><IBAN>BE68539007547034</IBAN></Id><Ccy>EUR</Ccy></Acct>"
                  + balance("OPBD", "0.00") + balance("CLBD", f"{count}.00") + "\n")
        block: list[str] = []
        for n in range(count):
            block.append(
                '<Ntry><Amt Ccy="EUR">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
                f"<BookgDt><Dt>2024-01-15</Dt></BookgDt><AddtlNtryInf>Payment {n:08d}, "
                "padded with text so that each entry weighs what a real one does</AddtlNtryInf>"
                "</Ntry>\n"
            )
            if len(block) == 2000:
                out.write("".join(block))
                block = []
        out.write("".join(block) + "</Stmt></BkToCstmrStmt></Document>\n")


def resident_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


def test_memory_stays_flat_on_a_large_statement(tmp_path: Path) -> None:
    # 50,000 entries (about 12 MB). tracemalloc sees Python objects; libxml2's own nodes are
    # invisible to it, so the resident size is sampled too: a tree that was not cleared as
    # the parse goes would show there (≈ 100 MB for this file).
    count = 50_000
    path = tmp_path / "large.xml"
    write_large_statement(path, count)
    size = path.stat().st_size
    rss_before = resident_bytes()
    rss_peak = rss_before or 0
    seen = 0
    peak_at_10k = 0
    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            for event in Camt053Parser().parse(stream):
                if isinstance(event, Entry):
                    seen += 1
                    if seen == 10_000:
                        peak_at_10k = tracemalloc.get_traced_memory()[1]
                    if seen % 5000 == 0 and rss_before is not None:
                        rss_peak = max(rss_peak, resident_bytes() or 0)
                elif isinstance(event, StatementEnd):
                    end = event
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seen == count and end.entry_count == count
    assert end.warnings == ()  # 0 + 50,000 × 1.00 = 50,000.00
    # Far below the file size, and no growth from 10k to 50k entries beyond noise.
    assert peak < size / 20, (peak, size)
    assert peak < peak_at_10k * 1.5 + 256 * 1024, (peak_at_10k, peak)
    if rss_before is not None:
        assert rss_peak - rss_before < size / 2, (rss_before, rss_peak, size)
