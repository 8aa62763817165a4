"""Transaction list filters through both doors: absolute amount bounds, category, contact,
matched (something allocated to invoices or nothing), free-text `q`; the allocation figures
on each transaction; invalid values named; another tenant's ids filter to nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from smbfinance.graphql.relay import encode_id
from smbfinance.tenancy import tenant_scope
from tests.conftest import TenantFixture
from tests.invoicing import create_contact, error_fields

TRANSACTIONS = "/api/v1/transactions"
IBAN = "BE68539007547034"

# (amount, counterparty, remittance, notes)
MOVEMENTS = (
    ("-20.00", "Fuel Station", "card 1234", None),
    ("150.00", "Client NV", "+++090/9337/55493+++ invoice 2026-001", None),
    ("-250.00", "Landlord BV", "rent march", "office 50%_share"),
    ("1200.00", "Big Customer", "invoice 2026-002", None),
    ("-99.99", "Telco", None, "phone"),
)


@pytest.fixture()
def movements(client: FlaskClient, tenant_a: TenantFixture) -> dict[str, dict[str, Any]]:
    """Five manual movements on one account, keyed by counterparty."""
    account = client.post("/api/v1/bank-accounts", headers=tenant_a.headers,
                          json={"iban": IBAN}).get_json()
    made = {}
    for day, (amount, name, remittance, notes) in enumerate(MOVEMENTS, start=1):
        response = client.post(TRANSACTIONS, headers=tenant_a.headers, json={
            "bank_account_id": account["id"], "amount": amount,
            "booking_date": f"2026-03-{day:02d}", "counterparty_name": name,
            "remittance": remittance, "notes": notes})
        assert response.status_code == 201, response.get_json()
        made[name] = response.get_json()
    return made


def listed(client: FlaskClient, tenant: TenantFixture, **query: Any) -> list[str]:
    response = client.get(TRANSACTIONS, headers=tenant.headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    return [row["counterparty_name"] for row in response.get_json()["data"]]


def allocate(db_session: Any, tenant: TenantFixture, transaction_id: str, amount: str) -> None:
    """What reconciliation will do: record how much of a movement settles invoices."""
    with tenant_scope(db_session, tenant.tenant_id) as session:
        session.execute(text("UPDATE bank_transactions SET matched_amount = :amount "
                             "WHERE id = :id"), {"amount": amount, "id": transaction_id})
        session.commit()


def test_amount_bounds_apply_to_the_absolute_amount(client, tenant_a, movements) -> None:
    # given movements in and out of 20, 99.99, 150, 250 and 1200
    # when bounded between 99.99 and 250 (inclusive)
    found = listed(client, tenant_a, min_amount="99.99", max_amount="250")
    # then money out counts by its size, not its sign
    assert found == ["Telco", "Landlord BV", "Client NV"]
    assert listed(client, tenant_a, min_amount="1000") == ["Big Customer"]
    assert listed(client, tenant_a, max_amount="20.00") == ["Fuel Station"]
    # and combined with a direction, the sign decides
    assert listed(client, tenant_a, min_amount="100", direction="out") == ["Landlord BV"]


def test_category_and_contact_filters(client, tenant_a, movements) -> None:
    # given one movement categorised and another with a contact
    category = client.post("/api/v1/categories", headers=tenant_a.headers,
                           json={"name": "Rent"}).get_json()
    contact = create_contact(client, tenant_a, "Client NV")
    for name, body in (("Landlord BV", {"category_id": category["id"]}),
                       ("Client NV", {"contact_id": contact["id"]})):
        patched = client.patch(f"{TRANSACTIONS}/{movements[name]['id']}",
                               headers=tenant_a.headers, json=body)
        assert patched.status_code == 200, patched.get_json()
    # when filtered by each, then only that movement comes back
    assert listed(client, tenant_a, category_id=category["id"]) == ["Landlord BV"]
    assert listed(client, tenant_a, contact_id=contact["id"]) == ["Client NV"]
    # and an unknown id filters to nothing
    assert listed(client, tenant_a, category_id=str(uuid.uuid4())) == []


def test_matched_means_something_is_allocated(client, tenant_a, db_session, movements) -> None:
    # given one movement fully and one partly allocated to invoices
    allocate(db_session, tenant_a, movements["Big Customer"]["id"], "1200.00")
    allocate(db_session, tenant_a, movements["Client NV"]["id"], "100.00")
    # when filtered on matched
    matched = listed(client, tenant_a, matched="true")
    unmatched = listed(client, tenant_a, matched="false")
    # then partly allocated counts as matched; the rest is unmatched
    assert matched == ["Big Customer", "Client NV"]
    assert unmatched == ["Telco", "Landlord BV", "Fuel Station"]
    # and each transaction says how much is allocated and what is left
    rows = {r["counterparty_name"]: r for r in client.get(
        TRANSACTIONS, headers=tenant_a.headers).get_json()["data"]}
    assert rows["Client NV"]["matched_amount"] == {"amount": "100.00", "currency": "EUR"}
    assert rows["Client NV"]["unallocated"] == {"amount": "50.00", "currency": "EUR"}
    assert rows["Landlord BV"]["unallocated"] == {"amount": "250.00", "currency": "EUR"}
    assert rows["Big Customer"]["unallocated"]["amount"] == "0.00"


@pytest.mark.parametrize(("q", "expected"), [
    ("client", ["Client NV"]),                         # counterparty, any case
    ("INVOICE 2026", ["Big Customer", "Client NV"]),   # remittance
    ("090/9337", ["Client NV"]),                       # in the free text
    ("PHONE", ["Telco"]),                              # notes
    ("50%_", ["Landlord BV"]),                         # wildcards taken literally
    ("%", ["Landlord BV"]),
    ("_", ["Landlord BV"]),
    ("   ", ["Telco", "Big Customer", "Landlord BV", "Client NV", "Fuel Station"]),
    ("nothing like it", []),
])
def test_q_searches_the_texts_ignoring_case(client, tenant_a, movements, q, expected) -> None:
    assert listed(client, tenant_a, q=q) == expected


def test_q_finds_structured_and_bank_references(client, tenant_a, db_session,
                                                movements) -> None:
    # given a movement with a structured reference and a bank reference
    with tenant_scope(db_session, tenant_a.tenant_id) as session:
        session.execute(text("UPDATE bank_transactions SET structured_reference = "
                             "'090933755493', bank_reference = 'REF-XY-77' WHERE id = :id"),
                        {"id": movements["Telco"]["id"]})
        session.commit()
    # then q finds it by either
    assert listed(client, tenant_a, q="090933755493") == ["Telco"]
    assert listed(client, tenant_a, q="ref-xy") == ["Telco"]


@pytest.mark.parametrize(("query", "field"), [
    ({"min_amount": "abc"}, "min_amount"),
    ({"max_amount": "NaN"}, "max_amount"),
    ({"min_amount": "-5"}, "min_amount"),
    ({"min_amount": "1.001"}, "min_amount"),
    ({"max_amount": "1e999999"}, "max_amount"),
    ({"min_amount": "100", "max_amount": "10"}, "max_amount"),
    ({"category_id": "not-a-uuid"}, "category_id"),
    ({"contact_id": "42"}, "contact_id"),
    ({"matched": "maybe"}, "matched"),
    ({"q": "x" * 201}, "q"),
    ({"q": "a\x00b"}, "q"),
])
def test_invalid_filters_are_named(client, tenant_a, query, field) -> None:
    response = client.get(TRANSACTIONS, headers=tenant_a.headers, query_string=query)
    assert response.status_code == 422
    assert error_fields(response) == {f"query:{field}"}


def test_another_tenants_ids_filter_to_nothing(client, tenant_a, tenant_b, movements) -> None:
    # given tenant B with its own movement, category and contact
    account = client.post("/api/v1/bank-accounts", headers=tenant_b.headers,
                          json={"iban": IBAN}).get_json()
    client.post(TRANSACTIONS, headers=tenant_b.headers, json={
        "bank_account_id": account["id"], "amount": "-250.00", "booking_date": "2026-03-01",
        "counterparty_name": "Landlord BV"})
    category = client.post("/api/v1/categories", headers=tenant_b.headers,
                           json={"name": "Rent"}).get_json()
    contact = create_contact(client, tenant_b, "Client NV")
    for name, body in (("Landlord BV", {"category_id": category["id"]}),
                       ("Landlord BV", {"contact_id": contact["id"]})):
        theirs = client.patch(f"{TRANSACTIONS}/{movements[name]['id']}",
                              headers=tenant_b.headers, json=body)
        assert theirs.status_code == 404
    # when tenant A filters by B's category, contact or account
    # then nothing comes back (as for ids that do not exist), and q never crosses over
    assert listed(client, tenant_a, category_id=category["id"]) == []
    assert listed(client, tenant_a, contact_id=contact["id"]) == []
    assert listed(client, tenant_a, bank_account_id=account["id"]) == []
    assert listed(client, tenant_b, q="landlord") == ["Landlord BV"]
    assert listed(client, tenant_b, q="client") == []


# ------------------------------------------------------------------ GraphQL

FILTERED = """query($min: String, $max: String, $category: ID, $contact: ID, $matched: Boolean,
                    $q: String) {
  transactions(minAmount: $min, maxAmount: $max, categoryId: $category, contactId: $contact,
               matched: $matched, q: $q) {
    edges { node { counterpartyName categoryId contactId version
                   matchedAmount { amount currency } unallocated { amount } } } } }"""


def gql(client: FlaskClient, tenant: TenantFixture, **variables: Any) -> dict[str, Any]:
    response = client.post("/graphql", headers=tenant.headers,
                           json={"query": FILTERED, "variables": variables})
    assert response.status_code == 200
    return response.get_json()


def names(body: dict[str, Any]) -> list[str]:
    assert "errors" not in body, body
    return [e["node"]["counterpartyName"] for e in body["data"]["transactions"]["edges"]]


def test_graphql_has_the_same_filters(client, tenant_a, tenant_b, db_session,
                                      movements) -> None:
    # given a categorised movement, one with a contact and one partly allocated
    category = client.post("/api/v1/categories", headers=tenant_a.headers,
                           json={"name": "Rent"}).get_json()
    contact = create_contact(client, tenant_a, "Client NV")
    client.patch(f"{TRANSACTIONS}/{movements['Landlord BV']['id']}", headers=tenant_a.headers,
                 json={"category_id": category["id"]})
    client.patch(f"{TRANSACTIONS}/{movements['Client NV']['id']}", headers=tenant_a.headers,
                 json={"contact_id": contact["id"]})
    allocate(db_session, tenant_a, movements["Client NV"]["id"], "100.00")
    category_gid = encode_id("Category", category["id"])
    contact_gid = encode_id("Contact", contact["id"])
    # then each filter narrows as in REST
    assert names(gql(client, tenant_a, min="99.99", max="250")) == [
        "Telco", "Landlord BV", "Client NV"]
    assert names(gql(client, tenant_a, category=category_gid)) == ["Landlord BV"]
    assert names(gql(client, tenant_a, contact=contact_gid)) == ["Client NV"]
    assert names(gql(client, tenant_a, matched=True)) == ["Client NV"]
    assert len(names(gql(client, tenant_a, matched=False))) == 4
    assert names(gql(client, tenant_a, q="PHONE")) == ["Telco"]
    # and the node carries ids and the allocation
    node = gql(client, tenant_a, contact=contact_gid)["data"]["transactions"]["edges"][0]["node"]
    assert node["contactId"] == contact_gid and node["categoryId"] is None
    assert node["matchedAmount"] == {"amount": "100.00", "currency": "EUR"}
    assert node["unallocated"] == {"amount": "50.00"}
    # and tenant B's filters by A's ids find nothing
    assert names(gql(client, tenant_b, category=category_gid)) == []
    assert names(gql(client, tenant_b, contact=contact_gid)) == []


@pytest.mark.parametrize(("variables", "field"), [
    ({"min": "abc"}, "minAmount"),
    ({"min": "100", "max": "10"}, "maxAmount"),
    ({"category": encode_id("Contact", uuid.uuid4())}, "categoryId"),
    ({"contact": "garbage"}, "contactId"),
])
def test_graphql_invalid_filters_are_named(client, tenant_a, variables, field) -> None:
    body = gql(client, tenant_a, **variables)
    assert body["data"] is None or body["data"]["transactions"] is None
    fields = [f["field"] for f in body["errors"][0]["extensions"]["fields"]]
    assert fields == [field]
