"""GraphQL: the audit log (filters, pages) and its verification, with the same roles as
REST (owner, admin, accountant) and nothing of another company."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from smbfinance.graphql.relay import encode_id
from tests.conftest import TenantFixture
from tests.invoicing import INVOICES, add_member, create_contact, create_invoice

AUDIT = """query($first: Int, $after: String, $entityType: String, $entityId: UUID,
               $action: String, $createdAfter: DateTime) {
  auditLog(first: $first, after: $after, entityType: $entityType, entityId: $entityId,
           action: $action, createdAfter: $createdAfter) {
    edges { node { id seq actorType actorId action entityType entityId before after
                   requestId createdAt hash prevHash redactedAt } }
    pageInfo { hasNextPage endCursor } } }"""
VERIFY = """{ auditLogVerification { ok entriesChecked headSeq headHash
  firstBroken { seq problem message } } }"""


def gql(client: FlaskClient, tenant: TenantFixture, query: str, **variables: object) -> Any:
    response = client.post("/graphql", headers=tenant.headers,
                           json={"query": query, "variables": variables})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def nodes(body: Any) -> list[dict[str, Any]]:
    assert "errors" not in body, body
    return [edge["node"] for edge in body["data"]["auditLog"]["edges"]]


def test_an_invoice_leaves_its_history(client: FlaskClient, tenant_a: TenantFixture) -> None:
    # given an invoice created then opened
    contact = create_contact(client, tenant_a)
    invoice = create_invoice(client, tenant_a, contact["id"])
    assert client.post(f"{INVOICES}/{invoice['id']}/open",
                       headers=tenant_a.headers).status_code == 200
    # when its history is read through GraphQL
    entries = nodes(gql(client, tenant_a, AUDIT, entityType="invoice", entityId=invoice["id"]))
    # then who did what, newest first, chained — as REST shows it
    assert [e["action"] for e in entries] == ["invoice.opened", "invoice.created"]
    newest, oldest = entries
    assert (newest["actorType"], newest["actorId"]) == ("user", str(tenant_a.user_id))
    assert newest["before"]["status"] == "draft" and newest["after"]["status"] == "open"
    assert newest["seq"] > oldest["seq"] and len(newest["hash"]) == 64
    assert newest["prevHash"] and newest["requestId"] and newest["redactedAt"] is None
    assert newest["entityId"] == invoice["id"]


def test_pages_and_filters(client: FlaskClient, tenant_a: TenantFixture) -> None:
    contact = create_contact(client, tenant_a)
    for _ in range(3):
        create_invoice(client, tenant_a, contact["id"])
    first = gql(client, tenant_a, AUDIT, first=2, action="invoice.created")
    page = first["data"]["auditLog"]
    assert len(page["edges"]) == 2 and page["pageInfo"]["hasNextPage"] is True
    rest = nodes(gql(client, tenant_a, AUDIT, first=2, action="invoice.created",
                     after=page["pageInfo"]["endCursor"]))
    assert len(rest) == 1
    future = nodes(gql(client, tenant_a, AUDIT, createdAfter="2999-01-01T00:00:00+00:00"))
    assert future == []


def test_bad_filters_are_typed_errors(client: FlaskClient, tenant_a: TenantFixture) -> None:
    # a time without an offset is refused as on REST, naming the GraphQL argument
    naive = gql(client, tenant_a, AUDIT, createdAfter="2026-01-01T00:00:00")
    assert naive["errors"][0]["extensions"]["code"] == "INVALID"
    assert naive["errors"][0]["extensions"]["fields"][0]["field"] == "createdAfter"
    wrong = gql(client, tenant_a, AUDIT, after=encode_id("Invoice", tenant_a.user_id))
    assert wrong["errors"][0]["extensions"]["fields"][0]["field"] == "after"


def test_the_chain_verifies(client: FlaskClient, tenant_a: TenantFixture) -> None:
    contact = create_contact(client, tenant_a)
    create_invoice(client, tenant_a, contact["id"])
    found = gql(client, tenant_a, VERIFY)["data"]["auditLogVerification"]
    assert found["ok"] is True and found["firstBroken"] is None
    assert found["entriesChecked"] == found["headSeq"] >= 2 and len(found["headHash"]) == 64


def test_a_viewer_is_refused_and_an_accountant_reads(client: FlaskClient,
                                                     tenant_a: TenantFixture) -> None:
    create_contact(client, tenant_a)
    viewer = add_member(client, tenant_a, "viewer")
    accountant = add_member(client, tenant_a, "accountant")
    for query in (AUDIT, VERIFY):
        refused = gql(client, viewer, query)
        assert refused["data"] is None
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert nodes(gql(client, accountant, AUDIT))
    assert gql(client, accountant, VERIFY)["data"]["auditLogVerification"]["ok"] is True


def test_another_company_sees_none_of_it(client: FlaskClient, tenant_a: TenantFixture,
                                         tenant_b: TenantFixture) -> None:
    contact = create_contact(client, tenant_a)
    create_invoice(client, tenant_a, contact["id"])
    mine = nodes(gql(client, tenant_a, AUDIT))
    theirs = nodes(gql(client, tenant_b, AUDIT))
    assert {e["id"] for e in theirs}.isdisjoint({e["id"] for e in mine})
    assert nodes(gql(client, tenant_b, AUDIT, entityId=contact["id"])) == []
    paging = gql(client, tenant_b, AUDIT, after=mine[0]["id"])
    assert paging["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    verified = gql(client, tenant_b, VERIFY)["data"]["auditLogVerification"]
    assert verified["ok"] is True and verified["entriesChecked"] == len(theirs)
