"""Foreign-currency invoices: amount filters compare in base currency, and an issued
invoice keeps the value it was issued with when rates change later."""

from __future__ import annotations

import io

from flask.testing import FlaskClient

from tests.conftest import TenantFixture
from tests.invoicing import INVOICES, RATES_IMPORT, create_contact, create_invoice, ecb_xml, line


def _rates(client: FlaskClient, tenant: TenantFixture, usd: str) -> None:
    data = ecb_xml({"2026-03-02": {"USD": usd}})
    response = client.post(RATES_IMPORT, headers=tenant.headers, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(data), "rates.xml")})
    assert response.status_code == 200, response.get_json()


def test_amount_filters_compare_in_base_currency(
    client: FlaskClient, tenant_a: TenantFixture
) -> None:
    # given USD 200 (= EUR 100 at 2.0) and EUR 150
    _rates(client, tenant_a, "2.0")
    contact = create_contact(client, tenant_a)
    usd = create_invoice(client, tenant_a, contact["id"], currency="USD",
                         issue_date="2026-03-02", due_date="2026-04-02",
                         lines=[line("200.00", vat_rate="0")])
    eur = create_invoice(client, tenant_a, contact["id"], issue_date="2026-03-02",
                         due_date="2026-04-02", lines=[line("150.00", vat_rate="0")])
    # when listing invoices worth at least EUR 120
    response = client.get(f"{INVOICES}?min_amount=120", headers=tenant_a.headers)
    # then only the EUR 150 one: USD 200 is worth EUR 100
    assert [i["id"] for i in response.get_json()["data"]] == [eur["id"]]
    assert usd["gross_total_base"] == {"amount": "100.00", "currency": "EUR"}


def test_an_issued_invoice_keeps_its_value_when_rates_change(
    client: FlaskClient, tenant_a: TenantFixture
) -> None:
    # given an open USD invoice valued at the rate of its issue date
    _rates(client, tenant_a, "2.0")
    contact = create_contact(client, tenant_a)
    invoice = create_invoice(client, tenant_a, contact["id"], currency="USD",
                             issue_date="2026-03-02", due_date="2026-04-02", open=True,
                             lines=[line("200.00", vat_rate="0")])
    # when the rates are re-imported with another value and its due date changes
    _rates(client, tenant_a, "4.0")
    response = client.patch(f"{INVOICES}/{invoice['id']}", headers=tenant_a.headers,
                            json={"due_date": "2026-04-30"})
    # then its base-currency value and rate are those it was issued with
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["gross_total_base"] == invoice["gross_total_base"]
    assert body["exchange_rate"] == invoice["exchange_rate"]
    assert body["due_date"] == "2026-04-30"
