"""Peppol BIS 3.0 / UBL import and export through the REST door, on every shared sample."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from smbfinance.invoices.peppol import parse_ubl
from tests.conftest import TenantFixture, register_tenant

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "formats" / "peppol-ubl"
FILES = sorted(SHARED.glob("*.xml")) if SHARED.is_dir() else []

# ECB-style rates for the two GBP samples (issued 2018-08-30), written for this test.
GBP_RATES = b"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
 xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
<gesmes:subject>Reference rates</gesmes:subject>
<Cube><Cube time="2018-08-30"><Cube currency="GBP" rate="0.89845"/></Cube></Cube>
</gesmes:Envelope>"""


def _upload(client: FlaskClient, tenant: TenantFixture, data: bytes, path: str):
    return client.post(path, data={"file": (io.BytesIO(data), "document.xml")},
                       headers=tenant.headers, content_type="multipart/form-data")


def _import(client: FlaskClient, tenant: TenantFixture, data: bytes):
    return _upload(client, tenant, data, "/api/v1/invoices/import")


def _be_the(client: FlaskClient, tenant: TenantFixture, party) -> None:
    response = client.patch("/api/v1/tenant", headers=tenant.headers, json={
        "peppol_id": f"{party.endpoint_scheme}:{party.endpoint_id}"})
    assert response.status_code == 200, response.get_json()


def _count(client: FlaskClient, tenant: TenantFixture, resource: str) -> int:
    body = client.get(f"/api/v1/{resource}?limit=200", headers=tenant.headers).get_json()
    return len(body["data"])


@pytest.mark.skipif(not FILES, reason="shared/data/formats/peppol-ubl is not beside the repo")
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_shared_document_imports_as_a_payable_with_its_own_totals(
    client: FlaskClient, path: Path
) -> None:
    # given a company that is the document's buyer (and rates when it is in GBP)
    data = path.read_bytes()
    document = parse_ubl(data)
    tenant = register_tenant(client, "Buyer Co")
    _be_the(client, tenant, document.customer)
    if document.currency != "EUR":
        assert _upload(client, tenant, GBP_RATES,
                       "/api/v1/exchange-rates/import").status_code == 200
    # when it imports the document
    response = _import(client, tenant, data)
    # then a payable exists whose totals are the document's
    assert response.status_code == 201, response.get_json()
    invoice = response.get_json()["invoice"]
    totals = document.totals
    assert invoice["direction"] == "payable"
    assert invoice["kind"] == document.kind
    assert invoice["number"] == document.number
    assert invoice["currency"] == document.currency
    assert Decimal(invoice["net_total"]["amount"]) == totals.tax_exclusive
    assert Decimal(invoice["vat_total"]["amount"]) == totals.tax_total
    assert Decimal(invoice["gross_total"]["amount"]) == totals.tax_inclusive
    assert Decimal(invoice["outstanding"]["amount"]) == totals.tax_inclusive - totals.prepaid
    assert len(invoice["lines"]) == len(document.lines)
    assert invoice["contact"]["name"] == document.supplier.name[:200]
    # and importing the same document again creates nothing new
    again = _import(client, tenant, data)
    assert again.status_code == 200 and again.get_json()["created"] is False
    assert again.get_json()["invoice"]["id"] == invoice["id"]
    assert _count(client, tenant, "invoices") == 1
    assert _count(client, tenant, "contacts") == 1


@pytest.mark.skipif(not FILES, reason="shared/data/formats/peppol-ubl is not beside the repo")
def test_the_seller_imports_its_own_document_as_a_receivable(client: FlaskClient) -> None:
    path = SHARED / "ublbe-v1.1__UBLBE_BE0000000196_V01-15000004.xml"
    data = path.read_bytes()
    tenant = register_tenant(client, "Seller Co")
    # given a company whose enterprise number is the seller's (0000000196)
    client.patch("/api/v1/tenant", headers=tenant.headers,
                 json={"enterprise_number": "0000.000.196"})
    # when it imports the document
    response = _import(client, tenant, data)
    # then it is a receivable for the buyer, keeping the document's payment reference
    assert response.status_code == 201, response.get_json()
    invoice = response.get_json()["invoice"]
    assert invoice["direction"] == "receivable"
    assert invoice["contact"]["name"] == parse_ubl(data).customer.name


@pytest.mark.skipif(not FILES, reason="shared/data/formats/peppol-ubl is not beside the repo")
def test_a_document_for_another_company_is_refused_naming_the_addressee(
    client: FlaskClient, tenant_a: TenantFixture
) -> None:
    data = (SHARED / "peppol-bis__base-example.xml").read_bytes()
    response = _import(client, tenant_a, data)
    assert response.status_code == 422
    body = response.get_json()
    assert body["errors"][0]["code"] == "not_addressed_to_tenant"
    assert "Buyer Official Name" in body["errors"][0]["message"]
    assert _count(client, tenant_a, "invoices") == 0
    assert _count(client, tenant_a, "contacts") == 0


