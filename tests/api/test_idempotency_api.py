"""Idempotency-Key on POST (contacts, invoices, invoice actions): a retry replays the first
response, a different request under the same key is refused, a retry while the first is
still running is told to wait, and keys belong to one tenant."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import TenantFixture
from tests.factories import running_idempotency_key
from tests.invoicing import (
    CONTACTS,
    INVOICES,
    PROBLEM_JSON,
    create_contact,
    create_invoice,
    error_fields,
    invoice_body,
    today,
)


@pytest.fixture()
def contact_id(client: FlaskClient, tenant_a: TenantFixture) -> str:
    return create_contact(client, tenant_a, "Client NV")["id"]


def keyed(tenant: TenantFixture, key: str) -> dict[str, str]:
    return {**tenant.headers, "Idempotency-Key": key}


def invoice_count(client: FlaskClient, tenant: TenantFixture) -> int:
    return len(client.get(INVOICES, headers=tenant.headers).get_json()["data"])


def test_same_key_same_body_replays_the_first_response(client: FlaskClient,
                                                       tenant_a: TenantFixture,
                                                       contact_id: str) -> None:
    body = invoice_body(contact_id)
    # given a first request with a key
    first = client.post(INVOICES, headers=keyed(tenant_a, "inv-1"), json=body)
    assert first.status_code == 201, first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    # when the same request is sent again with the same key
    again = client.post(INVOICES, headers=keyed(tenant_a, "inv-1"), json=body)
    # then the first response comes back, marked as replayed, and no second invoice exists
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.mimetype == first.mimetype
    assert invoice_count(client, tenant_a) == 1


def test_a_new_key_is_a_new_request(client: FlaskClient, tenant_a: TenantFixture,
                                    contact_id: str) -> None:
    body = invoice_body(contact_id)
    client.post(INVOICES, headers=keyed(tenant_a, "inv-1"), json=body)
    second = client.post(INVOICES, headers=keyed(tenant_a, "inv-2"), json=body)
    assert second.status_code == 201 and "Idempotent-Replayed" not in second.headers
    assert invoice_count(client, tenant_a) == 2


def test_same_key_different_body_is_refused(client: FlaskClient, tenant_a: TenantFixture,
                                            contact_id: str) -> None:
    # given a key already used for one invoice
    client.post(INVOICES, headers=keyed(tenant_a, "inv-1"), json=invoice_body(contact_id))
    # when it is reused for a different invoice
    other = client.post(INVOICES, headers=keyed(tenant_a, "inv-1"),
                        json=invoice_body(contact_id, notes="another one"))
    # then 422 naming the header, and nothing is created
    assert other.status_code == 422
    assert error_fields(other) == {"Idempotency-Key"}
    assert invoice_count(client, tenant_a) == 1
    # and the same key on another route is a different request too
    contact = client.post(CONTACTS, headers=keyed(tenant_a, "inv-1"), json={"name": "X"})
    assert contact.status_code == 422 and error_fields(contact) == {"Idempotency-Key"}


def test_a_retry_while_the_first_is_running_is_a_conflict(client: FlaskClient,
                                                          tenant_a: TenantFixture,
                                                          db_session: Any,
                                                          contact_id: str) -> None:
    # given a first request with this key and body that is still running
    body = json.dumps(invoice_body(contact_id)).encode()
    running_idempotency_key(db_session, tenant_a, key="slow-1", path=INVOICES, body=body)
    # when the client retries
    retry = client.post(INVOICES, headers=keyed(tenant_a, "slow-1"), data=body,
                        content_type="application/json")
    # then 409, with a hint to retry shortly, and nothing is created
    assert retry.status_code == 409, retry.get_json()
    assert retry.mimetype == PROBLEM_JSON
    assert retry.get_json()["type"].endswith("/conflict")
    assert retry.headers["Retry-After"] == "1"
    assert invoice_count(client, tenant_a) == 0


def test_keys_belong_to_one_tenant(client: FlaskClient, tenant_a: TenantFixture,
                                   tenant_b: TenantFixture, contact_id: str) -> None:
    # given tenant A used a key
    first = client.post(INVOICES, headers=keyed(tenant_a, "shared-key"),
                        json=invoice_body(contact_id))
    assert first.status_code == 201
    # when tenant B uses the same key for its own invoice
    b_contact = create_contact(client, tenant_b, "B's client")["id"]
    response = client.post(INVOICES, headers=keyed(tenant_b, "shared-key"),
                           json=invoice_body(b_contact))
    # then it is a new request for B, not A's response nor a refusal
    assert response.status_code == 201, response.get_json()
    assert "Idempotent-Replayed" not in response.headers
    assert response.get_json()["id"] != first.get_json()["id"]
    assert response.get_json()["contact"]["id"] == b_contact
    # and even B sending A's exact body under A's key gets its own answer (here: 422,
    # because A's contact does not exist for B), never A's stored response
    replay_attempt = client.post(INVOICES, headers=keyed(tenant_b, "a-only"),
                                 json=invoice_body(contact_id))
    client.post(INVOICES, headers=keyed(tenant_a, "a-only"), json=invoice_body(contact_id))
    assert replay_attempt.status_code == 422
    assert invoice_count(client, tenant_a) == 2 and invoice_count(client, tenant_b) == 1


def test_a_payment_retried_with_its_key_is_recorded_once(client: FlaskClient,
                                                         tenant_a: TenantFixture,
                                                         contact_id: str) -> None:
    invoice = create_invoice(client, tenant_a, contact_id, open=True)
    path = f"{INVOICES}/{invoice['id']}/payments"
    body = {"amount": "21.00", "paid_on": today().isoformat()}
    first = client.post(path, headers=keyed(tenant_a, "pay-1"), json=body)
    again = client.post(path, headers=keyed(tenant_a, "pay-1"), json=body)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    current = client.get(f"{INVOICES}/{invoice['id']}", headers=tenant_a.headers).get_json()
    assert current["outstanding"]["amount"] == "100.00"
    assert current["amount_paid"]["amount"] == "21.00"


def test_a_refusal_is_replayed_too(client: FlaskClient, tenant_a: TenantFixture,
                                   contact_id: str) -> None:
    # given an action refused by the rules (opening an invoice twice) under a key
    invoice = create_invoice(client, tenant_a, contact_id, open=True)
    path = f"{INVOICES}/{invoice['id']}/open"
    first = client.post(path, headers=keyed(tenant_a, "open-1"))
    assert first.status_code == 409
    # when retried / then the same refusal comes back
    again = client.post(path, headers=keyed(tenant_a, "open-1"))
    assert again.status_code == 409 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["detail"] == first.get_json()["detail"]


def test_contacts_take_idempotency_keys(client: FlaskClient, tenant_a: TenantFixture) -> None:
    first = client.post(CONTACTS, headers=keyed(tenant_a, "c-1"), json={"name": "Acme"})
    again = client.post(CONTACTS, headers=keyed(tenant_a, "c-1"), json={"name": "Acme"})
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert len(client.get(CONTACTS, headers=tenant_a.headers).get_json()["data"]) == 1


def test_a_malformed_key_is_refused(client: FlaskClient, tenant_a: TenantFixture) -> None:
    for key in ("x" * 256, "tab\there"):
        response = client.post(CONTACTS, headers=keyed(tenant_a, key), json={"name": "Acme"})
        assert response.status_code == 422, key
        assert error_fields(response) == {"Idempotency-Key"}
    assert client.get(CONTACTS, headers=tenant_a.headers).get_json()["data"] == []
