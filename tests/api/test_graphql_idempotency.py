"""Idempotency-Key on GraphQL mutations (ADR 0045): a retried mutation replays the first
response and creates nothing more; another request under the same key, a key still in
use, or a malformed key get typed errors naming the header; keys belong to one company;
queries and request-level failures are not kept; secrets shown once are kept sealed."""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import text

from smbfinance.graphql.idempotency import SECRET_MUTATIONS
from smbfinance.tenancy import tenant_scope
from tests.conftest import TenantFixture
from tests.factories import running_idempotency_key

CREATE = """mutation Create($input: ContactInput!) {
  contactCreate(input: $input) { contact { id name } errors { field code message } } }"""
COUNT = "query { contacts(first: 50) { edges { node { id } } } }"
ENDPOINT = """mutation($input: WebhookEndpointInput!) { webhookEndpointCreate(input: $input) {
  webhookEndpoint { id } secret errors { field code } } }"""


def post(client: FlaskClient, tenant: TenantFixture | None, query: str, key: str | None,
         **variables: Any) -> Any:
    headers = dict(tenant.headers) if tenant else {}
    if key is not None:
        headers["Idempotency-Key"] = key
    response = client.post("/graphql", headers=headers,
                           json={"query": query, "variables": variables or None})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def contact_count(client: FlaskClient, tenant: TenantFixture) -> int:
    body = post(client, tenant, COUNT, None).get_json()
    return len(body["data"]["contacts"]["edges"])


def kept(db_session: Any, tenant: TenantFixture, key: str) -> Any:
    with tenant_scope(db_session, tenant.tenant_id):
        row = db_session.execute(text(
            "SELECT state, response_sealed, convert_from(coalesce(response_body, ''), 'UTF8')"
            " AS body FROM idempotency_keys WHERE key = :key"), {"key": key}).one_or_none()
        db_session.rollback()
    return row


def error_of(response: Any) -> dict[str, Any]:
    body = response.get_json()
    assert body["data"] is None, body
    (error,) = body["errors"]
    return error


def test_a_retried_mutation_replays_the_first_response_and_creates_once(
        client: FlaskClient, tenant_a: TenantFixture) -> None:
    # given a contact created with an Idempotency-Key
    first = post(client, tenant_a, CREATE, "mobile-1", input={"name": "Acme NV"})
    created = first.get_json()["data"]["contactCreate"]["contact"]
    assert "Idempotent-Replayed" not in first.headers
    # when the app retries the same mutation with the same key
    again = post(client, tenant_a, CREATE, "mobile-1", input={"name": "Acme NV"})
    # then it gets the same response, marked as replayed, and one contact exists
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["data"]["contactCreate"]["contact"] == created
    assert contact_count(client, tenant_a) == 1


def test_the_same_key_for_another_request_is_a_typed_error(
        client: FlaskClient, tenant_a: TenantFixture) -> None:
    # given a key used for one contact
    post(client, tenant_a, CREATE, "mobile-2", input={"name": "Acme NV"})
    # when it is sent with another one
    other = post(client, tenant_a, CREATE, "mobile-2", input={"name": "Beta BV"})
    # then a typed error names the header, and nothing more is created
    error = error_of(other)
    assert error["extensions"] == {"code": "IDEMPOTENCY_KEY_REUSED",
                                   "field": "Idempotency-Key"}
    assert "new key" in error["message"]
    assert contact_count(client, tenant_a) == 1


def test_another_company_with_the_same_key_runs_its_own(
        client: FlaskClient, tenant_a: TenantFixture, tenant_b: TenantFixture) -> None:
    # given company A used a key
    mine = post(client, tenant_a, CREATE, "shared", input={"name": "Acme NV"}).get_json()
    # when company B sends the same key and mutation
    theirs = post(client, tenant_b, CREATE, "shared", input={"name": "Acme NV"})
    # then B's mutation runs for B, and A's response is not replayed to it
    assert "Idempotent-Replayed" not in theirs.headers
    contact = theirs.get_json()["data"]["contactCreate"]["contact"]
    assert contact["id"] != mine["data"]["contactCreate"]["contact"]["id"]
    assert contact_count(client, tenant_a) == contact_count(client, tenant_b) == 1


