"""REST: /api/v1/tenant/deletion — the owner's two steps (password and company name, then a
one-time token), what a closed company refuses, cancel and reopen, roles, partner keys
and cross-tenant attempts on every route."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from smbfinance.auth.models import Role
from smbfinance.auth.permissions import Actor
from smbfinance.auth.scopes import SCOPES, required_scope
from smbfinance.db import transaction, utcnow
from smbfinance.extensions import db
from smbfinance.tenancy import tenant_scope
from smbfinance.tenant_deletion import service
from smbfinance.webhooks.models import WebhookEndpoint
from tests.conftest import TenantFixture, make_app, register_tenant
from tests.factories import add_member, bearer, login
from tests.invoicing import create_contact, create_invoice

DELETION = "/api/v1/tenant/deletion"
CONFIRM = "/api/v1/tenant/deletion/confirm"
REOPEN = "/api/v1/tenant/reopen"
PROBLEM_JSON = "application/problem+json"


def ask(client: Any, tenant: TenantFixture, name: str = "Alpha Bakery",
        password: str | None = None, headers: dict[str, str] | None = None) -> Any:
    return client.post(DELETION, headers=headers or tenant.headers,
                       json={"password": password or tenant.password, "confirm_name": name})


def close(client: Any, tenant: TenantFixture, name: str = "Alpha Bakery") -> dict[str, Any]:
    token = ask(client, tenant, name).get_json()["confirmation_token"]
    response = client.post(CONFIRM, headers=tenant.headers, json={"token": token})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def api_key(client: Any, tenant: TenantFixture) -> str:
    response = client.post("/api/v1/api-keys", headers=tenant.headers,
                           json={"name": "Partner", "scopes": list(SCOPES)})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["secret"]


def endpoint_enabled(session: Any, tenant: TenantFixture, endpoint_id: str) -> bool:
    """Read from the database: a closed company's API answers nobody."""
    with tenant_scope(session, tenant.tenant_id), transaction(session):
        return session.execute(select(WebhookEndpoint.enabled).where(
            WebhookEndpoint.id == uuid.UUID(endpoint_id))).scalar_one()


def test_two_steps_close_the_company_and_plan_the_purge(client, tenant_a) -> None:
    # given a company with a current invoice
    create_invoice(client, tenant_a, create_contact(client, tenant_a)["id"], open=True)
    # when the owner asks, with their password and the company's name
    asked = ask(client, tenant_a)
    # then 202 with a one-time token, what will happen, and the retention's end
    assert asked.status_code == 202, asked.get_json()
    body = asked.get_json()
    assert body["object"] == "tenant_deletion" and body["status"] == "pending"
    assert body["confirmation_token"].startswith("tdc_") and len(body["consequences"]) >= 3
    year = utcnow().year
    assert body["retention_ends_on"] == f"{year + 11}-01-01"
    assert body["purge_after"].startswith(f"{year + 11}-01-01")
    # and reading it shows the request, never the token
    read = client.get(DELETION, headers=tenant_a.headers).get_json()
    assert read["status"] == "pending" and "confirmation_token" not in read
    # when the owner confirms with the token
    confirmed = client.post(CONFIRM, headers=tenant_a.headers,
                            json={"token": body["confirmation_token"]})
    # then the company is closed at once, its purge waiting for the retention's end
    assert confirmed.status_code == 200, confirmed.get_json()
    done = confirmed.get_json()
    assert done["status"] == "closed" and done["confirmed_by"] == str(tenant_a.user_id)
    assert done["purge_after"].startswith(f"{year + 11}-01-01")


def test_a_company_without_financial_records_may_be_purged_at_once(client, tenant_a) -> None:
    # given a new company with nothing in it
    # when the owner asks
    body = ask(client, tenant_a).get_json()
    # then there is no retention to wait for
    assert body["retention_ends_on"] is None
    assert body["purge_after"] <= (utcnow() + timedelta(seconds=5)).isoformat()


