"""Requests are checked in the order a client can act on: who you are, then what you sent;
unknown query parameters are refused like unknown body fields."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import TenantFixture
from tests.invoicing import INVOICES, create_contact, create_invoice


def test_an_unknown_query_parameter_is_refused_naming_it(
    client: FlaskClient, tenant_a: TenantFixture
) -> None:
    # given a typo in a filter name
    # when the list is asked for
    response = client.get(f"{INVOICES}?stauts=open", headers=tenant_a.headers)
    # then it is a 422 naming the parameter, not a list of everything
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "query:stauts"


def test_authentication_is_checked_before_the_body(client: FlaskClient) -> None:
    # given no token and a body that is wrong as well
    response = client.post(INVOICES, json={"direction": "sideways"})
    # then the answer is about the missing token
    assert response.status_code == 401


def test_a_stale_if_match_on_a_payment_is_refused(
    client: FlaskClient, tenant_a: TenantFixture
) -> None:
    # given an open invoice, read at version N, then changed by someone else
    contact = create_contact(client, tenant_a)
    invoice = create_invoice(client, tenant_a, contact["id"], open=True)
    stale = f'"{invoice["version"]}"'
    client.put(f"{INVOICES}/{invoice['id']}/urgency", headers=tenant_a.headers,
               json={"urgency": 2})
    # when a payment is recorded with the stale ETag
    response = client.post(f"{INVOICES}/{invoice['id']}/payments",
                           headers={**tenant_a.headers, "If-Match": stale},
                           json={"amount": "10.00", "paid_on": "2026-11-01"})
    # then 412 and nothing was recorded
    assert response.status_code == 412
    current = client.get(f"{INVOICES}/{invoice['id']}", headers=tenant_a.headers).get_json()
    assert current["amount_paid"]["amount"] == "0.00"


def test_a_stale_if_match_on_urgency_is_refused(
    client: FlaskClient, tenant_a: TenantFixture
) -> None:
    contact = create_contact(client, tenant_a)
    invoice = create_invoice(client, tenant_a, contact["id"], open=True)
    response = client.put(f"{INVOICES}/{invoice['id']}/urgency",
                          headers={**tenant_a.headers, "If-Match": '"999"'},
                          json={"urgency": 1})
    assert response.status_code == 412
