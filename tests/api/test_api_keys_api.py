"""Partner API keys: created by an owner or admin and shown once, stored as a hash, scoped
per resource on every route, revocable at once, optionally expiring; another company's
key and keys for another company's data get nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from smbfinance.db import transaction, utcnow
from smbfinance.tenancy import tenant_scope
from tests.conftest import TenantFixture
from tests.invoicing import CONTACTS, INVOICES, add_member, create_contact, invoice_body

KEYS = "/api/v1/api-keys"


def create_key(client: FlaskClient, tenant: TenantFixture, *scopes: str,
               **extra: Any) -> dict[str, Any]:
    response = client.post(KEYS, headers=tenant.headers,
                           json={"name": "Partner", "scopes": list(scopes), **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def bearer(key: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {key['secret']}"}


def test_a_key_is_shown_once_and_stored_as_a_hash(
        client: FlaskClient, db_session: Any, tenant_a: TenantFixture) -> None:
    created = create_key(client, tenant_a, "invoices:read")
    assert created["secret"].startswith(f"sk_{tenant_a.tenant_id.hex}_")
    assert created["secret"].startswith(created["prefix"]) and created["status"] == "active"
    # when it is read again, the secret is not there
    again = client.get(f"{KEYS}/{created['id']}", headers=tenant_a.headers).get_json()
    assert "secret" not in again and again["prefix"] == created["prefix"]
    listed = client.get(KEYS, headers=tenant_a.headers).get_json()["data"]
    assert [k["id"] for k in listed] == [created["id"]]
    # and the database holds no copy of it
    with tenant_scope(db_session, tenant_a.tenant_id):
        dump = db_session.execute(text("SELECT row_to_json(k)::text FROM api_keys k")).scalar()
    assert created["secret"] not in dump and created["secret"][40:] not in dump


def test_scopes_are_enforced_on_every_route(client: FlaskClient,
                                            tenant_a: TenantFixture) -> None:
    contact = create_contact(client, tenant_a)
    reader = create_key(client, tenant_a, "invoices:read")
    writer = create_key(client, tenant_a, "invoices:write", "contacts:read")
    # a read scope reads, and nothing else
    assert client.get(INVOICES, headers=bearer(reader)).status_code == 200
    refused = client.post(INVOICES, headers=bearer(reader), json=invoice_body(contact["id"]))
    assert refused.status_code == 403
    assert "invoices:write" in refused.get_json()["detail"]
    assert client.get(CONTACTS, headers=bearer(reader)).status_code == 403
    assert client.get("/api/v1/transactions", headers=bearer(reader)).status_code == 403
    # a write scope writes and reads
    created = client.post(INVOICES, headers={**bearer(writer), "Idempotency-Key": "push-1"},
                          json=invoice_body(contact["id"]))
    assert created.status_code == 201, created.get_json()
    replay = client.post(INVOICES, headers={**bearer(writer), "Idempotency-Key": "push-1"},
                         json=invoice_body(contact["id"]))
    assert replay.status_code == 201 and replay.get_json()["id"] == created.get_json()["id"]
    assert client.get(INVOICES, headers=bearer(writer)).status_code == 200
    # routes for people only are closed to every key
    for path in ("/api/v1/me", "/api/v1/members", KEYS, "/api/v1/tenant"):
        assert client.get(path, headers=bearer(writer)).status_code == 403, path


def test_the_audit_log_names_the_key(client: FlaskClient, tenant_a: TenantFixture) -> None:
    contact = create_contact(client, tenant_a)
    key = create_key(client, tenant_a, "invoices:write")
    invoice = client.post(INVOICES, headers=bearer(key),
                          json=invoice_body(contact["id"])).get_json()
    entries = client.get(f"/api/v1/audit-log?entity_id={invoice['id']}",
                         headers=tenant_a.headers).get_json()["data"]
    assert entries[0]["actor"] == {"type": "api_key", "id": key["id"]}


def test_revoked_and_expired_keys_stop_at_once(client: FlaskClient, db_session: Any,
                                              tenant_a: TenantFixture) -> None:
    key = create_key(client, tenant_a, "invoices:read")
    assert client.get(INVOICES, headers=bearer(key)).status_code == 200
    revoked = client.delete(f"{KEYS}/{key['id']}", headers=tenant_a.headers)
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"
    assert client.get(INVOICES, headers=bearer(key)).status_code == 401
    assert client.delete(f"{KEYS}/{key['id']}", headers=tenant_a.headers).status_code == 409
    # an expiring key works until then
    expiring = create_key(client, tenant_a, "invoices:read",
                          expires_at=(utcnow() + timedelta(hours=1)).isoformat())
    assert client.get(INVOICES, headers=bearer(expiring)).status_code == 200
    with tenant_scope(db_session, tenant_a.tenant_id), transaction(db_session):
        db_session.execute(text("UPDATE api_keys SET expires_at = :past WHERE id = :id"),
                           {"id": expiring["id"], "past": utcnow() - timedelta(seconds=1)})
    assert client.get(INVOICES, headers=bearer(expiring)).status_code == 401
    past = client.post(KEYS, headers=tenant_a.headers, json={
        "name": "x", "scopes": ["invoices:read"],
        "expires_at": (utcnow() - timedelta(hours=1)).isoformat()})
    assert past.status_code == 422


def test_an_expiry_with_an_offset_postgresql_cannot_hold_is_kept_as_the_same_instant(
        client: FlaskClient, tenant_a: TenantFixture) -> None:
    # given an expiry written with a +18:48 offset (valid ISO 8601; PostgreSQL stops at 15:59)
    # when a key is created with it
    key = create_key(client, tenant_a, "invoices:read", expires_at="2510-12-11T16:56:07+18:48")
    # then it is stored as that instant, in UTC
    assert datetime.fromisoformat(key["expires_at"]) == datetime(2510, 12, 10, 22, 8, 7,
                                                                  tzinfo=UTC)


@pytest.mark.parametrize("token", [
    "sk_nothex_abc", "sk_" + "0" * 32 + "_" + "A" * 43, "sk_",
])
def test_malformed_or_unknown_keys_are_refused(client: FlaskClient, token: str) -> None:
    response = client.get(INVOICES, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_bad_scopes_and_roles(client: FlaskClient, tenant_a: TenantFixture) -> None:
    unknown = client.post(KEYS, headers=tenant_a.headers,
                          json={"name": "x", "scopes": ["invoices:delete"]})
    assert unknown.status_code == 422
    assert unknown.get_json()["errors"][0]["field"].startswith("scopes")
    accountant = add_member(client, tenant_a, "accountant")
    assert client.get(KEYS, headers=accountant.headers).status_code == 403
    assert client.post(KEYS, headers=accountant.headers,
                       json={"name": "x", "scopes": ["invoices:read"]}).status_code == 403


def test_another_company_gets_nothing(client: FlaskClient, tenant_a: TenantFixture,
                                      tenant_b: TenantFixture) -> None:
    contact_a = create_contact(client, tenant_a)
    a_key = create_key(client, tenant_a, "invoices:write", "contacts:write")
    b_key = create_key(client, tenant_b, "invoices:write", "contacts:write")
    # B's key sees none of A's data, and cannot write against A's contact
    assert client.get(f"{CONTACTS}/{contact_a['id']}", headers=bearer(b_key)).status_code == 404
    pushed = client.post(INVOICES, headers=bearer(b_key), json=invoice_body(contact_a["id"]))
    assert pushed.status_code == 422
    assert client.get(INVOICES, headers=bearer(b_key)).get_json()["data"] == []
    # B's people cannot read, rename or revoke A's key
    for method in ("get", "patch", "delete"):
        response = getattr(client, method)(f"{KEYS}/{a_key['id']}", headers=tenant_b.headers,
                                           **({"json": {"name": "x"}} if method == "patch"
                                              else {}))
        assert response.status_code == 404, method
    # a key whose tenant part was swapped for B's is unknown there
    forged = a_key["secret"].replace(tenant_a.tenant_id.hex, tenant_b.tenant_id.hex)
    assert client.get(INVOICES, headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_graphql_is_for_people_only(client: FlaskClient, tenant_a: TenantFixture) -> None:
    key = create_key(client, tenant_a, "invoices:write")
    response = client.post("/graphql", headers=bearer(key),
                           json={"query": "{ invoices { edges { node { id } } } }"})
    body = response.get_json()
    assert response.status_code == 403 or body.get("data") is None, body
    assert "API keys cannot use this route" in str(body)
