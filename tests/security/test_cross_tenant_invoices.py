"""Tenant B cannot tell tenant A's contacts and invoices from ids that do not exist: every
route answers B exactly as it answers an unknown id, B's lists never show A's rows, and
A's rows are untouched by B's attempts."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import TenantFixture
from tests.invoicing import (
    CONTACTS,
    INVOICES,
    RATES_IMPORT,
    create_contact,
    create_invoice,
    ecb_xml,
    invoice_body,
    today,
)


@dataclass
class Tenants:
    a: TenantFixture
    b: TenantFixture
    a_contact: dict[str, Any]
    a_invoice: dict[str, Any]
    a_draft: dict[str, Any]


@pytest.fixture()
def tenants(client: FlaskClient, tenant_a: TenantFixture, tenant_b: TenantFixture) -> Tenants:
    """A has a contact, an open invoice and a draft; B has rows of its own."""
    a_contact = create_contact(client, tenant_a, "Alpha Secret Client",
                               vat_number="BE0123456749", ibans=["BE68539007547034"])
    a_invoice = create_invoice(client, tenant_a, a_contact["id"], open=True,
                               number="A-SECRET-1")
    a_draft = create_invoice(client, tenant_a, a_contact["id"], number="A-SECRET-2")
    b_contact = create_contact(client, tenant_b, "Beta Own Client")
    create_invoice(client, tenant_b, b_contact["id"], open=True)
    return Tenants(tenant_a, tenant_b, a_contact, a_invoice, a_draft)


def signature(response: Any) -> tuple[int, str | None, str | None, list[tuple[str, str]]]:
    """What a caller can tell apart: status, problem type and code, fields at fault."""
    body = response.get_json(silent=True) or {}
    errors = sorted((e["field"], e.get("code", "")) for e in body.get("errors", []))
    return response.status_code, body.get("type"), body.get("code"), errors


PAID_ON = "2025-03-10"
# (method, path template, json body, extra headers); {id} is a contact or invoice id.
CONTACT_ROUTES = [
    ("GET", CONTACTS + "/{id}", None, {}),
    ("PATCH", CONTACTS + "/{id}", {"name": "Taken over"}, {}),
    ("PATCH", CONTACTS + "/{id}", {"name": "Taken over"}, {"If-Match": '"1"'}),
    ("DELETE", CONTACTS + "/{id}", None, {}),
    ("DELETE", CONTACTS + "/{id}", None, {"If-Match": '"1"'}),
]
INVOICE_ROUTES = [
    ("GET", INVOICES + "/{id}", None, {}),
    ("PATCH", INVOICES + "/{id}", {"notes": "mine now"}, {}),
    ("PATCH", INVOICES + "/{id}", {"notes": "mine now"}, {"If-Match": '"1"'}),
    ("DELETE", INVOICES + "/{id}", None, {}),
    ("DELETE", INVOICES + "/{id}", None, {"If-Match": '"2"'}),
    ("POST", INVOICES + "/{id}/open", None, {}),
    ("POST", INVOICES + "/{id}/payments", {"amount": "1.00", "paid_on": PAID_ON}, {}),
    ("POST", INVOICES + "/{id}/payments", {"amount": "1.00", "paid_on": PAID_ON},
     {"Idempotency-Key": "cross-tenant"}),
    ("POST", INVOICES + "/{id}/cancel", None, {}),
    ("POST", INVOICES + "/{id}/cancel", None, {"If-Match": '"2"'}),
    ("PUT", INVOICES + "/{id}/urgency", {"urgency": 1}, {}),
]


def _call(client: FlaskClient, tenant: TenantFixture, method: str, path: str,
          body: dict[str, Any] | None, headers: dict[str, str]) -> Any:
    kwargs: dict[str, Any] = {"headers": {**tenant.headers, **headers}}
    if body is not None:
        kwargs["json"] = body
    return client.open(path, method=method, **kwargs)


def _same_as_unknown(client: FlaskClient, tenants: Tenants, routes: list,
                     a_ids: list[str]) -> None:
    for method, template, body, headers in routes:
        for a_id in a_ids:
            # given one of A's ids and an id that exists nowhere
            unknown = str(uuid.uuid4())
            # when B calls the route with each
            with_a = _call(client, tenants.b, method, template.format(id=a_id), body,
                           _fresh_key(headers))
            with_unknown = _call(client, tenants.b, method, template.format(id=unknown), body,
                                 _fresh_key(headers))
            # then both answers look the same: not found, and nothing of A's shows
            assert signature(with_a) == signature(with_unknown), (method, template, headers)
            assert with_a.status_code == 404, (method, template, with_a.get_json())
            assert "Alpha" not in with_a.get_data(as_text=True)


def _fresh_key(headers: dict[str, str]) -> dict[str, str]:
    if "Idempotency-Key" not in headers:
        return headers
    return {**headers, "Idempotency-Key": f"{headers['Idempotency-Key']}-{uuid.uuid4()}"}


def test_contact_routes_answer_b_as_for_an_unknown_id(client: FlaskClient,
                                                      tenants: Tenants) -> None:
    _same_as_unknown(client, tenants, CONTACT_ROUTES, [tenants.a_contact["id"]])
    _assert_a_untouched(client, tenants)


def test_invoice_routes_answer_b_as_for_an_unknown_id(client: FlaskClient,
                                                      tenants: Tenants) -> None:
    _same_as_unknown(client, tenants, INVOICE_ROUTES,
                     [tenants.a_invoice["id"], tenants.a_draft["id"]])
    _assert_a_untouched(client, tenants)


def _assert_a_untouched(client: FlaskClient, tenants: Tenants) -> None:
    a = tenants.a
    assert client.get(f"{CONTACTS}/{tenants.a_contact['id']}",
                      headers=a.headers).get_json() == tenants.a_contact
    for invoice in (tenants.a_invoice, tenants.a_draft):
        assert client.get(f"{INVOICES}/{invoice['id']}",
                          headers=a.headers).get_json() == invoice


def test_a_cursor_from_a_is_an_unknown_cursor_for_b(client: FlaskClient,
                                                    tenants: Tenants) -> None:
    for path, a_id in ((CONTACTS, tenants.a_contact["id"]),
                       (INVOICES, tenants.a_invoice["id"])):
        with_a = client.get(path, headers=tenants.b.headers,
                            query_string={"starting_after": a_id})
        with_unknown = client.get(path, headers=tenants.b.headers,
                                  query_string={"starting_after": str(uuid.uuid4())})
        assert signature(with_a) == signature(with_unknown), path
        assert with_a.status_code == 404


def _refs(client: FlaskClient, tenants: Tenants) -> list[Callable[[str], dict[str, Any]]]:
    b_contact = client.get(CONTACTS, headers=tenants.b.headers).get_json()["data"][0]["id"]
    return [
        lambda ref: invoice_body(ref),
        lambda ref: invoice_body(b_contact, kind="credit_note", corrects_invoice_id=ref),
    ]


def test_a_references_in_b_bodies_are_unknown_references(client: FlaskClient,
                                                         tenants: Tenants) -> None:
    # given bodies that point at one of A's rows (a contact, an invoice to correct)
    contact_body, credit_body = _refs(client, tenants)
    for make, a_id in ((contact_body, tenants.a_contact["id"]),
                       (credit_body, tenants.a_invoice["id"])):
        # when B posts them, and the same with an id that exists nowhere
        with_a = client.post(INVOICES, headers=tenants.b.headers, json=make(a_id))
        with_unknown = client.post(INVOICES, headers=tenants.b.headers,
                                   json=make(str(uuid.uuid4())))
        # then both are the same validation error, naming the same field
        assert signature(with_a) == signature(with_unknown)
        assert with_a.status_code == 422
    # and filtering by A's contact is like filtering by an unknown one: nothing
    for contact_id in (tenants.a_contact["id"], str(uuid.uuid4())):
        listed = client.get(INVOICES, headers=tenants.b.headers,
                            query_string={"contact_id": contact_id})
        assert listed.status_code == 200 and listed.get_json()["data"] == []


def test_b_lists_and_searches_never_show_a_rows(client: FlaskClient,
                                                tenants: Tenants) -> None:
    a_ids = {tenants.a_contact["id"], tenants.a_invoice["id"], tenants.a_draft["id"]}
    searches = [
        (CONTACTS, {}), (CONTACTS, {"q": "Alpha"}), (CONTACTS, {"q": "BE0123456749"}),
        (CONTACTS, {"vat_number": "BE0123456749"}), (CONTACTS, {"iban": "BE68539007547034"}),
        (CONTACTS, {"q": "BE68539007547034"}),
        (INVOICES, {}), (INVOICES, {"q": "A-SECRET"}), (INVOICES, {"q": "Alpha"}),
        (INVOICES, {"q": tenants.a_invoice["payment_reference"]}),
        (INVOICES, {"status": "open"}), (INVOICES, {"status": "draft"}),
        (INVOICES, {"urgency": tenants.a_invoice["urgency"]}),
        (INVOICES, {"sort": "number", "limit": 200}),
    ]
    for path, query in searches:
        response = client.get(path, headers=tenants.b.headers, query_string=query)
        assert response.status_code == 200, (path, query)
        seen = {row["id"] for row in response.get_json()["data"]}
        assert not seen & a_ids, (path, query)
        assert "Alpha" not in response.get_data(as_text=True), (path, query)
    # and B does see its own rows, so the lists were not simply empty
    assert len(client.get(CONTACTS, headers=tenants.b.headers).get_json()["data"]) == 1
    assert len(client.get(INVOICES, headers=tenants.b.headers).get_json()["data"]) == 1


def test_a_exchange_rates_do_not_value_b_invoices(client: FlaskClient,
                                                  tenants: Tenants) -> None:
    # given A imported dollar rates for today
    rates = ecb_xml({today().isoformat(): {"USD": "1.0807"}})
    imported = client.post(RATES_IMPORT, headers=tenants.a.headers,
                           data={"file": (io.BytesIO(rates), "rates.xml")},
                           content_type="multipart/form-data")
    assert imported.status_code == 200
    # when B creates a dollar invoice / then B has no rate: 422 naming the currency
    b_contact = client.get(CONTACTS, headers=tenants.b.headers).get_json()["data"][0]["id"]
    response = client.post(INVOICES, headers=tenants.b.headers,
                           json=invoice_body(b_contact, currency="USD"))
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["currency"]
    # while A can
    assert create_invoice(client, tenants.a, tenants.a_contact["id"],
                          currency="USD")["currency"] == "USD"


def test_numbers_and_references_are_per_tenant(client: FlaskClient, tenants: Tenants) -> None:
    # given A's receivable numbered A-SECRET-1 with its structured communication
    b_contact = client.get(CONTACTS, headers=tenants.b.headers).get_json()["data"][0]["id"]
    # when B uses the same number and the same reference / then that is B's business
    response = client.post(INVOICES, headers=tenants.b.headers, json=invoice_body(
        b_contact, number="A-SECRET-1",
        payment_reference=tenants.a_invoice["payment_reference"]))
    assert response.status_code == 201, response.get_json()
