"""Bank accounts by hand and manual (cash) transactions, through the REST door."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import TenantFixture

ACCOUNTS = "/api/v1/bank-accounts"
IBAN = "BE68 5390 0754 7034"


def _account(client: FlaskClient, tenant: TenantFixture, **body: str) -> dict:
    response = client.post(ACCOUNTS, headers=tenant.headers, json={"iban": IBAN, **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_an_account_is_created_compact_and_listed(
    client: FlaskClient, tenant_a: TenantFixture
) -> None:
    created = _account(client, tenant_a, name="Main account")
    assert created["iban"] == "BE68539007547034" and created["currency"] == "EUR"
    listed = client.get(ACCOUNTS, headers=tenant_a.headers).get_json()["data"]
    assert [a["id"] for a in listed] == [created["id"]]


def test_an_invalid_iban_is_refused_naming_it(client: FlaskClient, tenant_a: TenantFixture) -> None:
    response = client.post(ACCOUNTS, headers=tenant_a.headers, json={"iban": "BE68539007547035"})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "iban"


def test_the_same_account_twice_is_a_conflict(client: FlaskClient, tenant_a: TenantFixture) -> None:
    _account(client, tenant_a)
    again = client.post(ACCOUNTS, headers=tenant_a.headers, json={"iban": IBAN})
    assert again.status_code == 409


def test_a_cash_account_needs_no_iban(client: FlaskClient, tenant_a: TenantFixture) -> None:
    response = client.post(ACCOUNTS, headers=tenant_a.headers,
                           json={"account_number": "CASH-1", "name": "Till"})
    assert response.status_code == 201
    assert response.get_json()["iban"] is None


def test_only_descriptive_fields_change(client: FlaskClient, tenant_a: TenantFixture) -> None:
    # given an account
    created = _account(client, tenant_a)
    url = f"{ACCOUNTS}/{created['id']}"
    # when renamed, then its identity cannot be changed
    renamed = client.patch(url, headers=tenant_a.headers, json={"name": "Savings"})
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Savings"
    refused = client.patch(url, headers=tenant_a.headers, json={"iban": "BE71096123456769"})
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == "iban"
    stale = client.patch(url, headers={**tenant_a.headers, "If-Match": '"1"'},
                         json={"name": "Again"})
    assert stale.status_code == 412


def test_a_deleted_account_leaves_the_lists_but_its_transactions_stay(
    client: FlaskClient, tenant_a: TenantFixture
) -> None:
    account = _account(client, tenant_a)
    booked = client.post("/api/v1/transactions", headers=tenant_a.headers, json={
        "bank_account_id": account["id"], "amount": "-20.00", "booking_date": "2026-03-02"})
    assert booked.status_code == 201
    assert client.delete(f"{ACCOUNTS}/{account['id']}", headers=tenant_a.headers
                         ).status_code == 204
    assert client.get(ACCOUNTS, headers=tenant_a.headers).get_json()["data"] == []
    remaining = client.get("/api/v1/transactions", headers=tenant_a.headers).get_json()["data"]
    assert [t["id"] for t in remaining] == [booked.get_json()["id"]]


def test_a_manual_transaction_is_booked_with_the_account_currency(
    client: FlaskClient, tenant_a: TenantFixture
) -> None:
    account = _account(client, tenant_a)
    response = client.post("/api/v1/transactions", headers=tenant_a.headers, json={
        "bank_account_id": account["id"], "amount": "150.00", "booking_date": "2026-03-02",
        "counterparty_name": "Market stall"})
    body = response.get_json()
    assert response.status_code == 201, body
    assert body["amount"] == {"amount": "150.00", "currency": "EUR"}
    assert body["source"] == "manual" and body["status"] == "booked"


def test_a_manual_amount_with_too_many_decimals_is_refused(
    client: FlaskClient, tenant_a: TenantFixture
) -> None:
    account = _account(client, tenant_a)
    response = client.post("/api/v1/transactions", headers=tenant_a.headers, json={
        "bank_account_id": account["id"], "amount": "1.005", "booking_date": "2026-03-02"})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "amount"


def test_another_tenants_account_is_an_unknown_account(
    client: FlaskClient, tenant_a: TenantFixture, tenant_b: TenantFixture
) -> None:
    # given tenant A's account
    account = _account(client, tenant_a)
    unknown = "01a20000-0000-7000-8000-000000000000"
    # then for tenant B it answers exactly like an id that does not exist
    for method, suffix, body in (("get", "", None), ("patch", "", {"name": "x"}),
                                 ("delete", "", None)):
        theirs = getattr(client, method)(f"{ACCOUNTS}/{account['id']}{suffix}",
                                         headers=tenant_b.headers, json=body)
        nobody = getattr(client, method)(f"{ACCOUNTS}/{unknown}{suffix}",
                                         headers=tenant_b.headers, json=body)
        assert theirs.status_code == nobody.status_code == 404, method
        assert theirs.get_json()["type"] == nobody.get_json()["type"]
    # and B cannot book on it
    booking = {"amount": "-1.00", "booking_date": "2026-03-02"}
    theirs = client.post("/api/v1/transactions", headers=tenant_b.headers,
                         json={**booking, "bank_account_id": account["id"]})
    nobody = client.post("/api/v1/transactions", headers=tenant_b.headers,
                         json={**booking, "bank_account_id": unknown})
    assert theirs.status_code == nobody.status_code == 422
    assert theirs.get_json()["errors"][0]["code"] == nobody.get_json()["errors"][0]["code"]
    assert client.get(ACCOUNTS, headers=tenant_a.headers).get_json()["data"][0]["id"] == account[
        "id"]