def test_a_retry_while_the_first_still_runs_is_told_to_wait(
        client: FlaskClient, db_session: Any, tenant_a: TenantFixture) -> None:
    # given a first request with this key and body that is still running
    body = json.dumps({"query": CREATE, "variables": {"input": {"name": "Acme NV"}}}).encode()
    running_idempotency_key(db_session, tenant_a, key="slow", path="/graphql", body=body)
    # when the app retries
    retry = client.post("/graphql", data=body, content_type="application/json",
                        headers={**tenant_a.headers, "Idempotency-Key": "slow"})
    # then a typed error says to retry shortly, and nothing is created
    assert error_of(retry)["extensions"]["code"] == "IDEMPOTENCY_KEY_IN_USE"
    assert retry.headers["Retry-After"] == "1"
    assert contact_count(client, tenant_a) == 0


def test_a_malformed_key_is_refused_before_anything_runs(
        client: FlaskClient, tenant_a: TenantFixture) -> None:
    refused = post(client, tenant_a, CREATE, "x" * 256, input={"name": "Acme NV"})
    assert error_of(refused)["extensions"] == {"code": "INVALID", "field": "Idempotency-Key"}
    assert contact_count(client, tenant_a) == 0


def test_queries_and_failed_requests_are_not_kept(
        client: FlaskClient, db_session: Any, tenant_a: TenantFixture) -> None:
    # a query with a key runs as without one
    assert "Idempotent-Replayed" not in post(client, tenant_a, COUNT, "read-1").headers
    assert kept(db_session, tenant_a, "read-1") is None
    # a mutation refused as a whole (an unknown field) keeps nothing: a fixed retry may run
    broken = post(client, tenant_a, CREATE.replace("name }", "name nope }"), "fix-me",
                  input={"name": "Acme NV"})
    assert broken.get_json()["errors"]
    assert kept(db_session, tenant_a, "fix-me") is None
    # while payload errors are the operation's answer, kept and replayed
    post(client, tenant_a, CREATE, "payload-error", input={"name": ""})
    assert kept(db_session, tenant_a, "payload-error").state == "done"
    assert post(client, tenant_a, CREATE, "payload-error",
                input={"name": ""}).headers["Idempotent-Replayed"] == "true"


def test_without_a_signed_in_company_the_key_changes_nothing(
        client: FlaskClient) -> None:
    response = post(client, None, CREATE, "anon-1", input={"name": "Acme NV"})
    assert response.get_json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "Idempotent-Replayed" not in response.headers


def test_a_secret_shown_once_is_kept_sealed_and_replayed(
        client: FlaskClient, db_session: Any, tenant_a: TenantFixture) -> None:
    # given an endpoint created through GraphQL with a key
    variables = {"input": {"url": "http://127.0.0.1:9/hooks", "eventTypes": ["invoice.paid"]}}
    first = post(client, tenant_a, ENDPOINT, "hook-1", **variables).get_json()
    secret = first["data"]["webhookEndpointCreate"]["secret"]
    assert secret
    # then the kept response does not hold the secret in clear
    row = kept(db_session, tenant_a, "hook-1")
    assert row.response_sealed is True and secret not in row.body
    # and a retry replays the same secret
    again = post(client, tenant_a, ENDPOINT, "hook-1", **variables)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["data"]["webhookEndpointCreate"]["secret"] == secret


def test_every_mutation_that_shows_a_secret_is_kept_sealed(app: Any) -> None:
    # A payload with a `secret` field must be listed, else its secret would be kept in clear.
    schema = app.extensions["graphql_schema"]._schema
    showing = {name for name, field in schema.mutation_type.fields.items()
               if "secret" in getattr(field.type, "of_type", field.type).fields}
    assert showing == SECRET_MUTATIONS


def test_the_schema_documents_the_header(app: Any) -> None:
    description = app.extensions["graphql_schema"]._schema.mutation_type.description
    assert "Idempotency-Key" in description and "IDEMPOTENCY_KEY_REUSED" in description
