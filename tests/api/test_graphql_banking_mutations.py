"""GraphQL banking mutations: accounts (create, update with expectedVersion, delete), cash
entries and transaction edits, through the same services as REST; expected failures come
back as payload errors naming the field; another tenant's ids are unknown ids."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from smbfinance.graphql.relay import encode_id
from tests.conftest import TenantFixture
from tests.invoicing import add_member, create_contact

IBAN = "BE68 5390 0754 7034"
ERRORS = "errors { field code message }"
ACCOUNT = "bankAccount { id iban accountNumber name currency isActive version }"
TRANSACTION = ("transaction { id amount { amount currency } bookingDate source notes "
               "categoryId contactId categorisedBy version bankAccountId }")

CREATE_ACCOUNT = f"""mutation($input: BankAccountInput!) {{
  bankAccountCreate(input: $input) {{ {ACCOUNT} {ERRORS} }} }}"""
UPDATE_ACCOUNT = f"""mutation($id: ID!, $input: BankAccountPatchInput!, $v: Int) {{
  bankAccountUpdate(id: $id, input: $input, expectedVersion: $v) {{ {ACCOUNT} {ERRORS} }} }}"""
DELETE_ACCOUNT = f"""mutation($id: ID!, $v: Int) {{
  bankAccountDelete(id: $id, expectedVersion: $v) {{ deletedId {ERRORS} }} }}"""
CREATE_CASH = f"""mutation($input: CashTransactionInput!) {{
  cashTransactionCreate(input: $input) {{ {TRANSACTION} {ERRORS} }} }}"""
UPDATE_TRANSACTION = f"""mutation($id: ID!, $input: TransactionPatchInput!, $v: Int) {{
  transactionUpdate(id: $id, input: $input, expectedVersion: $v) {{ {TRANSACTION} {ERRORS} }}
}}"""


def gql(client: FlaskClient, tenant: TenantFixture, query: str, **variables: Any) -> Any:
    response = client.post("/graphql", headers=tenant.headers,
                           json={"query": query, "variables": variables})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert "errors" not in body, body
    return next(iter(body["data"].values()))


def account(client: FlaskClient, tenant: TenantFixture, **input: Any) -> dict[str, Any]:
    payload = gql(client, tenant, CREATE_ACCOUNT, input={"iban": IBAN, **input})
    assert payload["errors"] == [], payload
    return payload["bankAccount"]


def cash(client: FlaskClient, tenant: TenantFixture, account_id: str,
         **input: Any) -> dict[str, Any]:
    payload = gql(client, tenant, CREATE_CASH, input={
        "bankAccountId": account_id, "amount": "-12.50", "bookingDate": "2026-03-02", **input})
    assert payload["errors"] == [], payload
    return payload["transaction"]


def fields(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


def test_an_account_is_created_renamed_and_deleted(client, tenant_a) -> None:
    # given a new account, compacted, in EUR by default
    created = account(client, tenant_a, name="Main")
    assert (created["iban"], created["currency"], created["version"]) == (
        "BE68539007547034", "EUR", 1)
    # when renamed with the version it read
    renamed = gql(client, tenant_a, UPDATE_ACCOUNT, id=created["id"],
                  input={"name": "Savings", "isActive": False}, v=1)
    # then it changed, and a stale version is refused
    assert renamed["errors"] == [] and renamed["bankAccount"]["name"] == "Savings"
    assert renamed["bankAccount"]["isActive"] is False
    stale = gql(client, tenant_a, UPDATE_ACCOUNT, id=created["id"], input={"name": "X"}, v=1)
    assert stale["bankAccount"] is None and fields(stale) == [(None, "precondition_failed")]
    # and REST sees the same account
    rest = client.get(f"/api/v1/bank-accounts/{_uuid(created['id'])}",
                      headers=tenant_a.headers).get_json()
    assert rest["name"] == "Savings"
    # when deleted, it leaves the lists
    deleted = gql(client, tenant_a, DELETE_ACCOUNT, id=created["id"])
    assert deleted == {"deletedId": created["id"], "errors": []}
    assert gql(client, tenant_a, "{ bankAccounts { id } }") == []


def test_account_mistakes_are_payload_errors_naming_the_field(client, tenant_a) -> None:
    bad_iban = gql(client, tenant_a, CREATE_ACCOUNT, input={"iban": "BE68539007547035"})
    assert bad_iban["bankAccount"] is None and fields(bad_iban) == [("iban", "invalid")]
    nothing = gql(client, tenant_a, CREATE_ACCOUNT, input={"name": "No number"})
    assert fields(nothing) == [("iban", "required")]
    currency = gql(client, tenant_a, CREATE_ACCOUNT, input={"iban": IBAN, "currency": "EURO"})
    assert [f for f, _ in fields(currency)] == ["currency"]
    account(client, tenant_a)
    twice = gql(client, tenant_a, CREATE_ACCOUNT, input={"iban": IBAN})
    assert fields(twice) == [("iban", "conflict")]
    cash_box = account(client, tenant_a, iban=None, accountNumber="CASH-1")
    assert cash_box["iban"] is None and cash_box["accountNumber"] == "CASH-1"
    wrong_id = gql(client, tenant_a, UPDATE_ACCOUNT, id=encode_id("Contact", cash_box["id"]),
                   input={"name": "x"})
    assert fields(wrong_id) == [("id", "invalid")]


def test_a_cash_entry_is_booked_and_edited(client, tenant_a) -> None:
    # given a cash account, a category and a contact
    till = account(client, tenant_a, iban=None, accountNumber="TILL")
    category = client.post("/api/v1/categories", headers=tenant_a.headers,
                           json={"name": "Supplies"}).get_json()
    contact = create_contact(client, tenant_a, "Corner Shop")
    # when a cash movement is booked
    booked = cash(client, tenant_a, till["id"], counterpartyName="Corner Shop")
    # then it is a manual, booked movement in the account's currency
    assert booked["amount"] == {"amount": "-12.50", "currency": "EUR"}
    assert (booked["source"], booked["bankAccountId"]) == ("manual", till["id"])
    # when it is categorised, given a contact and a note, with its version
    category_gid = encode_id("Category", category["id"])
    contact_gid = encode_id("Contact", contact["id"])
    edited = gql(client, tenant_a, UPDATE_TRANSACTION, id=booked["id"], v=booked["version"],
                 input={"categoryId": category_gid, "contactId": contact_gid,
                        "notes": "  pens  "})
    # then it changed, by a person (rules keep off), and REST agrees
    assert edited["errors"] == []
    changed = edited["transaction"]
    assert (changed["categoryId"], changed["contactId"], changed["notes"]) == (
        category_gid, contact_gid, "pens")
    assert changed["categorisedBy"] == "user" and changed["version"] == booked["version"] + 1
    rest = client.get(f"/api/v1/transactions/{_uuid(booked['id'])}",
                      headers=tenant_a.headers).get_json()
    assert rest["category_id"] == category["id"] and rest["contact_id"] == contact["id"]
    # and null clears, a stale version is refused
    cleared = gql(client, tenant_a, UPDATE_TRANSACTION, id=booked["id"],
                  input={"categoryId": None})
    assert cleared["transaction"]["categoryId"] is None
    stale = gql(client, tenant_a, UPDATE_TRANSACTION, id=booked["id"], v=1,
                input={"notes": "late"})
    assert fields(stale) == [(None, "precondition_failed")]


@pytest.mark.parametrize(("input", "expected"), [
    ({"amount": "12.345"}, [("amount", "invalid")]),
    ({"amount": "0"}, [("amount", "invalid")]),
    ({"amount": "abc"}, [("amount", "invalid")]),
    ({"bankAccountId": "garbage"}, [("bankAccountId", "invalid")]),
])
def test_cash_entry_mistakes_name_the_field(client, tenant_a, input, expected) -> None:
    till = account(client, tenant_a)
    payload = gql(client, tenant_a, CREATE_CASH, input={
        "bankAccountId": till["id"], "amount": "-1.00", "bookingDate": "2026-03-02", **input})
    assert payload["transaction"] is None and fields(payload) == expected


def test_transaction_update_refuses_unknown_category_and_contact(client, tenant_a) -> None:
    booked = cash(client, tenant_a, account(client, tenant_a)["id"])
    missing = gql(client, tenant_a, UPDATE_TRANSACTION, id=booked["id"], input={
        "categoryId": encode_id("Category", "01a20000-0000-7000-8000-000000000000"),
        "contactId": encode_id("Contact", "01a20000-0000-7000-8000-000000000001")})
    assert sorted(fields(missing)) == [("categoryId", "not_found"), ("contactId", "not_found")]
    wrong_type = gql(client, tenant_a, UPDATE_TRANSACTION, id=booked["id"],
                     input={"categoryId": booked["id"]})
    assert fields(wrong_type) == [("categoryId", "invalid")]


def test_a_viewer_cannot_change_banking(client, tenant_a) -> None:
    till = account(client, tenant_a)
    booked = cash(client, tenant_a, till["id"])
    viewer = add_member(client, tenant_a, "viewer")
    for query, variables in (
        (CREATE_ACCOUNT, {"input": {"iban": "BE71096123456769"}}),
        (UPDATE_ACCOUNT, {"id": till["id"], "input": {"name": "x"}}),
        (DELETE_ACCOUNT, {"id": till["id"]}),
        (CREATE_CASH, {"input": {"bankAccountId": till["id"], "amount": "1.00",
                                 "bookingDate": "2026-03-02"}}),
        (UPDATE_TRANSACTION, {"id": booked["id"], "input": {"notes": "x"}}),
    ):
        payload = gql(client, viewer, query, **variables)
        assert fields(payload) == [(None, "forbidden")], query


def test_another_tenants_ids_are_unknown_ids_on_every_mutation(client, tenant_a,
                                                               tenant_b) -> None:
    # given tenant A's account, its cash entry, and B's own category and contact
    mine = account(client, tenant_a, name="A's")
    booked = cash(client, tenant_a, mine["id"])
    unknown_account = encode_id("BankAccount", "01a20000-0000-7000-8000-000000000000")
    unknown_transaction = encode_id("Transaction", "01a20000-0000-7000-8000-000000000000")
    # then for tenant B, A's ids answer exactly as ids that do not exist
    for query, theirs, nobody in (
        (UPDATE_ACCOUNT, {"id": mine["id"], "input": {"name": "stolen"}},
         {"id": unknown_account, "input": {"name": "stolen"}}),
        (DELETE_ACCOUNT, {"id": mine["id"]}, {"id": unknown_account}),
        (UPDATE_TRANSACTION, {"id": booked["id"], "input": {"notes": "x"}},
         {"id": unknown_transaction, "input": {"notes": "x"}}),
        (CREATE_CASH,
         {"input": {"bankAccountId": mine["id"], "amount": "1.00", "bookingDate": "2026-03-02"}},
         {"input": {"bankAccountId": unknown_account, "amount": "1.00",
                    "bookingDate": "2026-03-02"}}),
    ):
        assert fields(gql(client, tenant_b, query, **theirs)) == fields(
            gql(client, tenant_b, query, **nobody)) != [], query
    # and A's ids cannot be attached to B's own transaction either
    b_booked = cash(client, tenant_b, account(client, tenant_b)["id"])
    category = client.post("/api/v1/categories", headers=tenant_a.headers,
                           json={"name": "A only"}).get_json()
    contact = create_contact(client, tenant_a, "A's client")
    borrowed = gql(client, tenant_b, UPDATE_TRANSACTION, id=b_booked["id"], input={
        "categoryId": encode_id("Category", category["id"]),
        "contactId": encode_id("Contact", contact["id"])})
    assert sorted(fields(borrowed)) == [("categoryId", "not_found"), ("contactId", "not_found")]
    # and A's account and entry are untouched
    after = gql(client, tenant_a, "query($id: ID!) { bankAccount(id: $id) { name } }",
                id=mine["id"])
    assert after == {"name": "A's"}
    entry = gql(client, tenant_a, "query($id: ID!) { transaction(id: $id) { notes } }",
                id=booked["id"])
    assert entry == {"notes": None}


def _uuid(global_id: str) -> str:
    from smbfinance.graphql.relay import split_id

    return str(split_id(global_id)[1])