def test_a_closed_company_refuses_every_credential(client, db_session, tenant_a,
                                                   tenant_b) -> None:
    # given a member, a partner key and a webhook endpoint of company A, which is closed
    accountant = add_member(client, tenant_a, "accountant")
    key = api_key(client, tenant_a)
    endpoint = client.post("/api/v1/webhook-endpoints", headers=tenant_a.headers,
                           json={"url": "http://127.0.0.1:9/hooks",
                                 "event_types": ["invoice.paid"]}).get_json()
    close(client, tenant_a)
    # when anyone tries to use it
    answers = {
        "owner token": client.get("/api/v1/me", headers=tenant_a.headers),
        "member token": client.get("/api/v1/invoices", headers=accountant.headers),
        "API key": client.get("/api/v1/invoices", headers=bearer(key)),
        "refresh": client.post("/api/v1/auth/refresh", headers=bearer(tenant_a.refresh_token)),
        "owner sign-in": login(client, tenant_a.email, tenant_a.password),
        "member sign-in": login(client, accountant.email,
                                tenant_id=str(tenant_a.tenant_id)),
        "graphql": client.post("/graphql", headers=tenant_a.headers,
                               json={"query": "{ me { email } }"}),
    }
    # then every one is refused
    graphql = answers.pop("graphql").get_json()
    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 401)
    assert graphql["errors"] and not (graphql.get("data") or {}).get("me")
    # and its webhook endpoint is paused, while company B goes on
    assert endpoint_enabled(db_session, tenant_a, endpoint["id"]) is False
    assert client.get("/api/v1/me", headers=tenant_b.headers).status_code == 200
    reopened = client.post(REOPEN, json={"tenant_id": str(tenant_a.tenant_id),
                                         "email": tenant_a.email,
                                         "password": tenant_a.password})
    assert reopened.status_code == 200, reopened.get_json()
    again = login(client, tenant_a.email, tenant_a.password)
    assert again.status_code == 200
    owner = bearer(again.get_json()["access_token"])
    shown = client.get(f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=owner).get_json()
    assert shown["enabled"] is True
    assert endpoint_enabled(db_session, tenant_a, endpoint["id"]) is True
    # and the partner key works again once the owner reopened
    assert client.get("/api/v1/invoices", headers=bearer(key)).status_code == 200


@pytest.mark.parametrize(("field", "body"), [
    ("password", {"password": "not my password", "confirm_name": "Alpha Bakery"}),
    ("confirm_name", {"password": "correct horse battery", "confirm_name": "alpha bakery"}),
])
def test_asking_needs_the_password_and_the_exact_name(client, tenant_a, field, body) -> None:
    # when the owner gets the password or the company's name wrong
    response = client.post(DELETION, headers=tenant_a.headers, json=body)
    # then 403 naming the field, and nothing is pending
    assert response.status_code == 403 and response.content_type == PROBLEM_JSON
    assert [e["field"] for e in response.get_json()["errors"]] == [field]
    assert client.get(DELETION, headers=tenant_a.headers).status_code == 404


def test_a_wrong_token_is_refused_and_leaves_the_company_open(client, tenant_a) -> None:
    ask(client, tenant_a)
    response = client.post(CONFIRM, headers=tenant_a.headers, json={"token": "tdc_guess"})
    assert response.status_code == 403 and response.get_json()["field"] == "token"
    assert client.get(DELETION, headers=tenant_a.headers).get_json()["status"] == "pending"
    assert client.get("/api/v1/me", headers=tenant_a.headers).status_code == 200


def test_asking_again_replaces_the_token(client, tenant_a) -> None:
    first = ask(client, tenant_a).get_json()["confirmation_token"]
    second = ask(client, tenant_a).get_json()["confirmation_token"]
    assert client.post(CONFIRM, headers=tenant_a.headers,
                       json={"token": first}).status_code == 403
    assert client.post(CONFIRM, headers=tenant_a.headers,
                       json={"token": second}).status_code == 200


