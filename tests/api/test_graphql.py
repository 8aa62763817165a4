"""The GraphQL door: queries with and without a token, the tenantUpdate mutation and its
payload errors, the query limits, error masking and tenant isolation."""

from __future__ import annotations

import pytest

from smbfinance.auth import service as auth_service
from smbfinance.extensions import db
from tests.conftest import make_app
from tests.factories import add_member

ME = "{ me { role user { email } tenant { id legalName } memberships { tenantId role } } }"
TENANT = "{ tenant { id legalName baseCurrency timeZone settings } }"
UPDATE = """
mutation Update($input: TenantUpdateInput!) {
  tenantUpdate(input: $input) {
    tenant { id legalName vatNumber settings }
    errors { field code message }
  }
}
"""


def gql(client, query, tenant=None, **variables):
    headers = tenant.headers if tenant else {}
    response = client.post("/graphql", headers=headers,
                           json={"query": query, "variables": variables or None})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_me_and_tenant_with_a_token(client, tenant_a):
    # given a signed-in owner
    # when they ask who they are and for their company
    me = gql(client, ME, tenant_a)
    tenant = gql(client, TENANT, tenant_a)
    # then both answer for their own tenant
    assert "errors" not in me and "errors" not in tenant
    assert me["data"]["me"]["role"] == "owner"
    assert me["data"]["me"]["user"]["email"] == tenant_a.email
    assert me["data"]["me"]["memberships"] == [
        {"tenantId": str(tenant_a.tenant_id), "role": "owner"}]
    assert tenant["data"]["tenant"]["id"] == str(tenant_a.tenant_id)
    assert tenant["data"]["tenant"]["settings"]["forecast_horizon_days"] == 90


@pytest.mark.parametrize("query", [ME, TENANT])
def test_without_a_token_the_error_is_unauthenticated(client, query):
    # given no token
    # when a field needing a user is queried
    body = gql(client, query)
    # then the error carries the UNAUTHENTICATED code, and no data
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_revoked_token_is_unauthenticated_too(client, tenant_a):
    # given an owner who logged out
    client.post("/api/v1/auth/logout", headers=tenant_a.headers)
    # when the old token queries GraphQL
    body = gql(client, ME, tenant_a)
    # then it is refused the same way
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_tenant_update_changes_the_profile(client, tenant_a):
    # given an owner
    # when they rename the company and set its VAT number
    body = gql(client, UPDATE, tenant_a,
               input={"legalName": "Alpha Bakery BV", "vatNumber": "BE0403170701"})
    # then the payload carries the tenant and no errors
    payload = body["data"]["tenantUpdate"]
    assert payload["errors"] == []
    assert payload["tenant"]["legalName"] == "Alpha Bakery BV"
    assert payload["tenant"]["vatNumber"] == "BE0403170701"


@pytest.mark.parametrize(("change", "field"), [
    ({"vatNumber": "BE0403170702"}, "vatNumber"),
    ({"settings": {"forecast_horizon_days": 1}}, "settings.forecastHorizonDays"),
    ({"legalName": ""}, "legalName"),
])
def test_tenant_update_returns_payload_errors_naming_the_field(client, tenant_a, change, field):
    # given an owner
    # when they send an invalid value
    body = gql(client, UPDATE, tenant_a, input=change)
    # then the payload has no tenant and an error for that field
    assert "errors" not in body
    payload = body["data"]["tenantUpdate"]
    assert payload["tenant"] is None
    # named as the GraphQL input names them (camelCase), like every other mutation
    assert field in [e["field"] for e in payload["errors"]]


def test_tenant_update_by_an_accountant_is_a_payload_error(client, tenant_a):
    # given an accountant
    accountant = add_member(client, tenant_a, "accountant")
    # when they try to rename the company
    body = gql(client, UPDATE, accountant, input={"legalName": "Taken Over"})
    # then the payload refuses with a forbidden code
    payload = body["data"]["tenantUpdate"]
    assert payload["tenant"] is None
    assert [e["code"] for e in payload["errors"]] == ["forbidden"]


# ---------------------------------------------------------------- limits

def test_too_many_aliases_are_refused_with_a_clear_message(client):
    # given a query with more aliases than allowed (15)
    query = "{ " + " ".join(f"a{i}: __typename" for i in range(16)) + " }"
    # when it is sent
    body = gql(client, query)
    # then it is refused, and the message says why
    message = body["errors"][0]["message"]
    assert "aliases" in message
    assert message != "Unexpected error."


def test_too_many_tokens_are_refused_with_a_clear_message(client):
    # given a document longer than the token limit (2000)
    query = "{ " + "__typename " * 2100 + "}"
    # when it is sent
    body = gql(client, query)
    # then it is refused, and the message says why
    message = body["errors"][0]["message"]
    assert "tokens" in message
    assert message != "Unexpected error."


def test_too_deep_a_query_is_refused_with_a_clear_message(infrastructure):
    # given an app whose depth limit is 1
    app = make_app(infrastructure, GRAPHQL_MAX_DEPTH=1)
    # when a query two levels deep is sent
    body = gql(app.test_client(), "{ me { tenant { id } } }")
    # then it is refused, and the message says why
    message = body["errors"][0]["message"]
    assert "depth" in message
    assert message != "Unexpected error."
    with app.app_context():
        db.engine.dispose()


# ---------------------------------------------------------------- masking

def test_an_unexpected_exception_is_masked(client, tenant_a, monkeypatch):
    # given a service function that fails unexpectedly
    def explode(**_kwargs):
        raise RuntimeError("connection string postgres://secret@db")

    monkeypatch.setattr(auth_service, "get_tenant", explode)
    # when the resolver that calls it runs
    response = client.post("/graphql", headers=tenant_a.headers, json={"query": TENANT})
    # then the caller sees only "Unexpected error."
    body = response.get_json()
    assert body["errors"][0]["message"] == "Unexpected error."
    assert "secret" not in response.get_data(as_text=True)


# ---------------------------------------------------------------- isolation

def test_tenant_b_never_sees_tenant_a(client, tenant_a, tenant_b):
    # given tenant A with a distinctive name
    gql(client, UPDATE, tenant_a, input={"legalName": "Alpha Secret Recipes"})
    # when tenant B queries everything it can
    me = gql(client, ME, tenant_b)
    tenant = gql(client, TENANT, tenant_b)
    # then nothing of A appears
    for body in (me, tenant):
        text = str(body)
        assert str(tenant_a.tenant_id) not in text
        assert "Alpha" not in text and tenant_a.email not in text
    assert tenant["data"]["tenant"]["id"] == str(tenant_b.tenant_id)


def test_a_nul_character_in_variables_is_a_typed_error(client, tenant_a) -> None:
    # given a mutation whose input holds a NUL character
    response = client.post("/graphql", headers=tenant_a.headers, json={
        "query": "mutation($n: String) { tenantUpdate(input: {legalName: $n}) "
                 "{ errors { field } } }",
        "variables": {"n": "Bad\u0000Name"}})
    # then the error names where it was, and nothing unexpected happened
    body = response.get_json()
    assert body["errors"][0]["extensions"] == {"code": "INVALID", "field": "variables.n"}
