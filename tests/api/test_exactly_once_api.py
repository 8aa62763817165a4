"""Exactly once: overlapping statements, the same day in two formats, and a pending
movement later booked never create a second transaction."""

from __future__ import annotations

import io
from decimal import Decimal

from flask.testing import FlaskClient

from tests.conftest import TenantFixture

IBAN = "BE68539007547034"

# (booking date, signed amount, status)
Movement = tuple[str, str, str]


def camt(movements: list[Movement], *, opening: str = "1000.00") -> bytes:
    entries = "".join(f"""
      <Ntry><Amt Ccy="EUR">{abs(Decimal(a))}</Amt>
        <CdtDbtInd>{'CRDT' if Decimal(a) > 0 else 'DBIT'}</CdtDbtInd>
        <Sts>{'BOOK' if s == 'booked' else 'PDNG'}</Sts>
        <BookgDt><Dt>{d}</Dt></BookgDt><ValDt><Dt>{d}</Dt></ValDt>
        <NtryDtls><TxDtls><RmtInf><Ustrd>Payment {n}</Ustrd></RmtInf></TxDtls></NtryDtls>
      </Ntry>""" for n, (d, a, s) in enumerate(movements))
    booked = sum(Decimal(a) for _d, a, s in movements if s == "booked")
    closing = Decimal(opening) + booked
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
  <GrpHdr><MsgId>MSG</MsgId><CreDtTm>2026-03-05T10:00:00</CreDtTm></GrpHdr>
  <Stmt><Id>STMT</Id><CreDtTm>2026-03-05T10:00:00</CreDtTm>
    <Acct><Id><IBAN>{IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>
    <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{opening}</Amt>
      <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{movements[0][0]}</Dt></Dt></Bal>
    <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{closing}</Amt>
      <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{movements[-1][0]}</Dt></Dt></Bal>{entries}
  </Stmt></BkToCstmrStmt></Document>""".encode()


def mt940(movements: list[Movement], *, opening: str = "1000.00") -> bytes:
    def yymmdd(d: str) -> str:
        return d[2:4] + d[5:7] + d[8:10]
    lines = [":20:STATEMENT", f":25:{IBAN}", ":28C:1/1",
             f":60F:C{yymmdd(movements[0][0])}EUR{opening.replace('.', ',')}"]
    for n, (d, a, _s) in enumerate(movements):
        amount = abs(Decimal(a))
        mark = "C" if Decimal(a) > 0 else "D"
        lines.append(f":61:{yymmdd(d)}{d[5:7]}{d[8:10]}{mark}{str(amount).replace('.', ',')}"
                     "NTRFNONREF")
        lines.append(f":86:Payment {n}")
    closing = Decimal(opening) + sum(Decimal(a) for _d, a, _s in movements)
    lines.append(f":62F:C{yymmdd(movements[-1][0])}EUR{str(closing).replace('.', ',')}")
    return ("\r\n".join(lines) + "\r\n-").encode()


def _import(client: FlaskClient, tenant: TenantFixture, data: bytes) -> dict:
    response = client.post("/api/v1/imports", headers=tenant.headers,
                           content_type="multipart/form-data",
                           data={"file": (io.BytesIO(data), "statement")})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _all(client: FlaskClient, tenant: TenantFixture) -> list[dict]:
    return client.get("/api/v1/transactions?limit=200", headers=tenant.headers).get_json()["data"]


DAY1 = [("2026-03-02", "-12.50", "booked"), ("2026-03-02", "-12.50", "booked"),
        ("2026-03-02", "250.00", "booked")]
DAY2 = [("2026-03-03", "-80.00", "booked")]
DAY3 = [("2026-03-04", "1200.00", "booked"), ("2026-03-04", "-12.50", "booked")]


def test_overlapping_statements_add_only_the_new_days(
    client: FlaskClient, tenant_a: TenantFixture
) -> None:
    # given a statement for days 1-2 imported
    first = _import(client, tenant_a, camt(DAY1 + DAY2))
    # when a statement for days 2-3 is imported
    second = _import(client, tenant_a, camt(DAY2 + DAY3, opening="1145.00"))
    # then only day 3 is new; two equal debits on day 1 stay two transactions
    assert first["counts"]["created"] == 4
    assert second["counts"] == {"read": 3, "created": 2, "duplicates": 1, "updated": 0,
                                "skipped": 0}
    assert len(_all(client, tenant_a)) == 6


def test_the_same_days_in_two_formats_are_one_set_of_transactions(
    client: FlaskClient, tenant_a: TenantFixture
) -> None:
    # given the CAMT.053 statement of two days
    _import(client, tenant_a, camt(DAY1 + DAY2))
    # when the MT940 export of the same days for the same account comes in
    again = _import(client, tenant_a, mt940(DAY1 + DAY2))
    # then nothing is added
    assert again["format"] == "mt940"
    assert again["counts"]["created"] == 0 and again["counts"]["duplicates"] == 4
    assert len(_all(client, tenant_a)) == 4
    accounts = client.get("/api/v1/bank-accounts", headers=tenant_a.headers).get_json()["data"]
    assert [a["iban"] for a in accounts] == [IBAN]


def test_a_pending_movement_later_booked_replaces_it(
    client: FlaskClient, tenant_a: TenantFixture
) -> None:
    # given a pending card payment
    _import(client, tenant_a, camt([("2026-03-02", "-45.90", "pending")]))
    assert [t["status"] for t in _all(client, tenant_a)] == ["pending"]
    # when the next statement has it booked
    booked = _import(client, tenant_a, camt([("2026-03-02", "-45.90", "booked")]))
    # then the same transaction is now booked; none was added
    assert booked["counts"]["updated"] == 1 and booked["counts"]["created"] == 0
    assert [(t["status"], t["amount"]["amount"]) for t in _all(client, tenant_a)] == [
        ("booked", "-45.90")]


def test_the_newest_closing_balance_becomes_the_account_balance(
    client: FlaskClient, tenant_a: TenantFixture
) -> None:
    _import(client, tenant_a, camt(DAY1 + DAY2))  # closes 1145.00 on 2026-03-03
    _import(client, tenant_a, camt(DAY1, opening="1000.00"))  # older: closes on 2026-03-02
    account = client.get("/api/v1/bank-accounts", headers=tenant_a.headers).get_json()["data"][0]
    assert account["current_balance"] == {"amount": "1145.00", "currency": "EUR"}
    assert account["balance_date"] == "2026-03-03"
    assert account["balance_source"] == "camt053"


def test_the_database_numbers_keys_as_the_reference_model_does(
    client: FlaskClient, tenant_a: TenantFixture, db_session
) -> None:
    # given a statement with repeated date+amount pairs, imported
    from datetime import date as day_of

    from sqlalchemy import select

    from smbfinance.tenancy import tenant_scope
    from smbfinance.transactions.dedupe import FileKeys
    from smbfinance.transactions.models import BankTransaction

    movements = DAY1 + DAY2 + DAY3
    _import(client, tenant_a, camt(movements))
    # when the stored keys are read back
    with tenant_scope(db_session, tenant_a.tenant_id):
        stored = set(db_session.execute(select(BankTransaction.dedupe_key)).scalars())
        db_session.rollback()
    # then they are exactly the keys dedupe.FileKeys gives the same movements
    keys = FileKeys()
    expected = {keys.key(day_of.fromisoformat(d), Decimal(a)) for d, a, _s in movements}
    assert stored == expected