def test_an_expired_token_is_refused(client, db_session, tenant_a) -> None:
    # given a token asked for 16 minutes ago (the service's clock)
    token = ask(client, tenant_a).get_json()["confirmation_token"]
    owner = Actor(user_id=tenant_a.user_id, tenant_id=tenant_a.tenant_id, role=Role.OWNER)
    # when it is used now
    with tenant_scope(db_session, tenant_a.tenant_id), pytest.raises(Exception) as refused:
        service.confirm_deletion(session=db_session, actor=owner, token=token,
                                 now=utcnow() + timedelta(minutes=16))
    # then it is refused as expired
    assert "expired" in str(refused.value)
    assert client.get("/api/v1/me", headers=tenant_a.headers).status_code == 200


def test_a_used_or_cancelled_token_cannot_be_used_again(client, tenant_a) -> None:
    # given a request cancelled by the owner
    token = ask(client, tenant_a).get_json()["confirmation_token"]
    cancelled = client.delete(DELETION, headers=tenant_a.headers)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    # when its token is sent
    response = client.post(CONFIRM, headers=tenant_a.headers, json={"token": token})
    # then there is nothing to confirm, and the company stays open
    assert response.status_code == 409
    assert client.get(DELETION, headers=tenant_a.headers).get_json()["status"] == "cancelled"
    assert client.delete(DELETION, headers=tenant_a.headers).status_code == 404
    # and a confirmed token is gone with its company's access
    token = ask(client, tenant_a).get_json()["confirmation_token"]
    assert client.post(CONFIRM, headers=tenant_a.headers, json={"token": token}).status_code == 200
    assert client.post(CONFIRM, headers=tenant_a.headers, json={"token": token}).status_code == 401


@pytest.mark.parametrize("role", ["admin", "accountant", "viewer"])
def test_only_an_owner_may_ask_confirm_read_or_cancel(client, tenant_a, role) -> None:
    member = add_member(client, tenant_a, role)
    token = ask(client, tenant_a).get_json()["confirmation_token"]
    answers = [
        ask(client, member, password=member.password, headers=member.headers),
        client.post(CONFIRM, headers=member.headers, json={"token": token}),
        client.get(DELETION, headers=member.headers),
        client.delete(DELETION, headers=member.headers),
    ]
    assert [r.status_code for r in answers] == [403] * 4
    assert client.get(DELETION, headers=tenant_a.headers).get_json()["status"] == "pending"


def test_a_second_owner_cannot_confirm_the_first_owners_request(client, tenant_a) -> None:
    other = add_member(client, tenant_a, "owner")
    token = ask(client, tenant_a).get_json()["confirmation_token"]
    response = client.post(CONFIRM, headers=other.headers, json={"token": token})
    assert response.status_code == 403
    assert client.get("/api/v1/me", headers=tenant_a.headers).status_code == 200


def test_partner_keys_never_reach_these_routes(client, tenant_a) -> None:
    # given a key with every scope
    key = bearer(api_key(client, tenant_a))
    answers = [client.post(DELETION, headers=key, json={"password": "x", "confirm_name": "x"}),
               client.get(DELETION, headers=key), client.delete(DELETION, headers=key),
               client.post(CONFIRM, headers=key, json={"token": "tdc_x"})]
    assert [r.status_code for r in answers] == [403] * 4
    assert required_scope("tenant_deletion", "GET") is None


def test_cross_tenant_attempts_touch_nothing(client, tenant_a, tenant_b) -> None:
    # given company A's pending request and its token
    token = ask(client, tenant_a).get_json()["confirmation_token"]
    # when company B's owner uses it, reads, cancels, or reopens A
    answers = [
        client.post(CONFIRM, headers=tenant_b.headers, json={"token": token}),
        client.get(DELETION, headers=tenant_b.headers),
        client.delete(DELETION, headers=tenant_b.headers),
        client.post(REOPEN, json={"tenant_id": str(tenant_a.tenant_id), "email": tenant_b.email,
                                  "password": tenant_b.password}),
        ask(client, tenant_b, name="Alpha Bakery"),
    ]
    # then B sees nothing of A, and A's request is untouched
    assert [r.status_code for r in answers] == [409, 404, 404, 401, 403]
    assert client.get(DELETION, headers=tenant_a.headers).get_json()["status"] == "pending"
    assert client.get("/api/v1/me", headers=tenant_b.headers).status_code == 200


