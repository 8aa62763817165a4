"""Helpers for REST tests of contacts and invoices: create through the API, build bodies,
add a member with a role and sign them in."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient

from smbfinance.db import utcnow
from tests.conftest import TenantFixture

CONTACTS = "/api/v1/contacts"
INVOICES = "/api/v1/invoices"
RATES_IMPORT = "/api/v1/exchange-rates/import"
PROBLEM_JSON = "application/problem+json"


def today() -> date:
    """Today in the tenants' default time zone, as the service computes it."""
    return utcnow().astimezone(ZoneInfo("Europe/Brussels")).date()


def days(offset: int) -> str:
    return (today() + timedelta(days=offset)).isoformat()


def create_contact(client: FlaskClient, tenant: TenantFixture, name: str = "Client NV",
                   **fields: Any) -> dict[str, Any]:
    response = client.post(CONTACTS, headers=tenant.headers, json={"name": name, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def line(unit_price: str = "100.00", quantity: str = "1", vat_rate: str = "21",
         **extra: Any) -> dict[str, Any]:
    return {"description": "Consulting", "quantity": quantity, "unit_price": unit_price,
            "vat_rate": vat_rate, **extra}


def invoice_body(contact_id: str, /, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"direction": "receivable", "contact_id": contact_id,
                            "lines": [line()]}
    body.update(overrides)
    return body


def create_invoice(client: FlaskClient, tenant: TenantFixture, contact_id: str, /,
                   **overrides: Any) -> dict[str, Any]:
    response = client.post(INVOICES, headers=tenant.headers,
                           json=invoice_body(contact_id, **overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def pay(client: FlaskClient, tenant: TenantFixture, invoice_id: str,
        amount: str) -> dict[str, Any]:
    response = client.post(f"{INVOICES}/{invoice_id}/payments", headers=tenant.headers,
                           json={"amount": amount, "paid_on": today().isoformat()})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def add_member(client: FlaskClient, owner: TenantFixture, role: str) -> TenantFixture:
    """The owner gives a new person `role`; that person signs in to the owner's company."""
    email = f"{role}.{uuid.uuid4().hex[:10]}@example.com"
    password = "correct horse battery"
    response = client.post("/api/v1/members", headers=owner.headers,
                           json={"email": email, "role": role, "password": password})
    assert response.status_code == 201, response.get_json()
    response = client.post("/api/v1/auth/login", json={
        "email": email, "password": password, "tenant_id": str(owner.tenant_id)})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["role"] == role
    return TenantFixture(
        tenant_id=owner.tenant_id, user_id=uuid.UUID(body["user"]["id"]), email=email,
        password=password, access_token=body["access_token"],
        refresh_token=body["refresh_token"])


def error_fields(response: Any) -> set[str]:
    """The fields a problem+json response names in `errors`."""
    assert response.mimetype == PROBLEM_JSON, response.get_data(as_text=True)
    return {error["field"] for error in response.get_json().get("errors", [])}


def ecb_xml(rates: dict[str, dict[str, str]]) -> bytes:
    """A small ECB euro reference rates file: {day: {currency: rate}}."""
    days_xml = "".join(
        f'<Cube time="{day}">'
        + "".join(f'<Cube currency="{c}" rate="{r}"/>' for c, r in per_day.items())
        + "</Cube>" for day, per_day in rates.items())
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
            'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">'
            "<gesmes:subject>Reference rates</gesmes:subject>"
            f"<Cube>{days_xml}</Cube></gesmes:Envelope>").encode()
