"""GraphQL: reconciliation suggestions, matches and their mutations, through the same
services as REST."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from smbfinance.graphql.relay import encode_id
from tests.api.test_reconciliation_api import CLIENT_IBAN, receivable
from tests.conftest import TenantFixture
from tests.invoicing import INVOICES, create_contact, days
from tests.reconciling import Paid, import_payments

MATCH_FIELDS = ("id kind status certain score signals amount { amount currency } "
                "transactionId allocations { invoiceId amount { amount } }")
SUGGESTIONS = """query($invoiceId: ID) { reconciliationSuggestions(invoiceId: $invoiceId) {
  edges { node { id score signals allocations { invoiceId amount { amount currency } } } } } }"""
MATCHES = f"""query($status: String) {{ reconciliationMatches(status: $status) {{
  edges {{ node {{ {MATCH_FIELDS} }} }} pageInfo {{ hasNextPage }} }} }}"""
CREATE = f"""mutation($input: ReconciliationMatchInput!) {{
  reconciliationMatchCreate(input: $input) {{ match {{ {MATCH_FIELDS} }}
    errors {{ field code message }} }} }}"""
UNDO = f"""mutation($id: ID!) {{ reconciliationMatchUndo(id: $id) {{
  match {{ {MATCH_FIELDS} }} errors {{ field code }} }} }}"""
DISMISS = """mutation($id: ID!) { reconciliationSuggestionDismiss(id: $id) {
  dismissed errors { code } } }"""
RUN = """mutation { reconciliationRun { run { transactions matches suggestions }
  errors { code } } }"""


def gql(client: FlaskClient, tenant: TenantFixture, query: str, **variables: object) -> Any:
    response = client.post("/graphql", headers=tenant.headers,
                           json={"query": query, "variables": variables})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert "errors" not in body, body
    return body["data"]


def nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


def _two_open_and_one_payment(client: FlaskClient, tenant: TenantFixture) -> list[dict]:
    customer = create_contact(client, tenant, "Client NV", ibans=[CLIENT_IBAN])
    sent = [receivable(client, tenant, customer) for _ in range(2)]
    import_payments(client, tenant, [Paid("121.00", days(0), "Client NV", CLIENT_IBAN)])
    return sent


def test_a_suggestion_is_accepted_and_undone_through_graphql(
        client: FlaskClient, tenant_a: TenantFixture) -> None:
    # given an ambiguous payment: two suggestions
    sent = _two_open_and_one_payment(client, tenant_a)
    offered = nodes(gql(client, tenant_a, SUGGESTIONS)["reconciliationSuggestions"])
    assert len(offered) == 2 and offered[0]["score"] == offered[1]["score"]
    # when the first is accepted
    created = gql(client, tenant_a, CREATE, input={"suggestionId": offered[0]["id"]})
    payload = created["reconciliationMatchCreate"]
    assert payload["errors"] == []
    made = payload["match"]
    assert (made["kind"], made["status"], made["amount"]) == (
        "manual", "active", {"amount": "121.00", "currency": "EUR"})
    # then the payment has nothing left to suggest, and the match is listed
    assert nodes(gql(client, tenant_a, SUGGESTIONS)["reconciliationSuggestions"]) == []
    listed = nodes(gql(client, tenant_a, MATCHES, status="active")["reconciliationMatches"])
    assert [m["id"] for m in listed] == [made["id"]]
    # when undone, the invoice is open again
    undone = gql(client, tenant_a, UNDO, id=made["id"])["reconciliationMatchUndo"]
    assert undone["match"]["status"] == "undone"
    assert {client.get(f"{INVOICES}/{i['id']}", headers=tenant_a.headers).get_json()["status"]
            for i in sent} == {"open"}


def test_dismiss_and_run(client: FlaskClient, tenant_a: TenantFixture) -> None:
    _two_open_and_one_payment(client, tenant_a)
    first, _second = nodes(gql(client, tenant_a, SUGGESTIONS)["reconciliationSuggestions"])
    dismissed = gql(client, tenant_a, DISMISS, id=first["id"])
    assert dismissed["reconciliationSuggestionDismiss"] == {"dismissed": True, "errors": []}
    run = gql(client, tenant_a, RUN)["reconciliationRun"]
    assert run["run"]["matches"] == 0 and run["errors"] == []
    left = nodes(gql(client, tenant_a, SUGGESTIONS)["reconciliationSuggestions"])
    assert [s["id"] for s in left] != [first["id"]] and len(left) == 1


def test_manual_allocation_errors_are_typed(client: FlaskClient, tenant_a: TenantFixture) -> None:
    sent = _two_open_and_one_payment(client, tenant_a)
    [payment] = client.get("/api/v1/transactions", headers=tenant_a.headers).get_json()["data"]
    payload = gql(client, tenant_a, CREATE, input={
        "transactionId": encode_id("Transaction", payment["id"]),
        "allocations": [{"invoiceId": encode_id("Invoice", sent[0]["id"]),
                         "amount": "999.00"}]})["reconciliationMatchCreate"]
    assert payload["match"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [
        ("allocations[0].amount", "overpayment")]
    wrong_type = gql(client, tenant_a, CREATE, input={"transactionId": sent[0]["id"]})
    assert wrong_type["reconciliationMatchCreate"]["errors"][0]["field"] == "transactionId"


def test_another_tenant_sees_and_changes_nothing(
        client: FlaskClient, tenant_a: TenantFixture, tenant_b: TenantFixture) -> None:
    _two_open_and_one_payment(client, tenant_a)
    offered = nodes(gql(client, tenant_a, SUGGESTIONS)["reconciliationSuggestions"])
    made = gql(client, tenant_a, CREATE, input={"suggestionId": offered[0]["id"]})[
        "reconciliationMatchCreate"]["match"]
    assert nodes(gql(client, tenant_b, SUGGESTIONS)["reconciliationSuggestions"]) == []
    assert nodes(gql(client, tenant_b, MATCHES)["reconciliationMatches"]) == []
    lookup = gql(client, tenant_b, "query($id: ID!) { reconciliationMatch(id: $id) { id } }",
                 id=made["id"])
    assert lookup == {"reconciliationMatch": None}
    assert gql(client, tenant_b, UNDO, id=made["id"])["reconciliationMatchUndo"]["errors"][0][
        "code"] == "not_found"
    assert gql(client, tenant_b, DISMISS, id=offered[1]["id"])[
        "reconciliationSuggestionDismiss"]["dismissed"] is False
    taken = gql(client, tenant_b, CREATE, input={"suggestionId": offered[1]["id"]})
    assert taken["reconciliationMatchCreate"]["errors"][0]["code"] == "not_found"
    still = nodes(gql(client, tenant_a, MATCHES, status="active")["reconciliationMatches"])
    assert [m["id"] for m in still] == [made["id"]]
