"""GraphQL: the fields the mobile app reads for integrations, the audit log, the event feed
and webhooks are documented in the schema itself (introspection is the GraphQL doc)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.conftest import TenantFixture

INTROSPECT = """{ __schema {
  queryType { fields { name description } }
  mutationType { fields { name description } } } }"""
TYPE = """query($name: String!) { __type(name: $name) { fields { name description } } }"""

QUERIES = {"integrations", "integrationSyncLogs", "auditLog", "auditLogVerification",
           "events", "event", "webhookEndpoints", "webhookEndpoint", "webhookDeliveries"}
MUTATIONS = {"integrationSyncRequest", "integrationYukiConnect", "integrationDisconnect",
             "webhookEndpointCreate", "webhookEndpointUpdate",
             "webhookEndpointDelete", "webhookEndpointRotateSecret",
             "webhookEndpointSendTest", "webhookDeliveryRetry"}
# Fields whose meaning is not plain from their name and type.
EXPLAINED = {
    "Integration": {"health", "synchronizedAt", "nextAllowedSyncAt", "consentExpiresAt"},
    "IntegrationSyncRequestPayload": {"nextAllowedAt", "retryAfterSeconds", "reason"},
    "EventFeed": {"nextCursor", "hasMore"},
    "AuditVerification": {"headHash", "firstBroken"},
    "WebhookEndpointSecretPayload": {"secret"},
}


def introspect(client: FlaskClient, tenant: TenantFixture, query: str,
               **variables: object) -> Any:
    response = client.post("/graphql", headers=tenant.headers,
                           json={"query": query, "variables": variables})
    body = response.get_json()
    assert response.status_code == 200 and "errors" not in body, body
    return body["data"]


def test_new_root_fields_are_listed_with_descriptions(client: FlaskClient,
                                                      tenant_a: TenantFixture) -> None:
    # when the schema is introspected as the app's tooling does
    schema = introspect(client, tenant_a, INTROSPECT)["__schema"]
    queries = {f["name"]: f["description"] for f in schema["queryType"]["fields"]}
    mutations = {f["name"]: f["description"] for f in schema["mutationType"]["fields"]}
    # then every new query and mutation is there, each with a description
    assert queries.keys() >= QUERIES and mutations.keys() >= MUTATIONS
    assert [name for name in sorted(QUERIES) if not queries[name]] == []
    assert [name for name in sorted(MUTATIONS) if not mutations[name]] == []


def test_fields_that_need_explaining_are_explained(client: FlaskClient,
                                                   tenant_a: TenantFixture) -> None:
    for type_name, names in EXPLAINED.items():
        fields = {f["name"]: f["description"]
                  for f in introspect(client, tenant_a, TYPE, name=type_name)["__type"]["fields"]}
        assert [n for n in sorted(names) if not fields.get(n)] == [], type_name
