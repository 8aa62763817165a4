"""GraphQL: bank accounts and transactions, read through the same services as REST."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import TenantFixture

IBAN = "BE68539007547034"


def gql(client: FlaskClient, tenant: TenantFixture, query: str, **variables: object) -> dict:
    response = client.post("/graphql", headers=tenant.headers,
                           json={"query": query, "variables": variables})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _setup(client: FlaskClient, tenant: TenantFixture) -> str:
    account = client.post("/api/v1/bank-accounts", headers=tenant.headers,
                          json={"iban": IBAN, "name": "Main"}).get_json()
    for amount, day in (("-20.00", "2026-03-02"), ("150.00", "2026-03-03")):
        response = client.post("/api/v1/transactions", headers=tenant.headers, json={
            "bank_account_id": account["id"], "amount": amount, "booking_date": day})
        assert response.status_code == 201
    return account["id"]


ACCOUNTS = "{ bankAccounts { id iban name currency currentBalance { amount } } }"
TRANSACTIONS = """query($first: Int, $after: String, $direction: String) {
  transactions(first: $first, after: $after, direction: $direction) {
    edges { cursor node { id amount { amount currency } bookingDate source bankAccountId } }
    pageInfo { hasNextPage endCursor } } }"""


def test_accounts_and_transactions_are_listed(client: FlaskClient, tenant_a: TenantFixture) -> None:
    # given an account with two manual movements
    _setup(client, tenant_a)
    # when listed through GraphQL
    accounts = gql(client, tenant_a, ACCOUNTS)["data"]["bankAccounts"]
    page = gql(client, tenant_a, TRANSACTIONS, first=1)["data"]["transactions"]
    rest = gql(client, tenant_a, TRANSACTIONS, first=5,
               after=page["pageInfo"]["endCursor"])["data"]["transactions"]
    # then money is a string amount with its currency, newest first, a page at a time
    assert [(a["iban"], a["name"]) for a in accounts] == [(IBAN, "Main")]
    assert page["edges"][0]["node"]["amount"] == {"amount": "150.00", "currency": "EUR"}
    assert page["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["amount"]["amount"] for e in rest["edges"]] == ["-20.00"]
    assert rest["pageInfo"]["hasNextPage"] is False
    outgoing = gql(client, tenant_a, TRANSACTIONS, direction="out")["data"]["transactions"]
    assert [e["node"]["amount"]["amount"] for e in outgoing["edges"]] == ["-20.00"]


def test_node_resolves_a_transaction_and_an_account(
    client: FlaskClient, tenant_a: TenantFixture
) -> None:
    _setup(client, tenant_a)
    edge = gql(client, tenant_a, TRANSACTIONS, first=1)["data"]["transactions"]["edges"][0]
    found = gql(client, tenant_a, "query($id: ID!) { node(id: $id) { ... on Transaction "
                "{ amount { amount } } } }", id=edge["node"]["id"])
    assert found["data"]["node"]["amount"]["amount"] == "150.00"
    account = gql(client, tenant_a, "query($id: ID!) { bankAccount(id: $id) { iban } }",
                  id=edge["node"]["bankAccountId"])
    assert account["data"]["bankAccount"]["iban"] == IBAN


def test_another_tenant_sees_nothing_of_it(
    client: FlaskClient, tenant_a: TenantFixture, tenant_b: TenantFixture
) -> None:
    _setup(client, tenant_a)
    edge = gql(client, tenant_a, TRANSACTIONS, first=1)["data"]["transactions"]["edges"][0]
    assert gql(client, tenant_b, ACCOUNTS)["data"]["bankAccounts"] == []
    assert gql(client, tenant_b, TRANSACTIONS)["data"]["transactions"]["edges"] == []
    theirs = gql(client, tenant_b, "query($id: ID!) { transaction(id: $id) { id } }",
                 id=edge["node"]["id"])
    assert theirs["data"]["transaction"] is None
    account = gql(client, tenant_b, "query($id: ID!) { bankAccount(id: $id) { id } }",
                  id=edge["node"]["bankAccountId"])
    assert account["data"]["bankAccount"] is None
