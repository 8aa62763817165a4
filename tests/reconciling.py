"""Bank payments for reconciliation tests: a CAMT.053 statement built from a few payments
(counterparty, IBAN, structured reference, free text), imported through the REST door."""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from flask.testing import FlaskClient

from tests.conftest import TenantFixture

ACCOUNT_IBAN = "BE68539007547034"
MATCHES = "/api/v1/reconciliation/matches"
SUGGESTIONS = "/api/v1/reconciliation/suggestions"
RUNS = "/api/v1/reconciliation/runs"


@dataclass(frozen=True)
class Paid:
    amount: str  # signed: + money in, − money out
    on: str
    name: str | None = None
    iban: str | None = None
    ogm: str | None = None
    text: str | None = None


def _entry(paid: Paid) -> str:
    amount = Decimal(paid.amount)
    credit = amount > 0
    party = "Dbtr" if credit else "Cdtr"
    parties = ""
    if paid.name or paid.iban:
        name = f"<{party}><Nm>{escape(paid.name or '')}</Nm></{party}>" if paid.name else ""
        account = (f"<{party}Acct><Id><IBAN>{paid.iban}</IBAN></Id></{party}Acct>"
                   if paid.iban else "")
        parties = f"<RltdPties>{name}{account}</RltdPties>"
    remittance = ""
    if paid.ogm:
        remittance = (f"<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry>"
                      f"<Issr>BBA</Issr></Tp><Ref>{paid.ogm}</Ref></CdtrRefInf></Strd></RmtInf>")
    elif paid.text:
        remittance = f"<RmtInf><Ustrd>{escape(paid.text)}</Ustrd></RmtInf>"
    return f"""
      <Ntry><Amt Ccy="EUR">{abs(amount)}</Amt><CdtDbtInd>{'CRDT' if credit else 'DBIT'}</CdtDbtInd>
        <Sts>BOOK</Sts><BookgDt><Dt>{paid.on}</Dt></BookgDt><ValDt><Dt>{paid.on}</Dt></ValDt>
        <NtryDtls><TxDtls>{parties}{remittance}</TxDtls></NtryDtls></Ntry>"""


def camt(payments: list[Paid], *, statement_id: str = "STMT-1") -> bytes:
    opening = Decimal("10000.00")
    closing = opening + sum(Decimal(p.amount) for p in payments)
    first, last = min(p.on for p in payments), max(p.on for p in payments)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
  <GrpHdr><MsgId>{statement_id}</MsgId><CreDtTm>{last}T10:00:00</CreDtTm></GrpHdr>
  <Stmt><Id>{statement_id}</Id><CreDtTm>{last}T10:00:00</CreDtTm>
    <Acct><Id><IBAN>{ACCOUNT_IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>
    <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{opening}</Amt>
      <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{first}</Dt></Dt></Bal>
    <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{closing}</Amt>
      <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{last}</Dt></Dt></Bal>{''.join(map(_entry, payments))}
  </Stmt></BkToCstmrStmt></Document>""".encode()


def import_payments(client: FlaskClient, tenant: TenantFixture, payments: list[Paid],
                    **kwargs: Any) -> dict[str, Any]:
    response = client.post("/api/v1/imports", headers=tenant.headers,
                           content_type="multipart/form-data",
                           data={"file": (io.BytesIO(camt(payments, **kwargs)), "camt.xml")})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def transactions(client: FlaskClient, tenant: TenantFixture) -> list[dict[str, Any]]:
    response = client.get("/api/v1/transactions?limit=200", headers=tenant.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def matches(client: FlaskClient, tenant: TenantFixture, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"{MATCHES}?{query}", headers=tenant.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def suggestions(client: FlaskClient, tenant: TenantFixture,
                query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"{SUGGESTIONS}?{query}", headers=tenant.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]
