"""GraphQL: webhook endpoints and deliveries — secret shown once, update with
expectedVersion, delete, rotation, test and retry, SSRF refusals as payload errors, owner
and admin only, and another company reaches none of it."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from flask.testing import FlaskClient

from smbfinance.graphql.relay import encode_id
from smbfinance.webhooks import signing
from tests.conftest import TenantFixture
from tests.factories import add_member

LOOPBACK = "http://127.0.0.1:9/hooks"
ENDPOINT = ("id url description eventTypes filter enabled disabledReason "
            "previousSecretExpiresAt version")
DELIVERY = "id endpointId eventType status webhookId attemptCount attempts { at statusCode }"
CREATE = f"""mutation($input: WebhookEndpointInput!) {{ webhookEndpointCreate(input: $input) {{
  webhookEndpoint {{ {ENDPOINT} }} secret errors {{ field code message }} }} }}"""
UPDATE = f"""mutation($id: ID!, $input: WebhookEndpointPatchInput!, $v: Int) {{
  webhookEndpointUpdate(id: $id, input: $input, expectedVersion: $v) {{
    webhookEndpoint {{ {ENDPOINT} }} errors {{ field code }} }} }}"""
DELETE = """mutation($id: ID!) { webhookEndpointDelete(id: $id) { deletedId errors { code } } }"""
ROTATE = f"""mutation($id: ID!, $overlap: Int) {{
  webhookEndpointRotateSecret(id: $id, overlapSeconds: $overlap) {{
    webhookEndpoint {{ {ENDPOINT} }} secret errors {{ field code }} }} }}"""
TEST = f"""mutation($id: ID!) {{ webhookEndpointSendTest(id: $id) {{
  delivery {{ {DELIVERY} }} errors {{ code }} }} }}"""
RETRY = f"""mutation($endpointId: ID!, $id: ID!) {{
  webhookDeliveryRetry(endpointId: $endpointId, id: $id) {{
    delivery {{ {DELIVERY} }} errors {{ code }} }} }}"""
LIST = f"""{{ webhookEndpoints {{ edges {{ node {{ {ENDPOINT} }} }}
  pageInfo {{ hasNextPage }} }} }}"""
ONE = f"query($id: ID!) {{ webhookEndpoint(id: $id) {{ {ENDPOINT} }} }}"
DELIVERIES = f"""query($endpointId: ID!, $status: String) {{
  webhookDeliveries(endpointId: $endpointId, status: $status) {{
    edges {{ node {{ {DELIVERY} }} }} pageInfo {{ hasNextPage }} }} }}"""


def gql(client: FlaskClient, tenant: TenantFixture, query: str, **variables: object) -> Any:
    response = client.post("/graphql", headers=tenant.headers,
                           json={"query": query, "variables": variables})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def data(client: FlaskClient, tenant: TenantFixture, query: str, **variables: object) -> Any:
    body = gql(client, tenant, query, **variables)
    assert "errors" not in body, body
    return body["data"]


def create(client: FlaskClient, tenant: TenantFixture, **overrides: Any) -> dict[str, Any]:
    return data(client, tenant, CREATE, input={  # type: ignore[no-any-return]
        "url": LOOPBACK, "eventTypes": ["invoice.paid"], **overrides})["webhookEndpointCreate"]


def nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


def test_create_shows_the_secret_once(client: FlaskClient, tenant_a: TenantFixture) -> None:
    # when an endpoint is created
    created = create(client, tenant_a, description="ERP sync",
                     filter={"direction": "receivable"})
    # then the payload carries a whsec_ secret, this once
    assert created["errors"] == []
    assert created["secret"].startswith("whsec_")
    assert len(signing.decode_secret(created["secret"])) == 32
    endpoint = created["webhookEndpoint"]
    assert endpoint["enabled"] is True and endpoint["eventTypes"] == ["invoice.paid"]
    assert endpoint["filter"] == {"direction": "receivable"}
    # and reading or listing it again never can (the type has no secret field)
    read = data(client, tenant_a, ONE, id=endpoint["id"])["webhookEndpoint"]
    assert read == endpoint
    assert nodes(data(client, tenant_a, LIST)["webhookEndpoints"]) == [endpoint]
    node = data(client, tenant_a, "query($id: ID!) { node(id: $id) { ... on WebhookEndpoint "
                "{ url } } }", id=endpoint["id"])
    assert node["node"] == {"url": LOOPBACK}
    asked = gql(client, tenant_a, "query($id: ID!) { webhookEndpoint(id: $id) { secret } }",
                id=endpoint["id"])
    assert "Cannot query field 'secret'" in asked["errors"][0]["message"]


@pytest.mark.parametrize("url", ["https://169.254.169.254/latest/meta-data/",
                                 "https://10.0.0.1/", "ftp://example.com/"])
def test_unsafe_urls_are_payload_errors(client: FlaskClient, tenant_a: TenantFixture,
                                        url: str) -> None:
    payload = create(client, tenant_a, url=url)
    assert payload["webhookEndpoint"] is None and payload["secret"] is None
    assert [e["field"] for e in payload["errors"]] == ["url"]


def test_unknown_event_types_and_bad_filters_name_their_fields(
        client: FlaskClient, tenant_a: TenantFixture) -> None:
    payload = create(client, tenant_a, eventTypes=["invoice.paid", "invoice.exploded"],
                     filter={"Bad Path!": 1, "amount": 1.5})
    assert {e["field"] for e in payload["errors"]} == {"eventTypes.1", "filter",
                                                      "filter.amount"}
    assert create(client, tenant_a, eventTypes=[])["errors"][0]["field"] == "eventTypes"


def test_update_with_expected_version_and_re_enable(client: FlaskClient,
                                                    tenant_a: TenantFixture) -> None:
    endpoint = create(client, tenant_a)["webhookEndpoint"]
    # when disabled with the current version
    first = data(client, tenant_a, UPDATE, id=endpoint["id"], v=endpoint["version"],
                 input={"enabled": False, "eventTypes": ["*"]})["webhookEndpointUpdate"]
    changed = first["webhookEndpoint"]
    assert first["errors"] == [] and changed["enabled"] is False
    assert (changed["disabledReason"], changed["eventTypes"]) == ("disabled by a user", ["*"])
    # then a stale version is refused
    stale = data(client, tenant_a, UPDATE, id=endpoint["id"], v=endpoint["version"],
                 input={"enabled": True})["webhookEndpointUpdate"]
    assert stale["webhookEndpoint"] is None
    assert stale["errors"][0]["code"] == "precondition_failed"
    # and enabling again clears the reason
    again = data(client, tenant_a, UPDATE, id=endpoint["id"],
                 input={"enabled": True})["webhookEndpointUpdate"]["webhookEndpoint"]
    assert again["enabled"] is True and again["disabledReason"] is None


def test_delete_hides_the_endpoint(client: FlaskClient, tenant_a: TenantFixture) -> None:
    endpoint = create(client, tenant_a)["webhookEndpoint"]
    deleted = data(client, tenant_a, DELETE, id=endpoint["id"])["webhookEndpointDelete"]
    assert deleted == {"deletedId": endpoint["id"], "errors": []}
    assert data(client, tenant_a, ONE, id=endpoint["id"])["webhookEndpoint"] is None
    assert nodes(data(client, tenant_a, LIST)["webhookEndpoints"]) == []


def test_rotation_returns_a_new_secret_and_the_overlap(client: FlaskClient,
                                                       tenant_a: TenantFixture) -> None:
    created = create(client, tenant_a)
    rotated = data(client, tenant_a, ROTATE, id=created["webhookEndpoint"]["id"],
                   overlap=3600)["webhookEndpointRotateSecret"]
    assert rotated["errors"] == [] and rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != created["secret"]
    assert rotated["webhookEndpoint"]["previousSecretExpiresAt"] is not None
    refused = data(client, tenant_a, ROTATE, id=created["webhookEndpoint"]["id"],
                   overlap=10**9)["webhookEndpointRotateSecret"]
    assert refused["secret"] is None
    assert [e["field"] for e in refused["errors"]] == ["overlapSeconds"]


def test_test_event_and_retry_are_queued(client: FlaskClient, tenant_a: TenantFixture) -> None:
    endpoint = create(client, tenant_a)["webhookEndpoint"]
    sent = data(client, tenant_a, TEST, id=endpoint["id"])["webhookEndpointSendTest"]
    delivery = sent["delivery"]
    assert sent["errors"] == []
    assert (delivery["eventType"], delivery["status"]) == ("webhook.test", "pending")
    assert delivery["endpointId"] == endpoint["id"]
    listed = nodes(data(client, tenant_a, DELIVERIES, endpointId=endpoint["id"])[
        "webhookDeliveries"])
    assert [d["id"] for d in listed] == [delivery["id"]]
    retried = data(client, tenant_a, RETRY, endpointId=endpoint["id"], id=delivery["id"])[
        "webhookDeliveryRetry"]
    assert retried["errors"] == [] and retried["delivery"]["status"] == "pending"
    assert nodes(data(client, tenant_a, DELIVERIES, endpointId=endpoint["id"],
                      status="delivered")["webhookDeliveries"]) == []
    bad = gql(client, tenant_a, DELIVERIES, endpointId=endpoint["id"], status="lost")
    assert bad["errors"][0]["extensions"]["fields"][0]["field"] == "status"


def test_retry_on_a_disabled_endpoint_is_a_conflict(client: FlaskClient,
                                                    tenant_a: TenantFixture) -> None:
    endpoint = create(client, tenant_a)["webhookEndpoint"]
    delivery = data(client, tenant_a, TEST, id=endpoint["id"])["webhookEndpointSendTest"][
        "delivery"]
    data(client, tenant_a, UPDATE, id=endpoint["id"], input={"enabled": False})
    retried = data(client, tenant_a, RETRY, endpointId=endpoint["id"], id=delivery["id"])[
        "webhookDeliveryRetry"]
    assert retried["delivery"] is None and retried["errors"][0]["code"] == "conflict"


@pytest.mark.parametrize("role", ["accountant", "viewer"])
def test_only_owners_and_admins_manage_endpoints(client: FlaskClient, tenant_a: TenantFixture,
                                                 role: str) -> None:
    endpoint = create(client, tenant_a)["webhookEndpoint"]
    member = add_member(client, tenant_a, role)
    refused = data(client, member, CREATE, input={"url": LOOPBACK, "eventTypes": ["*"]})
    assert refused["webhookEndpointCreate"]["errors"][0]["code"] == "forbidden"
    listed = gql(client, member, LIST)
    assert listed["data"] is None and listed["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    read = gql(client, member, ONE, id=endpoint["id"])
    assert read["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    admin = add_member(client, tenant_a, "admin")
    assert create(client, admin)["errors"] == []


def test_another_company_reaches_none_of_it(client: FlaskClient, tenant_a: TenantFixture,
                                            tenant_b: TenantFixture) -> None:
    # given tenant A's endpoint and a delivery
    endpoint = create(client, tenant_a)["webhookEndpoint"]
    delivery = data(client, tenant_a, TEST, id=endpoint["id"])["webhookEndpointSendTest"][
        "delivery"]
    theirs = endpoint["id"]
    # when tenant B tries every query and mutation with A's ids
    assert data(client, tenant_b, ONE, id=theirs)["webhookEndpoint"] is None
    assert nodes(data(client, tenant_b, LIST)["webhookEndpoints"]) == []
    listed = gql(client, tenant_b, DELIVERIES, endpointId=theirs)
    assert listed["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    payloads = [
        data(client, tenant_b, UPDATE, id=theirs, input={"enabled": False})[
            "webhookEndpointUpdate"],
        data(client, tenant_b, DELETE, id=theirs)["webhookEndpointDelete"],
        data(client, tenant_b, ROTATE, id=theirs)["webhookEndpointRotateSecret"],
        data(client, tenant_b, TEST, id=theirs)["webhookEndpointSendTest"],
        data(client, tenant_b, RETRY, endpointId=theirs, id=delivery["id"])[
            "webhookDeliveryRetry"],
    ]
    # then each is not_found, and A's endpoint is untouched
    assert [p["errors"][0]["code"] for p in payloads] == ["not_found"] * 5
    after = data(client, tenant_a, ONE, id=theirs)["webhookEndpoint"]
    assert after["enabled"] is True and after["version"] == endpoint["version"]
    # and B's own endpoint cannot reach A's delivery
    mine = create(client, tenant_b)["webhookEndpoint"]
    retried = data(client, tenant_b, RETRY, endpointId=mine["id"], id=delivery["id"])[
        "webhookDeliveryRetry"]
    assert retried["errors"][0]["code"] == "not_found"
    wrong = data(client, tenant_b, RETRY, endpointId=mine["id"],
                 id=encode_id("Invoice", uuid4()))["webhookDeliveryRetry"]
    assert wrong["errors"][0]["code"] == "invalid"