def test_reopen_needs_an_owner_of_a_closed_company(client, tenant_a) -> None:
    admin = add_member(client, tenant_a, "admin")
    body = {"tenant_id": str(tenant_a.tenant_id), "email": tenant_a.email,
            "password": tenant_a.password}
    assert client.post(REOPEN, json=body).status_code == 409  # not closed
    close(client, tenant_a)
    assert client.post(REOPEN, json={**body, "password": "wrong password!"}).status_code == 401
    assert client.post(REOPEN, json={**body, "email": admin.email,
                                     "password": admin.password}).status_code == 403
    reopened = client.post(REOPEN, json=body)
    assert reopened.status_code == 200 and reopened.get_json()["status"] == "cancelled"
    # the old sign-ins stay revoked: members sign in again
    assert client.get("/api/v1/me", headers=tenant_a.headers).status_code == 401
    assert login(client, admin.email, tenant_id=str(tenant_a.tenant_id)).status_code == 200


def test_closing_is_audited_and_the_audit_chain_verifies(client, tenant_a) -> None:
    close(client, tenant_a)
    client.post(REOPEN, json={"tenant_id": str(tenant_a.tenant_id), "email": tenant_a.email,
                              "password": tenant_a.password})
    owner = bearer(login(client, tenant_a.email, tenant_a.password).get_json()["access_token"])
    actions = [e["action"] for e in
               client.get("/api/v1/audit-log", headers=owner).get_json()["data"]]
    assert {"tenant_deletion.requested", "tenant_deletion.confirmed",
            "tenant_deletion.reopened"} <= set(actions)
    assert client.get("/api/v1/audit-log/verify", headers=owner).get_json()["ok"] is True


def test_password_attempts_are_rate_limited_per_sign_in(infrastructure) -> None:
    # given an app allowing two attempts per sign-in per minute
    app = make_app(infrastructure, LOGIN_RATE_LIMIT_PER_ACCOUNT="2 per minute")
    client = app.test_client()
    tenant = register_tenant(client, "Throttled Shop")
    # when a third wrong password arrives with the same token
    answers = [ask(client, tenant, "Throttled Shop", password="guess number 1")
               for _ in range(3)]
    # then it is 429 with Retry-After, and the company stays open
    assert [r.status_code for r in answers] == [403, 403, 429]
    assert int(answers[2].headers["Retry-After"]) > 0
    assert client.get("/api/v1/me", headers=tenant.headers).status_code == 200
    with app.app_context():
        db.engine.dispose()


def test_a_refreshed_access_token_shares_its_sign_ins_bucket(infrastructure) -> None:
    # given an app allowing two attempts per person per minute, and a second owner
    app = make_app(infrastructure, LOGIN_RATE_LIMIT_PER_ACCOUNT="2 per minute")
    client = app.test_client()
    tenant = register_tenant(client, "Refreshing Shop")
    other_owner = add_member(client, tenant, "owner")
    # when two wrong passwords arrive, each with a new access token of the same sign-in
    answers, refresh, tokens = [], tenant.refresh_token, {tenant.access_token}
    for attempt in range(3):
        renewed = client.post("/api/v1/auth/refresh", headers=bearer(refresh))
        assert renewed.status_code == 200, renewed.get_json()
        refresh = renewed.get_json().get("refresh_token", refresh)
        tokens.add(renewed.get_json()["access_token"])
        headers = bearer(renewed.get_json()["access_token"])
        answers.append(ask(client, tenant, "Refreshing Shop",
                           password=f"guess number {attempt}", headers=headers))
    # then the third is refused: refreshing the token does not open a fresh bucket
    assert len(tokens) == 4
    assert [r.status_code for r in answers] == [403, 403, 429]
    # and another owner of the same company still has their own attempts
    assert ask(client, other_owner, "Refreshing Shop", password="guess number 4",
               headers=other_owner.headers).status_code == 403
    with app.app_context():
        db.engine.dispose()