BAD_DOCUMENTS = {
    "not xml": b"this is not xml at all",
    "truncated": b"<?xml version='1.0'?><Invoice xmlns='urn:oasis:names:specification:ubl:sc",
    "billion laughs": b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><Invoice>&lol2;</Invoice>""",
    "external entity": b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM
"file:///etc/passwd">]><Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
><cbc:ID xmlns:cbc="urn:x">&xxe;</cbc:ID></Invoice>""",
    "not ubl": b"<?xml version='1.0'?><Order xmlns='urn:example'><ID>1</ID></Order>",
}


@pytest.mark.parametrize("name", sorted(BAD_DOCUMENTS))
def test_broken_or_hostile_documents_are_refused_and_nothing_is_written(
    client: FlaskClient, tenant_a: TenantFixture, name: str
) -> None:
    response = _import(client, tenant_a, BAD_DOCUMENTS[name])
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"][0]["field"]
    assert _count(client, tenant_a, "invoices") == 0
    assert _count(client, tenant_a, "contacts") == 0


@pytest.mark.skipif(not FILES, reason="shared/data/formats/peppol-ubl is not beside the repo")
def test_totals_that_do_not_add_up_are_refused_naming_the_element(client: FlaskClient) -> None:
    path = SHARED / "ublbe-v1.1__UBLBE_BE0000000196_V01-15000001.xml"
    data = path.read_bytes()
    document = parse_ubl(data)
    tampered = data.replace(
        f">{document.totals.tax_inclusive}<".encode(),
        f">{document.totals.tax_inclusive + 1}<".encode(), 1)
    assert tampered != data
    tenant = register_tenant(client, "Buyer Co")
    _be_the(client, tenant, document.customer)
    response = _import(client, tenant, tampered)
    assert response.status_code == 422
    fields = [error["field"] for error in response.get_json()["errors"]]
    assert any(field.endswith("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount") for field in fields)
    assert _count(client, tenant, "invoices") == 0


def test_an_exported_invoice_imports_back_to_the_same_invoice(client: FlaskClient) -> None:
    # given a seller and a buyer company, each with an enterprise number
    seller = register_tenant(client, "Seller BV")
    buyer = register_tenant(client, "Buyer NV")
    client.patch("/api/v1/tenant", headers=seller.headers,
                 json={"vat_number": "BE0403170701"})
    client.patch("/api/v1/tenant", headers=buyer.headers,
                 json={"vat_number": "BE0202239951", "enterprise_number": "0202.239.951"})
    contact = client.post("/api/v1/contacts", headers=seller.headers, json={
        "name": "Buyer NV", "vat_number": "BE0202239951"}).get_json()
    created = client.post("/api/v1/invoices", headers=seller.headers, json={
        "direction": "receivable", "contact_id": contact["id"], "issue_date": "2026-11-02",
        "due_date": "2026-12-02", "open": True,
        "lines": [{"description": "Bread", "quantity": "3", "unit_price": "10.005",
                   "vat_rate": "6"},
                  {"description": "Delivery", "quantity": "1", "unit_price": "12.50",
                   "vat_rate": "21"}],
        "adjustments": [{"amount": "2.00", "vat_rate": "6", "reason": "Loyalty"}]}).get_json()
    # when the seller exports it and the buyer imports the document
    exported = client.get(f"/api/v1/invoices/{created['id']}/ubl", headers=seller.headers)
    assert exported.status_code == 200 and exported.mimetype == "application/xml"
    response = _import(client, buyer, exported.data)
    # then the buyer holds a payable with the same number, totals, lines and reference
    assert response.status_code == 201, response.get_json()
    imported = response.get_json()["invoice"]
    assert imported["direction"] == "payable"
    for key in ("number", "issue_date", "due_date", "currency", "net_total", "vat_total",
                "gross_total", "payment_reference"):
        assert imported[key] == created[key], key
    assert [(line["description"], line["net_amount"]) for line in imported["lines"]] == [
        (line["description"], line["net_amount"]) for line in created["lines"]]
    assert imported["adjustments"][0]["amount"] == created["adjustments"][0]["amount"]


def test_a_draft_is_not_exported(client: FlaskClient, tenant_a: TenantFixture) -> None:
    contact = client.post("/api/v1/contacts", headers=tenant_a.headers,
                          json={"name": "Someone"}).get_json()
    draft = client.post("/api/v1/invoices", headers=tenant_a.headers, json={
        "direction": "receivable", "contact_id": contact["id"],
        "lines": [{"description": "x", "unit_price": "1.00"}]}).get_json()
    response = client.get(f"/api/v1/invoices/{draft['id']}/ubl", headers=tenant_a.headers)
    assert response.status_code == 422


def test_another_tenants_invoice_cannot_be_exported(
    client: FlaskClient, tenant_a: TenantFixture, tenant_b: TenantFixture
) -> None:
    contact = client.post("/api/v1/contacts", headers=tenant_a.headers,
                          json={"name": "Someone"}).get_json()
    invoice = client.post("/api/v1/invoices", headers=tenant_a.headers, json={
        "direction": "receivable", "contact_id": contact["id"], "open": True,
        "lines": [{"description": "x", "unit_price": "1.00"}]}).get_json()
    theirs = client.get(f"/api/v1/invoices/{invoice['id']}/ubl", headers=tenant_b.headers)
    unknown = client.get("/api/v1/invoices/01a20000-0000-7000-8000-000000000000/ubl",
                         headers=tenant_b.headers)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.get_json()["type"] == unknown.get_json()["type"]
