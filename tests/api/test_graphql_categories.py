"""GraphQL categories (read only): listed by name, one by id or node, their global ids are
what transactions carry and filter by; another company's categories are never seen."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.conftest import TenantFixture

CATEGORIES = """query($first: Int, $after: String, $kind: String) {
  categories(first: $first, after: $after, kind: $kind) {
    edges { node { id name kind color version } } pageInfo { hasNextPage endCursor } } }"""


def gql(client: FlaskClient, tenant: TenantFixture, query: str, **variables: Any) -> Any:
    response = client.post("/graphql", headers=tenant.headers,
                           json={"query": query, "variables": variables})
    assert response.status_code == 200
    return response.get_json()


def category(client: FlaskClient, tenant: TenantFixture, name: str, **body: Any) -> dict:
    response = client.post("/api/v1/categories", headers=tenant.headers,
                           json={"name": name, **body})
    assert response.status_code == 201
    return response.get_json()


def names(body: dict[str, Any]) -> list[str]:
    return [e["node"]["name"] for e in body["data"]["categories"]["edges"]]


def test_categories_by_name_a_page_at_a_time(client, tenant_a) -> None:
    # given three categories
    for name, kind in (("rent", "expense"), ("Sales", "income"), ("Bank fees", "expense")):
        category(client, tenant_a, name, kind=kind)
    # when listed a page of two at a time
    first = gql(client, tenant_a, CATEGORIES, first=2)
    rest = gql(client, tenant_a, CATEGORIES, first=2,
               after=first["data"]["categories"]["pageInfo"]["endCursor"])
    # then by name ignoring case, and filtered by kind
    assert names(first) + names(rest) == ["Bank fees", "rent", "Sales"]
    assert first["data"]["categories"]["pageInfo"]["hasNextPage"] is True
    assert names(gql(client, tenant_a, CATEGORIES, kind="income")) == ["Sales"]
    refused = gql(client, tenant_a, CATEGORIES, kind="other")
    assert refused["errors"][0]["extensions"]["fields"][0]["field"] == "kind"


def test_a_transactions_category_id_resolves_to_the_category(client, tenant_a) -> None:
    # given a transaction put in a category
    rent = category(client, tenant_a, "Rent", color="#aa0000")
    account = client.post("/api/v1/bank-accounts", headers=tenant_a.headers,
                          json={"iban": "BE68539007547034"}).get_json()
    booked = client.post("/api/v1/transactions", headers=tenant_a.headers, json={
        "bank_account_id": account["id"], "amount": "-900.00",
        "booking_date": "2026-03-01"}).get_json()
    client.patch(f"/api/v1/transactions/{booked['id']}", headers=tenant_a.headers,
                 json={"category_id": rent["id"]})
    # when its categoryId is looked up
    found = gql(client, tenant_a, "{ transactions { edges { node { categoryId } } } }")
    category_id = found["data"]["transactions"]["edges"][0]["node"]["categoryId"]
    one = gql(client, tenant_a, "query($id: ID!) { category(id: $id) { name color } }",
              id=category_id)
    node = gql(client, tenant_a, "query($id: ID!) { node(id: $id) { ... on Category { name } } }",
               id=category_id)
    # then it is that category
    assert one["data"]["category"] == {"name": "Rent", "color": "#aa0000"}
    assert node["data"]["node"] == {"name": "Rent"}


def test_another_tenant_sees_no_category(client, tenant_a, tenant_b) -> None:
    category(client, tenant_a, "Secret")
    theirs = gql(client, tenant_a, CATEGORIES)["data"]["categories"]["edges"][0]["node"]["id"]
    assert names(gql(client, tenant_b, CATEGORIES)) == []
    assert gql(client, tenant_b, "query($id: ID!) { category(id: $id) { name } }",
               id=theirs)["data"]["category"] is None
    assert gql(client, tenant_b, "query($id: ID!) { node(id: $id) { id } }",
               id=theirs)["data"]["node"] is None
