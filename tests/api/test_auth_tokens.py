"""Tokens and the people behind them: sign-in choices, rotation, revocation, forgery,
membership changes, the company profile and login throttling."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import redis

from smbfinance.extensions import db
from tests.conftest import make_app, register_tenant
from tests.factories import PASSWORD, add_member, bearer, login, signed_in, unique_email


def _without_request_id(response):
    body = dict(response.get_json())
    body.pop("request_id", None)
    return body


def _second_company_for(client, person, other_owner):
    """`other_owner` adds `person` (an existing account) to their company."""
    response = client.post("/api/v1/members", headers=other_owner.headers,
                           json={"email": person.email, "role": "accountant"})
    assert response.status_code == 201, response.get_json()


# ---------------------------------------------------------------- sign-in

def test_register_then_login_with_a_single_company(client):
    # given a company registered through the API
    owner = register_tenant(client, "Delta Bikes")
    # when its owner logs in without naming a company
    response = login(client, owner.email, owner.password)
    # then they are signed in to their only company, and the token works
    session = signed_in(response, email=owner.email)
    assert session.tenant_id == owner.tenant_id
    assert response.get_json()["role"] == "owner"
    assert client.get("/api/v1/me", headers=session.headers).status_code == 200


def test_login_with_two_companies_and_no_tenant_id_lists_both(client, tenant_a, tenant_b):
    # given the owner of A who is also accountant at B
    _second_company_for(client, tenant_a, tenant_b)
    # when they log in without tenant_id
    response = login(client, tenant_a.email, tenant_a.password)
    # then 409 lists both companies, and naming one signs in there
    assert response.status_code == 409
    listed = {t["tenant_id"]: t["role"] for t in response.get_json()["tenants"]}
    assert listed == {str(tenant_a.tenant_id): "owner", str(tenant_b.tenant_id): "accountant"}
    chosen = login(client, tenant_a.email, tenant_a.password, tenant_id=str(tenant_b.tenant_id))
    assert signed_in(chosen, email=tenant_a.email).tenant_id == tenant_b.tenant_id
    assert chosen.get_json()["role"] == "accountant"


def test_login_to_a_company_one_does_not_belong_to_reads_like_a_wrong_password(
        client, tenant_a, tenant_b):
    # given A's owner, and B's company id
    # when A's owner logs in naming B, and separately with a wrong password
    foreign = login(client, tenant_a.email, tenant_a.password, tenant_id=str(tenant_b.tenant_id))
    wrong = login(client, tenant_a.email, "not the password at all")
    # then both are 401 with the same body
    assert foreign.status_code == wrong.status_code == 401
    assert _without_request_id(foreign) == _without_request_id(wrong)


def test_wrong_password_and_unknown_email_answer_identically(client, tenant_a):
    # given an existing account
    # when one attempt has a wrong password and another an unknown email
    wrong = login(client, tenant_a.email, "not the password at all")
    unknown = login(client, unique_email("nobody"), "not the password at all")
    # then nothing in the answer tells them apart
    assert wrong.status_code == unknown.status_code == 401
    assert _without_request_id(wrong) == _without_request_id(unknown)
    assert wrong.get_json()["detail"] == "the email or password is incorrect"


# ---------------------------------------------------------------- refresh and logout

def _refresh(client, refresh_token):
    return client.post("/api/v1/auth/refresh", headers=bearer(refresh_token))


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_family(client, tenant_a):
    # given a signed-in owner
    # when the refresh token is exchanged
    rotated = _refresh(client, tenant_a.refresh_token)
    assert rotated.status_code == 200, rotated.get_json()
    pair = rotated.get_json()
    # then the new pair works
    assert client.get("/api/v1/me", headers=bearer(pair["access_token"])).status_code == 200
    assert pair["refresh_token"] != tenant_a.refresh_token
    # when the old refresh token is presented again
    reused = _refresh(client, tenant_a.refresh_token)
    # then it is refused, and every token of that sign-in dies with it
    assert reused.status_code == 401
    assert client.get("/api/v1/me", headers=bearer(pair["access_token"])).status_code == 401
    assert _refresh(client, pair["refresh_token"]).status_code == 401


def test_logout_ends_the_access_and_the_refresh_token(client, tenant_a):
    # given a signed-in owner
    # when they log out
    response = client.post("/api/v1/auth/logout", headers=tenant_a.headers)
    # then neither token works any more
    assert response.status_code == 204
    assert client.get("/api/v1/me", headers=tenant_a.headers).status_code == 401
    assert _refresh(client, tenant_a.refresh_token).status_code == 401


def test_logout_survives_a_restart_and_an_empty_redis(infrastructure):
    # given an owner registered for real, signed in twice, who logs out of one sign-in
    first = make_app(infrastructure)
    owner = register_tenant(first.test_client(), "Restart Roofing")
    other = signed_in(login(first.test_client(), owner.email), email=owner.email)
    assert first.test_client().post("/api/v1/auth/logout",
                                    headers=owner.headers).status_code == 204
    # when the process restarts and Redis loses everything
    redis.Redis.from_url(infrastructure.redis_url).flushdb()
    second = make_app(infrastructure)
    client = second.test_client()
    # then the logged-out token is still refused, while the other sign-in still works
    assert client.get("/api/v1/me", headers=owner.headers).status_code == 401
    assert client.get("/api/v1/me", headers=other.headers).status_code == 200
    for app in (first, second):
        with app.app_context():
            db.engine.dispose()


# ---------------------------------------------------------------- forged tokens

def _claims_of(app, token):
    return jwt.decode(token, app.config["JWT_SECRET_KEY"], algorithms=["HS256"],
                      audience=app.config["JWT_AUDIENCE"], issuer=app.config["JWT_ISSUER"])


def _b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _forge(app, claims, case):
    secret = app.config["JWT_SECRET_KEY"]
    now = datetime.now(UTC)
    if case == "none":
        return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    if case == "other-secret":
        return jwt.encode(claims, "another-secret-of-sufficient-length-0123456789", "HS256")
    if case == "wrong-audience":
        return jwt.encode({**claims, "aud": "someone-else"}, secret, "HS256")
    if case == "wrong-issuer":
        return jwt.encode({**claims, "iss": "evil"}, secret, "HS256")
    if case == "expired":
        past = now - timedelta(hours=1)
        return jwt.encode({**claims, "iat": past, "nbf": past, "exp": past + timedelta(minutes=15)},
                          secret, "HS256")
    if case == "untouched":
        return jwt.encode(claims, secret, "HS256")
    raise AssertionError(case)


def test_a_re_signed_copy_of_a_real_token_is_accepted(app, client, tenant_a):
    # given the claims of a real access token, re-signed with the app's key (the control)
    token = _forge(app, _claims_of(app, tenant_a.access_token), "untouched")
    # when it is used
    # then it works: the forgeries below fail for their one change only
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize("case", ["none", "other-secret", "wrong-audience", "wrong-issuer",
                                  "expired"])
def test_forged_access_tokens_are_refused(app, client, tenant_a, case):
    # given a real token's claims, forged one way
    token = _forge(app, _claims_of(app, tenant_a.access_token), case)
    # when it is used on /me
    response = client.get("/api/v1/me", headers=bearer(token))
    # then 401 problem+json
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_a_refresh_token_is_not_an_access_token(client, tenant_a):
    # given a valid refresh token
    # when it is sent to /me
    response = client.get("/api/v1/me", headers=bearer(tenant_a.refresh_token))
    # then it is refused
    assert response.status_code == 401


def test_an_access_token_cannot_refresh(client, tenant_a):
    # given a valid access token
    # when it is sent to /auth/refresh
    response = _refresh(client, tenant_a.access_token)
    # then it is refused
    assert response.status_code == 401


def test_a_removed_members_tokens_stop_at_once(client, tenant_a):
    # given a member added by the owner, signed in
    member = add_member(client, tenant_a, "accountant")
    assert client.get("/api/v1/me", headers=member.headers).status_code == 200
    # when the owner removes them
    removed = client.delete(f"/api/v1/members/{member.user_id}", headers=tenant_a.headers)
    # then their access and refresh tokens are refused
    assert removed.status_code == 204
    assert client.get("/api/v1/me", headers=member.headers).status_code == 401
    assert _refresh(client, member.refresh_token).status_code == 401


# ---------------------------------------------------------------- switch tenant

def test_switch_tenant_gives_tokens_for_the_other_company(client, tenant_a, tenant_b):
    # given A's owner who is also a member of B
    _second_company_for(client, tenant_a, tenant_b)
    # when they switch to B
    response = client.post("/api/v1/auth/switch-tenant", headers=tenant_a.headers,
                           json={"tenant_id": str(tenant_b.tenant_id)})
    # then the new token works for B, with the role they hold there
    switched = signed_in(response, email=tenant_a.email)
    assert switched.tenant_id == tenant_b.tenant_id
    profile = client.get("/api/v1/tenant", headers=switched.headers).get_json()
    assert profile["id"] == str(tenant_b.tenant_id)
    assert client.get("/api/v1/me", headers=switched.headers).get_json()["role"] == "accountant"


def test_switch_to_a_company_one_does_not_belong_to_is_not_found(client, tenant_a, tenant_b):
    # given A's owner, not a member of B
    # when they try to switch to B
    response = client.post("/api/v1/auth/switch-tenant", headers=tenant_a.headers,
                           json={"tenant_id": str(tenant_b.tenant_id)})
    # then 404: B's existence is not confirmed
    assert response.status_code == 404


# ---------------------------------------------------------------- member roles

@pytest.mark.parametrize("role", ["viewer", "accountant"])
def test_viewers_and_accountants_cannot_list_or_add_members(client, tenant_a, role):
    # given a member with a read-mostly role
    member = add_member(client, tenant_a, role)
    # when they list or add members
    listed = client.get("/api/v1/members", headers=member.headers)
    added = client.post("/api/v1/members", headers=member.headers,
                        json={"email": unique_email(), "role": "viewer", "password": PASSWORD})
    # then both are forbidden
    assert listed.status_code == added.status_code == 403


def test_an_admin_manages_members_but_cannot_grant_ownership(client, tenant_a):
    # given an admin
    admin = add_member(client, tenant_a, "admin")
    # when they add an accountant, then try to make someone owner
    accountant = client.post("/api/v1/members", headers=admin.headers, json={
        "email": unique_email(), "role": "accountant", "password": PASSWORD})
    new_owner = client.post("/api/v1/members", headers=admin.headers, json={
        "email": unique_email(), "role": "owner", "password": PASSWORD})
    promoted = client.patch(f"/api/v1/members/{accountant.get_json()['user_id']}",
                            headers=admin.headers, json={"role": "owner"})
    # then the accountant is added, and ownership is refused both ways
    assert accountant.status_code == 201
    assert new_owner.status_code == promoted.status_code == 403


def test_the_last_owner_can_be_neither_demoted_nor_removed(client, tenant_a):
    # given a company with a single owner
    # when the owner demotes or removes themself
    demoted = client.patch(f"/api/v1/members/{tenant_a.user_id}", headers=tenant_a.headers,
                           json={"role": "admin"})
    removed = client.delete(f"/api/v1/members/{tenant_a.user_id}", headers=tenant_a.headers)
    # then both conflict, and they are still owner
    assert demoted.status_code == removed.status_code == 409
    assert client.get("/api/v1/me", headers=tenant_a.headers).get_json()["role"] == "owner"


def test_an_owner_can_step_down_once_there_is_another_owner(client, tenant_a):
    # given a second owner
    add_member(client, tenant_a, "owner")
    # when the first owner becomes admin
    response = client.patch(f"/api/v1/members/{tenant_a.user_id}", headers=tenant_a.headers,
                            json={"role": "admin"})
    # then it is allowed
    assert response.status_code == 200
    assert response.get_json()["role"] == "admin"


# ---------------------------------------------------------------- company profile

def test_get_and_patch_the_company_profile(client, tenant_a):
    # given an owner
    # when they change the profile
    response = client.patch("/api/v1/tenant", headers=tenant_a.headers, json={
        "legal_name": "Alpha Bakery NV", "vat_number": "BE 0403.170.701",
        "enterprise_number": "0403170701", "base_currency": "usd",
        "time_zone": "Europe/Paris", "settings": {"forecast_horizon_days": 60}})
    # then the values are normalised and read back
    assert response.status_code == 200, response.get_json()
    profile = client.get("/api/v1/tenant", headers=tenant_a.headers).get_json()
    assert profile["legal_name"] == "Alpha Bakery NV"
    assert profile["vat_number"] == "BE0403170701"
    assert profile["enterprise_number"] == "0403.170.701"
    assert profile["base_currency"] == "USD"
    assert profile["time_zone"] == "Europe/Paris"
    assert profile["settings"]["forecast_horizon_days"] == 60
    assert profile["settings"]["urgency_thresholds"]["high_days"] == 7


@pytest.mark.parametrize(("change", "field"), [
    ({"vat_number": "BE0403170702"}, "vat_number"),
    ({"enterprise_number": "0123456789"}, "enterprise_number"),
    ({"base_currency": "XYZ"}, "base_currency"),
    ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ({"settings": {"forecast_horizon_days": 1}}, "settings.forecast_horizon_days"),
    ({"settings": {"urgency_thresholds": {"critical_days": 10}}}, "settings.urgency_thresholds"),
    ({"settings": {"low_cash_threshold": "1.005"}}, "settings.low_cash_threshold"),
    ({"settings": {"colour": "red"}}, "settings.colour"),
])
def test_an_invalid_profile_value_is_422_naming_the_field(client, tenant_a, change, field):
    # given an owner
    # when they send one invalid value
    response = client.patch("/api/v1/tenant", headers=tenant_a.headers, json=change)
    # then 422 names that field
    assert response.status_code == 422, response.get_json()
    assert field in [e["field"] for e in response.get_json()["errors"]]


def test_an_accountant_cannot_change_the_company_profile(client, tenant_a):
    # given an accountant
    accountant = add_member(client, tenant_a, "accountant")
    # when they read and then change the profile
    read = client.get("/api/v1/tenant", headers=accountant.headers)
    changed = client.patch("/api/v1/tenant", headers=accountant.headers,
                           json={"legal_name": "Taken Over BV"})
    # then reading is allowed, changing is forbidden
    assert read.status_code == 200
    assert changed.status_code == 403


# ---------------------------------------------------------------- throttling

def test_login_is_rate_limited_per_account(infrastructure):
    # given an app allowing two login attempts per account per minute
    app = make_app(infrastructure, LOGIN_RATE_LIMIT_PER_ACCOUNT="2 per minute")
    client = app.test_client()
    target = unique_email("throttled")
    # when a third attempt for the same account arrives
    responses = [login(client, target, "wrong password 123") for _ in range(3)]
    another = login(client, unique_email("bystander"), "wrong password 123")
    # then it is 429 problem+json with Retry-After, while other accounts are unaffected
    assert [r.status_code for r in responses] == [401, 401, 429]
    limited = responses[2]
    assert limited.mimetype == "application/problem+json"
    assert limited.get_json()["status"] == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert another.status_code == 401
    with app.app_context():
        db.engine.dispose()


def test_refresh_token_ids_are_unique_per_rotation(client, tenant_a):
    # given a sign-in rotated twice
    first = _refresh(client, tenant_a.refresh_token).get_json()
    second = _refresh(client, first["refresh_token"]).get_json()
    # when the token ids are compared
    jtis = [jwt.decode(t, options={"verify_signature": False})["jti"]
            for t in (tenant_a.refresh_token, first["refresh_token"], second["refresh_token"])]
    # then each rotation issued a new one
    assert len(set(jtis)) == 3
    assert all(uuid.UUID(j) for j in jtis)
