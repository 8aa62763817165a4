"""Remembered authentications (ADR 0019): the sign-in check is answered from memory only
while the tenant's Redis epoch is unchanged; every change that can refuse a token takes
effect on the very next request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis
from sqlalchemy import event, text

from smbfinance.extensions import db
from smbfinance.tenancy import tenant_scope
from smbfinance.web import auth_cache
from tests.factories import add_member, bearer


@pytest.fixture()
def sign_in_checks(app):
    """How many times PostgreSQL was asked the sign-in check."""
    seen = []

    def count(_conn, _cursor, statement, *_args):
        if "JOIN refresh_token_families" in statement:
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def _redis(infrastructure):
    return redis.Redis.from_url(infrastructure.redis_url)


def test_the_check_is_remembered_while_nothing_changes(client, tenant_a, sign_in_checks):
    # given a first request, checked in PostgreSQL
    assert client.get("/api/v1/invoices", headers=tenant_a.headers).status_code == 200
    assert len(sign_in_checks) == 1
    # when more requests come with the same token
    for _ in range(3):
        assert client.get("/api/v1/invoices", headers=tenant_a.headers).status_code == 200
    # then PostgreSQL is not asked again
    assert len(sign_in_checks) == 1


def test_logout_is_refused_on_the_next_request(client, tenant_a, infrastructure):
    assert client.get("/api/v1/invoices", headers=tenant_a.headers).status_code == 200
    assert _redis(infrastructure).exists(auth_cache.epoch_key(tenant_a.tenant_id))
    assert client.post("/api/v1/auth/logout", headers=tenant_a.headers).status_code == 204
    # the epoch was dropped with the commit, so the remembered answer is not used
    assert not _redis(infrastructure).exists(auth_cache.epoch_key(tenant_a.tenant_id))
    assert client.get("/api/v1/invoices", headers=tenant_a.headers).status_code == 401


def test_a_reused_refresh_token_ends_the_remembered_access_token(client, tenant_a):
    assert client.get("/api/v1/invoices", headers=tenant_a.headers).status_code == 200
    assert client.post("/api/v1/auth/refresh",
                       headers=bearer(tenant_a.refresh_token)).status_code == 200
    # the old refresh token again: the whole sign-in is revoked
    assert client.post("/api/v1/auth/refresh",
                       headers=bearer(tenant_a.refresh_token)).status_code == 401
    assert client.get("/api/v1/invoices", headers=tenant_a.headers).status_code == 401


def test_a_removed_member_is_refused_on_the_next_request(client, tenant_a):
    member = add_member(client, tenant_a, "accountant")
    for _ in range(2):
        assert client.get("/api/v1/invoices", headers=member.headers).status_code == 200
    assert client.delete(f"/api/v1/members/{member.user_id}",
                         headers=tenant_a.headers).status_code == 204
    assert client.get("/api/v1/invoices", headers=member.headers).status_code == 401


def test_a_role_change_is_seen_on_the_next_request(client, tenant_a):
    member = add_member(client, tenant_a, "accountant")
    assert client.get("/api/v1/me", headers=member.headers).get_json()["role"] == "accountant"
    assert client.patch(f"/api/v1/members/{member.user_id}", headers=tenant_a.headers,
                        json={"role": "viewer"}).status_code == 200
    assert client.get("/api/v1/me", headers=member.headers).get_json()["role"] == "viewer"


def test_a_profile_change_drops_the_epoch(client, tenant_a, infrastructure):
    assert client.get("/api/v1/invoices", headers=tenant_a.headers).status_code == 200
    assert _redis(infrastructure).exists(auth_cache.epoch_key(tenant_a.tenant_id))
    response = client.patch("/api/v1/tenant", headers=tenant_a.headers,
                            json={"legal_name": "Alpha Bakery Two"})
    assert response.status_code == 200, response.get_json()
    assert not _redis(infrastructure).exists(auth_cache.epoch_key(tenant_a.tenant_id))


def test_without_the_epoch_nothing_is_trusted(client, tenant_a, db_session, infrastructure):
    # given a remembered check
    assert client.get("/api/v1/invoices", headers=tenant_a.headers).status_code == 200
    # when the sign-in is revoked behind the ORM's back and Redis loses its keys
    with tenant_scope(db_session, tenant_a.tenant_id):
        db_session.execute(text("UPDATE refresh_token_families SET revoked_at = now()"))
        db_session.commit()
    _redis(infrastructure).delete(auth_cache.epoch_key(tenant_a.tenant_id))
    # then PostgreSQL decides again
    assert client.get("/api/v1/invoices", headers=tenant_a.headers).status_code == 401


def test_a_sign_in_about_to_expire_is_not_remembered(app, client, tenant_a, db_session,
                                                     sign_in_checks):
    # given a sign-in that expires in less than the time an answer is remembered
    soon = datetime.now(UTC) + auth_cache.TTL / 2
    with tenant_scope(db_session, tenant_a.tenant_id):
        db_session.execute(text("UPDATE refresh_token_families SET expires_at = :soon"),
                           {"soon": soon})
        db_session.commit()
    # when it is used twice
    assert client.get("/api/v1/invoices", headers=tenant_a.headers).status_code == 200
    assert client.get("/api/v1/invoices", headers=tenant_a.headers).status_code == 200
    # then both requests were checked in PostgreSQL (never accepted past its expiry)
    assert len(sign_in_checks) >= 2
    remembered = app.extensions.get(auth_cache._CACHE_KEY, {})
    assert not any(key[0] == tenant_a.tenant_id for key in remembered)


def test_a_remembered_answer_expires(client, tenant_a, sign_in_checks, monkeypatch):
    assert client.get("/api/v1/invoices", headers=tenant_a.headers).status_code == 200
    later = datetime.now(UTC).timestamp() + auth_cache.TTL.total_seconds() + 1
    monkeypatch.setattr(auth_cache.time, "time", lambda: later)
    assert client.get("/api/v1/invoices", headers=tenant_a.headers).status_code == 200
    assert len(sign_in_checks) == 2
    assert timedelta(seconds=1) <= auth_cache.TTL <= timedelta(minutes=1)
