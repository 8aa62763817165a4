"""Sign-up, sign-in, refresh rotation and sign-out through the REST door."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import TenantFixture


def test_register_returns_tenant_owner_and_tokens(client: FlaskClient) -> None:
    # given a new company
    # when it registers
    response = client.post("/api/v1/auth/register", json={
        "company_name": "Gamma Coffee", "email": "owner@gamma.example",
        "password": "long enough pw"})
    # then it gets the tenant, the owner and a token pair
    assert response.status_code == 201
    body = response.get_json()
    assert body["tenant"]["legal_name"] == "Gamma Coffee"
    assert body["tenant"]["base_currency"] == "EUR"
    assert body["tenant"]["time_zone"] == "Europe/Brussels"
    assert body["user"]["email"] == "owner@gamma.example"
    assert body["role"] == "owner"
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert "password" not in body["user"]


def test_me_with_access_token(client: FlaskClient, tenant_a: TenantFixture) -> None:
    response = client.get("/api/v1/me", headers=tenant_a.headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["user"]["email"] == tenant_a.email
    assert body["tenant"]["id"] == str(tenant_a.tenant_id)
    assert [m["tenant_id"] for m in body["memberships"]] == [str(tenant_a.tenant_id)]
