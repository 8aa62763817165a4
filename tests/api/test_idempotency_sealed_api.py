"""Idempotency-Key on the two POSTs whose response carries a secret shown once (a new API
key, a new webhook endpoint): a retry replays the same secret, nothing is created twice,
and the stored response is sealed with the key ring — the database never holds the secret
in clear. Without a usable key ring, or once the sealing key is gone, a retry is told (409)
that the response was not kept; a refusal is kept in clear and replayed as such; another
company's same key creates its own; expired keys are purged daily."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from smbfinance.integrations.secrets import generate_key
from smbfinance.tenancy import tenant_scope
from tests.conftest import TenantFixture

KEYS = "/api/v1/api-keys"
ENDPOINTS = "/api/v1/webhook-endpoints"
CREATES = {
    "api key": (KEYS, {"name": "Partner", "scopes": ["invoices:read"]}, "api_keys"),
    "webhook endpoint": (ENDPOINTS, {"url": "http://127.0.0.1:9/hooks",
                                     "event_types": ["invoice.paid"]}, "webhook_endpoints"),
}


def keyed(tenant: TenantFixture, key: str) -> dict[str, str]:
    return {**tenant.headers, "Idempotency-Key": key}


def stored(db_session: Any, tenant: TenantFixture, key: str) -> Any:
    with tenant_scope(db_session, tenant.tenant_id):
        row = db_session.execute(text(
            "SELECT response_body, response_sealed, response_status, "
            "convert_from(coalesce(response_body, ''), 'UTF8') AS body_text "
            "FROM idempotency_keys k WHERE key = :key"), {"key": key}).one()
        db_session.rollback()
    return row


def count(db_session: Any, tenant: TenantFixture, table: str) -> int:
    with tenant_scope(db_session, tenant.tenant_id):
        found = db_session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        db_session.rollback()
    return found


@pytest.mark.parametrize("what", sorted(CREATES))
def test_a_retry_replays_the_secret_that_the_database_holds_only_sealed(
        client: FlaskClient, db_session: Any, tenant_a: TenantFixture, what: str) -> None:
    path, body, table = CREATES[what]
    # given a create sent with an Idempotency-Key
    first = client.post(path, headers=keyed(tenant_a, "create-1"), json=body)
    assert first.status_code == 201, first.get_json()
    secret = first.get_json()["secret"]
    # when it is retried with the same key and body
    again = client.post(path, headers=keyed(tenant_a, "create-1"), json=body)
    # then the same response comes back, secret included, and one thing exists
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert count(db_session, tenant_a, table) == 1
    # and the stored response is sealed: no part of the secret is in the row
    row = stored(db_session, tenant_a, "create-1")
    assert row.response_sealed is True and row.body_text.startswith("v1.")
    assert secret not in row.body_text and secret[-20:] not in row.body_text


@pytest.mark.parametrize("what", sorted(CREATES))
def test_another_company_with_the_same_key_creates_its_own(
        client: FlaskClient, db_session: Any, tenant_a: TenantFixture,
        tenant_b: TenantFixture, what: str) -> None:
    path, body, table = CREATES[what]
    # given company A created with a key
    mine = client.post(path, headers=keyed(tenant_a, "shared"), json=body).get_json()
    # when company B sends the same key and body
    theirs = client.post(path, headers=keyed(tenant_b, "shared"), json=body)
    # then B gets a new resource and secret of its own, not A's replayed
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    assert theirs.get_json()["id"] != mine["id"]
    assert theirs.get_json()["secret"] != mine["secret"]
    assert count(db_session, tenant_b, table) == 1 and count(db_session, tenant_a, table) == 1


@pytest.mark.parametrize("ring", [None, "not a key ring"], ids=["none", "unreadable"])
def test_without_a_usable_key_ring_the_response_is_not_kept_and_a_retry_is_told_so(
        app: Flask, client: FlaskClient, db_session: Any, tenant_a: TenantFixture,
        monkeypatch: pytest.MonkeyPatch, ring: str | None) -> None:
    # given no key ring configured (production before INTEGRATION_ENCRYPTION_KEYS is set),
    # or one that does not parse
    monkeypatch.setitem(app.config, "INTEGRATION_ENCRYPTION_KEYS", ring)
    path, body, table = CREATES["api key"]
    # when an API key is created with an Idempotency-Key, then retried
    first = client.post(path, headers=keyed(tenant_a, "no-ring"), json=body)
    assert first.status_code == 201
    again = client.post(path, headers=keyed(tenant_a, "no-ring"), json=body)
    # then nothing of the response was stored, nothing is created twice, and the retry is a
    # 409 (never a 500) naming the header and what to do
    row = stored(db_session, tenant_a, "no-ring")
    assert row.response_sealed is True and row.response_body is None
    assert count(db_session, tenant_a, table) == 1
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    problem = again.get_json()
    assert [e["field"] for e in problem["errors"]] == ["Idempotency-Key"]
    assert "shown once" in problem["detail"] and "list" in problem["detail"]


def test_a_response_sealed_by_a_key_no_longer_in_the_ring_is_not_replayed(
        app: Flask, client: FlaskClient, db_session: Any, tenant_a: TenantFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    path, body, _ = CREATES["api key"]
    # given a response sealed by today's key ring
    assert client.post(path, headers=keyed(tenant_a, "rotated"), json=body).status_code == 201
    # when the ring is replaced by one without that key, and the request retried
    monkeypatch.setitem(app.config, "INTEGRATION_ENCRYPTION_KEYS", f"later:{generate_key()}")
    again = client.post(path, headers=keyed(tenant_a, "rotated"), json=body)
    # then the retry is told the response was not kept (never a 500, never a second key)
    assert again.status_code == 409
    assert [e["field"] for e in again.get_json()["errors"]] == ["Idempotency-Key"]


def test_a_sealed_body_moved_to_another_key_does_not_open(
        client: FlaskClient, db_session: Any, tenant_a: TenantFixture) -> None:
    path, body, _ = CREATES["api key"]
    # given two keyed creates, and the first's sealed body copied over the second's
    for key in ("first", "second"):
        assert client.post(path, headers=keyed(tenant_a, key), json=body).status_code == 201
    with tenant_scope(db_session, tenant_a.tenant_id):
        db_session.execute(text(
            "UPDATE idempotency_keys SET response_body = (SELECT response_body FROM "
            "idempotency_keys WHERE key = 'first') WHERE key = 'second'"))
        db_session.commit()
    # when the second is retried / then its seal (bound to its key) refuses the copy
    again = client.post(path, headers=keyed(tenant_a, "second"), json=body)
    assert again.status_code == 409


def test_an_erasure_drops_sealed_responses_it_cannot_search(
        client: FlaskClient, db_session: Any, tenant_a: TenantFixture,
        tenant_b: TenantFixture) -> None:
    path, body, table = CREATES["webhook endpoint"]
    # given sealed responses in two companies, and a contact of the first
    for tenant in (tenant_a, tenant_b):
        assert client.post(path, headers=keyed(tenant, "hook"), json=body).status_code == 201
    contact = client.post("/api/v1/contacts", headers=tenant_a.headers,
                          json={"name": "Jan Peeters"}).get_json()
    # when that contact is erased
    erased = client.post("/api/v1/gdpr/erasure", headers=tenant_a.headers,
                         json={"subject_type": "contact", "subject_id": contact["id"]})
    # then the company's sealed body (which may name them, unreadably) is gone, the key kept
    assert erased.status_code == 201, erased.get_json()
    assert erased.get_json()["counts"]["idempotency_keys"] == 1
    assert stored(db_session, tenant_a, "hook").response_body is None
    again = client.post(path, headers=keyed(tenant_a, "hook"), json=body)
    assert again.status_code == 409 and count(db_session, tenant_a, table) == 1
    # and the other company's stored response is untouched
    assert stored(db_session, tenant_b, "hook").response_body is not None


def test_a_refusal_is_kept_in_clear_and_replayed_as_the_refusal(
        app: Flask, client: FlaskClient, db_session: Any, tenant_a: TenantFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # given no key ring, so that creating a webhook endpoint is refused (409)
    monkeypatch.setitem(app.config, "INTEGRATION_ENCRYPTION_KEYS", None)
    path, body, table = CREATES["webhook endpoint"]
    first = client.post(path, headers=keyed(tenant_a, "refused"), json=body)
    assert first.status_code == 409
    # when the same request is retried
    again = client.post(path, headers=keyed(tenant_a, "refused"), json=body)
    # then it replays that refusal (not "the request succeeded"), stored in clear
    assert again.status_code == 409 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    row = stored(db_session, tenant_a, "refused")
    assert row.response_sealed is False and row.response_status == 409
    assert count(db_session, tenant_a, table) == 0


def test_expired_keys_of_every_company_are_purged_daily(
        client: FlaskClient, db_session: Any, tenant_a: TenantFixture,
        tenant_b: TenantFixture) -> None:
    from datetime import timedelta

    from smbfinance.db import utcnow
    from smbfinance.web.idempotency_tasks import purge

    path, body, _ = CREATES["api key"]
    # given a keyed create in each company, the first one's key expired
    for tenant in (tenant_a, tenant_b):
        assert client.post(path, headers=keyed(tenant, "old"), json=body).status_code == 201
    with tenant_scope(db_session, tenant_a.tenant_id):
        db_session.execute(text("UPDATE idempotency_keys SET expires_at = :at"),
                           {"at": utcnow() - timedelta(minutes=1)})
        db_session.commit()
    # when the daily purge runs
    removed = purge.apply(throw=True).get()
    # then only the expired key is gone, its stored response with it
    assert removed == 1
    with tenant_scope(db_session, tenant_a.tenant_id):
        assert db_session.execute(text("SELECT count(*) FROM idempotency_keys")).scalar() == 0
        db_session.rollback()
    assert stored(db_session, tenant_b, "old").response_sealed is True


def test_a_retried_secret_rotation_replays_the_same_new_secret(
        client: FlaskClient, db_session: Any, tenant_a: TenantFixture) -> None:
    path, body, _ = CREATES["webhook endpoint"]
    endpoint = client.post(path, headers=tenant_a.headers, json=body).get_json()
    rotate = f"{ENDPOINTS}/{endpoint['id']}/rotate-secret"
    # given a rotation sent with an Idempotency-Key
    first = client.post(rotate, headers=keyed(tenant_a, "rotate-1"),
                        json={"overlap_seconds": 3600})
    assert first.status_code == 200, first.get_json()
    secret = first.get_json()["secret"]
    # when it is retried with the same key and body
    again = client.post(rotate, headers=keyed(tenant_a, "rotate-1"),
                        json={"overlap_seconds": 3600})
    # then the same new secret comes back, and the endpoint was rotated once
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["secret"] == secret
    assert again.get_json()["version"] == first.get_json()["version"]
    shown = client.get(f"{ENDPOINTS}/{endpoint['id']}", headers=tenant_a.headers).get_json()
    assert shown["version"] == first.get_json()["version"]
    # and the kept response holds the secret only sealed
    row = stored(db_session, tenant_a, "rotate-1")
    assert row.response_sealed is True and secret not in row.body_text
