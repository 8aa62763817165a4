"""Reconciliation through the REST door: an import matches what is certain, suggests what
is likely, and a person can match by hand, accept, dismiss and undo."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import TenantFixture
from tests.invoicing import INVOICES, add_member, create_contact, create_invoice, days, line
from tests.reconciling import (
    MATCHES,
    RUNS,
    SUGGESTIONS,
    Paid,
    import_payments,
    matches,
    suggestions,
    transactions,
)

CLIENT_IBAN = "BE71096123456769"
SUPPLIER_IBAN = "NL91ABNA0417164300"


@pytest.fixture()
def customer(client: FlaskClient, tenant_a: TenantFixture) -> dict[str, Any]:
    return create_contact(client, tenant_a, "Client NV", ibans=[CLIENT_IBAN])


def receivable(client: FlaskClient, tenant: TenantFixture, contact: dict[str, Any],
               price: str = "100.00", **extra: Any) -> dict[str, Any]:
    """An open receivable of price + 21% VAT, due in ten days."""
    return create_invoice(client, tenant, contact["id"], open=True, due_date=days(10),
                          lines=[line(price)], **extra)


def invoice(client: FlaskClient, tenant: TenantFixture, invoice_id: str) -> dict[str, Any]:
    response = client.get(f"{INVOICES}/{invoice_id}", headers=tenant.headers)
    assert response.status_code == 200
    return response.get_json()


def only_transaction(client: FlaskClient, tenant: TenantFixture) -> dict[str, Any]:
    [found] = transactions(client, tenant)
    return found


def test_an_exact_structured_reference_is_matched_on_import(
        client: FlaskClient, tenant_a: TenantFixture, customer: dict[str, Any]) -> None:
    # given an open invoice of 121.00 with its OGM
    sent = receivable(client, tenant_a, customer)
    # when a statement brings 121.00 with that OGM
    import_payments(client, tenant_a, [Paid("121.00", days(0), "Client NV", CLIENT_IBAN,
                                            ogm=sent["payment_reference"])])
    # then the invoice is paid by an automatic, certain match with its evidence
    assert invoice(client, tenant_a, sent["id"])["status"] == "paid"
    [made] = matches(client, tenant_a)
    assert (made["kind"], made["status"], made["certain"]) == ("automatic", "active", True)
    assert "structured_reference" in made["signals"]
    assert made["amount"] == {"amount": "121.00", "currency": "EUR"}
    assert [(a["invoice_id"], a["amount"]["amount"]) for a in made["allocations"]] == [
        (sent["id"], "121.00")]
    assert made["transaction_id"] == only_transaction(client, tenant_a)["id"]
    assert suggestions(client, tenant_a) == []


def test_a_partial_payment_leaves_the_rest_outstanding(
        client: FlaskClient, tenant_a: TenantFixture, customer: dict[str, Any]) -> None:
    sent = receivable(client, tenant_a, customer)
    import_payments(client, tenant_a, [Paid("50.00", days(0), ogm=sent["payment_reference"])])
    after = invoice(client, tenant_a, sent["id"])
    assert after["status"] == "partially_paid"
    assert after["outstanding"]["amount"] == "71.00"


def test_reimporting_the_same_file_changes_nothing(
        client: FlaskClient, tenant_a: TenantFixture, customer: dict[str, Any]) -> None:
    sent = receivable(client, tenant_a, customer)
    payments = [Paid("121.00", days(0), ogm=sent["payment_reference"])]
    import_payments(client, tenant_a, payments)
    second = import_payments(client, tenant_a, payments)
    assert second["counts"]["created"] == 0
    assert len(matches(client, tenant_a)) == 1
    assert invoice(client, tenant_a, sent["id"])["amount_paid"]["amount"] == "121.00"


def test_a_payment_against_the_invoice_direction_is_never_applied(
        client: FlaskClient, tenant_a: TenantFixture, customer: dict[str, Any]) -> None:
    # given a receivable; when the same amount and its OGM leave the account
    sent = receivable(client, tenant_a, customer)
    import_payments(client, tenant_a, [Paid("-121.00", days(0), ogm=sent["payment_reference"])])
    # then nothing is matched and the invoice stays open
    assert matches(client, tenant_a) == []
    assert invoice(client, tenant_a, sent["id"])["status"] == "open"


def test_an_ambiguous_payment_is_only_suggested(
        client: FlaskClient, tenant_a: TenantFixture, customer: dict[str, Any]) -> None:
    # given two open invoices of the same amount for the same customer
    first, second = (receivable(client, tenant_a, customer) for _ in range(2))
    # when the customer pays that amount once, naming neither
    import_payments(client, tenant_a, [Paid("121.00", days(0), "Client NV", CLIENT_IBAN)])
    # then nothing is applied and both are offered with the evidence
    assert matches(client, tenant_a) == []
    offered = suggestions(client, tenant_a)
    assert {s["allocations"][0]["invoice_id"] for s in offered} == {first["id"], second["id"]}
    assert all({"amount_exact", "contact_iban"} <= set(s["signals"]) for s in offered)
    assert offered[0]["score"] == offered[1]["score"]


def test_a_grouped_payment_is_suggested_then_accepted(
        client: FlaskClient, tenant_a: TenantFixture, customer: dict[str, Any]) -> None:
    # given two invoices of 121.00 and 242.00 for one customer
    small = receivable(client, tenant_a, customer, "100.00")
    large = receivable(client, tenant_a, customer, "200.00")
    # when 363.00 arrives from the customer's IBAN, well before the due date: a group
    # known by its IBAN and sum only (0.30 + 0.45 − 0.05), below the 0.90 threshold
    import_payments(client, tenant_a, [Paid("363.00", days(-25), iban=CLIENT_IBAN)])
    assert matches(client, tenant_a) == []
    [group] = suggestions(client, tenant_a)
    assert (group["score"], group["signals"]) == ("0.70", ["amount_exact", "contact_iban"])
    assert {(a["invoice_id"], a["amount"]["amount"]) for a in group["allocations"]} == {
        (small["id"], "121.00"), (large["id"], "242.00")}
    # and the suggestion is accepted
    response = client.post(MATCHES, headers=tenant_a.headers,
                           json={"suggestion_id": group["id"]})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["kind"] == "manual"
    # then both invoices are paid and nothing is left to suggest
    assert {invoice(client, tenant_a, i["id"])["status"] for i in (small, large)} == {"paid"}
    assert suggestions(client, tenant_a) == []


def test_a_manual_match_settles_several_invoices_and_undo_restores_them(
        client: FlaskClient, tenant_a: TenantFixture, customer: dict[str, Any]) -> None:
    first = receivable(client, tenant_a, customer)
    second = receivable(client, tenant_a, customer, "200.00")
    import_payments(client, tenant_a, [Paid("200.00", days(0), "Someone else")])
    paying = only_transaction(client, tenant_a)
    # when a person allocates 121.00 and 79.00 of the payment
    response = client.post(MATCHES, headers=tenant_a.headers, json={
        "transaction_id": paying["id"],
        "allocations": [{"invoice_id": first["id"], "amount": "121.00"},
                        {"invoice_id": second["id"], "amount": "79.00"}]})
    assert response.status_code == 201, response.get_json()
    made = response.get_json()
    assert invoice(client, tenant_a, first["id"])["status"] == "paid"
    assert invoice(client, tenant_a, second["id"])["outstanding"]["amount"] == "163.00"
    assert matches(client, tenant_a, f"invoice_id={second['id']}")[0]["id"] == made["id"]
    # when it is undone
    undone = client.delete(f"{MATCHES}/{made['id']}", headers=tenant_a.headers)
    assert undone.status_code == 200
    assert undone.get_json()["status"] == "undone" and undone.get_json()["undone_at"]
    # then both invoices are as they were, and undoing twice is a conflict
    assert invoice(client, tenant_a, first["id"])["status"] == "open"
    assert invoice(client, tenant_a, second["id"])["outstanding"]["amount"] == "242.00"
    assert client.delete(f"{MATCHES}/{made['id']}",
                         headers=tenant_a.headers).status_code == 409
    assert matches(client, tenant_a, "status=active") == []


def test_an_undone_automatic_match_is_not_made_again(
        client: FlaskClient, tenant_a: TenantFixture, customer: dict[str, Any]) -> None:
    sent = receivable(client, tenant_a, customer)
    import_payments(client, tenant_a, [Paid("121.00", days(0), ogm=sent["payment_reference"])])
    [made] = matches(client, tenant_a)
    assert client.delete(f"{MATCHES}/{made['id']}", headers=tenant_a.headers).status_code == 200
    # when matching runs again
    run = client.post(RUNS, headers=tenant_a.headers, json={})
    assert run.status_code == 200 and run.get_json()["matches"] == 0
    # then the invoice stays open and the pair is offered for review instead
    assert invoice(client, tenant_a, sent["id"])["status"] == "open"
    [offered] = suggestions(client, tenant_a)
    assert offered["allocations"] == [
        {"invoice_id": sent["id"], "amount": {"amount": "121.00", "currency": "EUR"}}]


def test_a_run_on_demand_matches_invoices_opened_after_the_payment(
        client: FlaskClient, tenant_a: TenantFixture, customer: dict[str, Any]) -> None:
    draft = create_invoice(client, tenant_a, customer["id"], due_date=days(10))
    import_payments(client, tenant_a, [Paid("121.00", days(0),
                                            ogm=draft["payment_reference"])])
    assert matches(client, tenant_a) == []  # a draft is not owed yet
    opened = client.post(f"{INVOICES}/{draft['id']}/open", headers=tenant_a.headers)
    assert opened.status_code == 200, opened.get_json()
    first = client.post(RUNS, headers=tenant_a.headers, json={}).get_json()
    second = client.post(RUNS, headers=tenant_a.headers, json={}).get_json()
    assert (first["matches"], second["matches"], second["transactions"]) == (1, 0, 0)
    assert invoice(client, tenant_a, draft["id"])["status"] == "paid"


def test_a_dismissed_suggestion_stays_dismissed(
        client: FlaskClient, tenant_a: TenantFixture, customer: dict[str, Any]) -> None:
    receivable(client, tenant_a, customer)
    receivable(client, tenant_a, customer)
    import_payments(client, tenant_a, [Paid("121.00", days(0), "Client NV", CLIENT_IBAN)])
    first, second = suggestions(client, tenant_a)
    assert client.delete(f"{SUGGESTIONS}/{first['id']}",
                         headers=tenant_a.headers).status_code == 204
    client.post(RUNS, headers=tenant_a.headers, json={})
    assert [s["allocations"] for s in suggestions(client, tenant_a)] == [second["allocations"]]
    assert client.delete(f"{SUGGESTIONS}/{first['id']}",
                         headers=tenant_a.headers).status_code == 404


@pytest.mark.parametrize(("allocation", "field", "code"), [
    ({"amount": "121.01"}, "allocations[0].amount", "overpayment"),
    ({"amount": "0"}, "allocations[0].amount", "invalid"),
    ({"amount": "1.001"}, "allocations[0].amount", "invalid"),
    ({"invoice_id": "00000000-0000-7000-8000-000000000000"}, "allocations[0].invoice_id",
     "not_found"),
])
def test_a_manual_match_names_the_wrong_allocation(
        client: FlaskClient, tenant_a: TenantFixture, customer: dict[str, Any],
        allocation: dict[str, str], field: str, code: str) -> None:
    sent = receivable(client, tenant_a, customer)
    import_payments(client, tenant_a, [Paid("500.00", days(0))])
    paying = only_transaction(client, tenant_a)
    response = client.post(MATCHES, headers=tenant_a.headers, json={
        "transaction_id": paying["id"],
        "allocations": [{"invoice_id": sent["id"], "amount": "121.00", **allocation}]})
    assert response.status_code == 422, response.get_json()
    assert [(e["field"], e["code"]) for e in response.get_json()["errors"]] == [(field, code)]
    assert invoice(client, tenant_a, sent["id"])["status"] == "open"


def test_a_manual_match_refuses_more_than_the_payment_and_the_wrong_direction(
        client: FlaskClient, tenant_a: TenantFixture, customer: dict[str, Any]) -> None:
    sent = receivable(client, tenant_a, customer)
    import_payments(client, tenant_a, [Paid("100.00", days(0)), Paid("-121.00", days(0))])
    incoming, outgoing = sorted(transactions(client, tenant_a),
                                key=lambda t: Decimal(t["amount"]["amount"]), reverse=True)
    too_much = client.post(MATCHES, headers=tenant_a.headers, json={
        "transaction_id": incoming["id"],
        "allocations": [{"invoice_id": sent["id"], "amount": "121.00"}]})
    wrong_way = client.post(MATCHES, headers=tenant_a.headers, json={
        "transaction_id": outgoing["id"],
        "allocations": [{"invoice_id": sent["id"], "amount": "121.00"}]})
    assert too_much.status_code == wrong_way.status_code == 422
    assert too_much.get_json()["errors"][0]["code"] == "overallocation"
    assert wrong_way.get_json()["errors"][0]["code"] == "direction_mismatch"
    assert matches(client, tenant_a) == []


def test_a_viewer_reads_but_cannot_match(
        client: FlaskClient, tenant_a: TenantFixture, customer: dict[str, Any]) -> None:
    viewer = add_member(client, tenant_a, "viewer")
    assert client.get(MATCHES, headers=viewer.headers).status_code == 200
    response = client.post(RUNS, headers=viewer.headers, json={})
    assert response.status_code == 403


def test_another_tenant_sees_and_touches_nothing(
        client: FlaskClient, tenant_a: TenantFixture, tenant_b: TenantFixture,
        customer: dict[str, Any]) -> None:
    # given A's automatic match, A's suggestion, A's transaction and invoice
    sent = receivable(client, tenant_a, customer)
    receivable(client, tenant_a, customer, "300.00")
    receivable(client, tenant_a, customer, "300.00")
    import_payments(client, tenant_a, [
        Paid("121.00", days(0), ogm=sent["payment_reference"]),
        Paid("363.00", days(-25), iban=CLIENT_IBAN)])
    [made] = matches(client, tenant_a)
    offered = suggestions(client, tenant_a)
    assert offered
    paying = next(t for t in transactions(client, tenant_a) if t["amount"]["amount"] == "363.00")
    # then B lists nothing, reads nothing, undoes and dismisses nothing
    assert matches(client, tenant_b) == [] and suggestions(client, tenant_b) == []
    assert client.get(f"{MATCHES}/{made['id']}", headers=tenant_b.headers).status_code == 404
    assert client.delete(f"{MATCHES}/{made['id']}", headers=tenant_b.headers).status_code == 404
    assert client.delete(f"{SUGGESTIONS}/{offered[0]['id']}",
                         headers=tenant_b.headers).status_code == 404
    # and cannot use A's suggestion, transaction or invoice in a match of its own
    for body in ({"suggestion_id": offered[0]["id"]},
                 {"transaction_id": paying["id"],
                  "allocations": [{"invoice_id": sent["id"], "amount": "1.00"}]}):
        response = client.post(MATCHES, headers=tenant_b.headers, json=body)
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["errors"][0]["code"] == "not_found"
    assert client.post(RUNS, headers=tenant_b.headers, json={}).get_json()["transactions"] == 0
    # and A's match is intact
    assert matches(client, tenant_a, "status=active")[0]["id"] == made["id"]


def test_matching_and_undo_are_events_with_the_match_as_shown(
        app: Any, client: FlaskClient, tenant_a: TenantFixture,
        customer: dict[str, Any]) -> None:
    from tests.api.test_events_api import publish

    # given an automatic match that is then undone
    sent = receivable(client, tenant_a, customer)
    import_payments(client, tenant_a, [Paid("121.00", days(0), ogm=sent["payment_reference"])])
    [made] = matches(client, tenant_a)
    undone = client.delete(f"{MATCHES}/{made['id']}", headers=tenant_a.headers).get_json()
    publish(app, tenant_a)
    # when the feed is read for reconciliation and invoice changes
    feed = client.get("/api/v1/events?types=reconciliation.matched,reconciliation.unmatched,"
                      "invoice.paid,invoice.updated&limit=200",
                      headers=tenant_a.headers).get_json()["data"]
    # then the match, the payment, the undo and the reopened invoice are there, in order,
    # each carrying the object as the API showed it then
    assert [e["type"] for e in feed] == ["invoice.paid", "reconciliation.matched",
                                         "invoice.updated", "reconciliation.unmatched"]
    assert feed[1]["data"] == made and feed[3]["data"] == undone
    assert feed[0]["data"]["status"] == "paid" and feed[2]["data"]["status"] == "open"


def test_payments_are_matched_page_by_page(
        monkeypatch: pytest.MonkeyPatch, client: FlaskClient, tenant_a: TenantFixture,
        customer: dict[str, Any]) -> None:
    from smbfinance.reconciliation import service

    # given pages of one transaction, and three payments of which two settle invoices
    monkeypatch.setattr(service, "PAGE", 1)
    first, second = (receivable(client, tenant_a, customer) for _ in range(2))
    import_payments(client, tenant_a, [
        Paid("121.00", days(0), ogm=first["payment_reference"]),
        Paid("55.00", days(0), text="unrelated"),
        Paid("121.00", days(0), ogm=second["payment_reference"])])
    # then every page was matched, against invoices read again after each settlement
    assert {invoice(client, tenant_a, i["id"])["status"] for i in (first, second)} == {"paid"}
    assert len(matches(client, tenant_a)) == 2


def test_nothing_owed_means_nothing_read(client: FlaskClient, tenant_a: TenantFixture) -> None:
    import_payments(client, tenant_a, [Paid("10.00", days(0)), Paid("-5.00", days(0))])
    run = client.post(RUNS, headers=tenant_a.headers, json={}).get_json()
    assert (run["transactions"], run["matches"], run["suggestions"]) == (0, 0, 0)
