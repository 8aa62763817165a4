"""Invoices through the REST door: every route's happy path, lifecycle refusals, ETag and
If-Match, validation naming the field, money as strings, exchange-rate import and
read-only viewers. (Lists: test_invoice_lists_api.py; Idempotency-Key:
test_idempotency_api.py.)"""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from smbfinance.invoices import ogm
from tests.conftest import TenantFixture
from tests.invoicing import (
    INVOICES,
    PROBLEM_JSON,
    RATES_IMPORT,
    add_member,
    create_contact,
    create_invoice,
    days,
    ecb_xml,
    error_fields,
    invoice_body,
    line,
    pay,
    today,
)

MONEY_FIELDS = ("net_total", "vat_total", "gross_total", "amount_paid", "amount_credited",
                "outstanding", "gross_total_base")


@pytest.fixture()
def contact(client: FlaskClient, tenant_a: TenantFixture) -> dict[str, Any]:
    return create_contact(client, tenant_a, "Client NV")


def url(invoice: dict[str, Any], action: str = "") -> str:
    return f"{INVOICES}/{invoice['id']}{'/' + action if action else ''}"


def assert_money(value: dict[str, Any], amount: str, currency: str = "EUR") -> None:
    assert value == {"amount": amount, "currency": currency}
    assert isinstance(value["amount"], str)


# --------------------------------------------------------------------------- create and read


def test_create_returns_the_invoice_with_totals_number_ogm_and_etag(
        client: FlaskClient, tenant_a: TenantFixture, contact: dict[str, Any]) -> None:
    # given two lines: 3 × 33.335 (→ 100.01) at 21 % and 20.00 at 6 %
    body = invoice_body(contact["id"], issue_date="2025-03-03", due_date="2025-04-02",
                        lines=[line("33.335", quantity="3"), line("20.00", vat_rate="6")],
                        notes="Thanks!")
    # when the invoice is created
    response = client.post(INVOICES, headers=tenant_a.headers, json=body)
    # then 201 with the version as ETag
    assert response.status_code == 201, response.get_json()
    assert response.headers["ETag"] == '"1"'
    invoice = response.get_json()
    assert invoice["object"] == "invoice" and invoice["status"] == "draft"
    assert invoice["number"] == "INV-2025-00001"
    assert invoice["contact"] == {"id": contact["id"], "name": "Client NV"}
    # and a generated structured communication in its usual +++ form
    assert invoice["payment_reference"].startswith("+++")
    assert ogm.is_valid(invoice["payment_reference"])
    # and every amount is a string with its currency
    assert_money(invoice["net_total"], "120.01")
    assert_money(invoice["vat_total"], "22.20")
    assert_money(invoice["gross_total"], "142.21")
    assert_money(invoice["outstanding"], "142.21")
    assert_money(invoice["amount_paid"], "0.00")
    assert_money(invoice["gross_total_base"], "142.21")
    assert invoice["exchange_rate"] == "1.0000000000"
    assert [x["net_amount"] for x in invoice["lines"]] == [
        {"amount": "100.01", "currency": "EUR"}, {"amount": "20.00", "currency": "EUR"}]
    assert invoice["lines"][0]["unit_price"] == "33.335"
    assert (invoice["urgency"], invoice["urgency_source"], invoice["overdue"]) == (
        None, None, False)
    # when read back / then the same invoice with the same ETag
    read = client.get(url(invoice), headers=tenant_a.headers)
    assert read.status_code == 200 and read.headers["ETag"] == '"1"'
    assert read.get_json() == invoice


def test_create_with_document_allowances_and_open_at_once(
        client: FlaskClient, tenant_a: TenantFixture, contact: dict[str, Any]) -> None:
    invoice = create_invoice(client, tenant_a, contact["id"], open=True,
                             due_date=days(2), lines=[line("200.00")],
                             adjustments=[{"amount": "20.00", "reason": "loyalty"},
                                          {"amount": "10.00", "is_charge": True}])
    assert invoice["status"] == "open" and invoice["version"] == 2
    assert_money(invoice["net_total"], "190.00")
    assert_money(invoice["gross_total"], "229.90")
    assert [a["amount"]["amount"] for a in invoice["adjustments"]] == ["20.00", "10.00"]
    # and an open invoice due in two days is critical
    assert (invoice["urgency"], invoice["urgency_source"]) == (2, "computed")


def test_unknown_invoice_is_not_found(client: FlaskClient, tenant_a: TenantFixture) -> None:
    response = client.get(f"{INVOICES}/{uuid.uuid4()}", headers=tenant_a.headers)
    assert response.status_code == 404 and response.mimetype == PROBLEM_JSON
    assert client.get(f"{INVOICES}/not-a-uuid", headers=tenant_a.headers).status_code == 404


# --------------------------------------------------------------------------- change


def test_patch_a_draft_with_if_match(client: FlaskClient, tenant_a: TenantFixture,
                                     contact: dict[str, Any]) -> None:
    invoice = create_invoice(client, tenant_a, contact["id"])
    # when its lines change with the ETag that was read
    response = client.patch(url(invoice), headers={**tenant_a.headers, "If-Match": '"1"'},
                             json={"lines": [line("50.00", quantity="2")], "notes": "v2"})
    # then totals follow and the ETag moves on
    assert response.status_code == 200, response.get_json()
    assert response.headers["ETag"] == '"2"'
    assert_money(response.get_json()["gross_total"], "121.00")
    assert response.get_json()["lines"][0]["quantity"] == "2"
    # when someone writes with the old ETag / then 412 problem+json and nothing changes
    stale = client.patch(url(invoice), headers={**tenant_a.headers, "If-Match": '"1"'},
                         json={"notes": "lost update"})
    assert stale.status_code == 412 and stale.mimetype == PROBLEM_JSON
    assert stale.get_json()["type"].endswith("/precondition-failed")
    assert client.get(url(invoice), headers=tenant_a.headers).get_json()["notes"] == "v2"
    # when the If-Match is malformed / then 422 naming it
    for header in ("2", '"two"', '"2", "3"'):
        malformed = client.patch(url(invoice), headers={**tenant_a.headers,
                                                         "If-Match": header},
                                 json={"notes": "x"})
        assert malformed.status_code == 422, header
        assert error_fields(malformed) == {"If-Match"}


def test_an_open_invoice_only_changes_due_date_notes_and_payment_account(
        client: FlaskClient, tenant_a: TenantFixture, contact: dict[str, Any]) -> None:
    invoice = create_invoice(client, tenant_a, contact["id"], open=True)
    allowed = client.patch(url(invoice), headers=tenant_a.headers,
                           json={"due_date": days(60), "notes": "agreed",
                                 "payment_iban": "BE68539007547034"})
    assert allowed.status_code == 200, allowed.get_json()
    assert allowed.get_json()["due_date"] == days(60)
    refused = client.patch(url(invoice), headers=tenant_a.headers,
                           json={"lines": [line("1.00")]})
    assert refused.status_code == 409 and refused.mimetype == PROBLEM_JSON
    assert refused.get_json()["field"] == "lines"


def test_open_then_refuse_opening_twice(client: FlaskClient, tenant_a: TenantFixture,
                                        contact: dict[str, Any]) -> None:
    invoice = create_invoice(client, tenant_a, contact["id"], due_date=days(20))
    response = client.post(url(invoice, "open"), headers=tenant_a.headers)
    assert response.status_code == 200, response.get_json()
    assert response.headers["ETag"] == '"2"'
    assert response.get_json()["status"] == "open"
    assert response.get_json()["urgency"] == 4
    again = client.post(url(invoice, "open"), headers=tenant_a.headers)
    assert again.status_code == 409 and again.get_json()["type"].endswith("/conflict")


def test_payments_until_paid_and_no_overpayment(client: FlaskClient, tenant_a: TenantFixture,
                                                contact: dict[str, Any]) -> None:
    invoice = create_invoice(client, tenant_a, contact["id"], open=True)
    # when part is paid / then partially paid, with a new ETag
    response = client.post(url(invoice, "payments"), headers=tenant_a.headers,
                           json={"amount": "21.00", "paid_on": today().isoformat(),
                                 "reference": "bank 1"})
    assert response.status_code == 200, response.get_json()
    assert response.headers["ETag"] == '"3"'
    assert response.get_json()["status"] == "partially_paid"
    assert_money(response.get_json()["outstanding"], "100.00")
    # when more than what is outstanding is paid / then 422 naming the amount
    over = client.post(url(invoice, "payments"), headers=tenant_a.headers,
                       json={"amount": "100.01", "paid_on": today().isoformat()})
    assert over.status_code == 422 and error_fields(over) == {"amount"}
    # when an amount has too many places or is a JSON number / then 422 naming it
    for amount in ("1.001", 1.5):
        bad = client.post(url(invoice, "payments"), headers=tenant_a.headers,
                          json={"amount": amount, "paid_on": today().isoformat()})
        assert bad.status_code == 422 and error_fields(bad) == {"amount"}
    # when the rest is paid / then paid, no urgency, nothing outstanding
    paid = pay(client, tenant_a, invoice["id"], "100.00")
    assert (paid["status"], paid["urgency"], paid["outstanding"]["amount"]) == (
        "paid", None, "0.00")
    assert paid["paid_at"] is not None
    # and a paid invoice cannot be cancelled, changed or deleted
    assert client.post(url(invoice, "cancel"), headers=tenant_a.headers).status_code == 409
    assert client.patch(url(invoice), headers=tenant_a.headers,
                        json={"notes": "x"}).status_code == 409
    assert client.delete(url(invoice), headers=tenant_a.headers).status_code == 409


def test_cancel_then_delete(client: FlaskClient, tenant_a: TenantFixture,
                            contact: dict[str, Any]) -> None:
    invoice = create_invoice(client, tenant_a, contact["id"], open=True)
    # when an open invoice is deleted / then refused: cancel it first
    assert client.delete(url(invoice), headers=tenant_a.headers).status_code == 409
    # when it is cancelled with a stale ETag / then 412
    stale = client.post(url(invoice, "cancel"), headers={**tenant_a.headers, "If-Match": '"1"'})
    assert stale.status_code == 412
    cancelled = client.post(url(invoice, "cancel"), headers={**tenant_a.headers,
                                                              "If-Match": '"2"'})
    assert cancelled.status_code == 200, cancelled.get_json()
    assert cancelled.get_json()["status"] == "cancelled"
    assert cancelled.headers["ETag"] == '"3"'
    # when the cancelled invoice is deleted / then it is gone
    assert client.delete(url(invoice), headers=tenant_a.headers).status_code == 204
    assert client.get(url(invoice), headers=tenant_a.headers).status_code == 404
    assert client.get(INVOICES, headers=tenant_a.headers).get_json()["data"] == []


def test_a_draft_is_deleted_and_a_partially_paid_one_is_not_cancelled(
        client: FlaskClient, tenant_a: TenantFixture, contact: dict[str, Any]) -> None:
    draft = create_invoice(client, tenant_a, contact["id"])
    stale = client.delete(url(draft), headers={**tenant_a.headers, "If-Match": '"7"'})
    assert stale.status_code == 412
    assert client.delete(url(draft), headers=tenant_a.headers).status_code == 204
    partly = create_invoice(client, tenant_a, contact["id"], open=True)
    pay(client, tenant_a, partly["id"], "1.00")
    assert client.post(url(partly, "cancel"), headers=tenant_a.headers).status_code == 409


def test_manual_urgency_set_and_cleared(client: FlaskClient, tenant_a: TenantFixture,
                                        contact: dict[str, Any]) -> None:
    invoice = create_invoice(client, tenant_a, contact["id"], open=True, due_date=days(60))
    assert invoice["urgency"] == 5
    # when set by hand / then it overrides, and says so
    response = client.put(url(invoice, "urgency"), headers=tenant_a.headers,
                          json={"urgency": 1})
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["urgency"], response.get_json()["urgency_source"]) == (
        1, "manual")
    assert response.headers["ETag"] == '"3"'
    # when cleared / then the computed urgency is back
    cleared = client.put(url(invoice, "urgency"), headers=tenant_a.headers,
                         json={"urgency": None})
    assert (cleared.get_json()["urgency"], cleared.get_json()["urgency_source"]) == (
        5, "computed")
    # when out of range or missing / then 422 naming the field
    for body in ({"urgency": 6}, {"urgency": 0}, {}):
        bad = client.put(url(invoice, "urgency"), headers=tenant_a.headers, json=body)
        assert bad.status_code == 422 and error_fields(bad) == {"urgency"}


# --------------------------------------------------------------------------- credit notes


def test_a_credit_note_reduces_the_corrected_invoice(client: FlaskClient,
                                                     tenant_a: TenantFixture,
                                                     contact: dict[str, Any]) -> None:
    invoice = create_invoice(client, tenant_a, contact["id"], open=True)
    credit = create_invoice(client, tenant_a, contact["id"], kind="credit_note",
                            corrects_invoice_id=invoice["id"], lines=[line("20.00")],
                            open=True)
    assert credit["kind"] == "credit_note" and credit["status"] == "paid"
    corrected = client.get(url(invoice), headers=tenant_a.headers).get_json()
    assert_money(corrected["amount_credited"], "24.20")
    assert_money(corrected["outstanding"], "96.80")
    assert corrected["status"] == "partially_paid"


# --------------------------------------------------------------------------- validation


VALIDATION_CASES: list[tuple[dict[str, Any], str]] = [
    ({"lines": [line("1.2.3")]}, "lines.0.unit_price"),
    ({"lines": [line(12.5)]}, "lines.0.unit_price"),           # a JSON number, not a string
    ({"lines": [line("1.00"), line("1.0000001")]}, "lines.1.unit_price"),
    ({"lines": [line("1.00", quantity="abc")]}, "lines.0.quantity"),
    ({"lines": [line("1.00", vat_rate="121")]}, "lines.0.vat_rate"),
    ({"lines": [line("1.00", allowance="1.005")]}, "lines.0.allowance"),
    ({"lines": [line("1.00", description=" ")]}, "lines.0.description"),
    ({"lines": []}, "lines"),
    ({"adjustments": [{"amount": "-5.00"}]}, "adjustments.0.amount"),
    ({"currency": "XYZ"}, "currency"),
    ({"currency": "EURO"}, "currency"),
    ({"currency": "GBP"}, "currency"),                           # no exchange rate
    ({"payment_reference": "+++090/9337/55494+++"}, "payment_reference"),
    ({"payment_reference": "090/9337/55400"}, "payment_reference"),
    ({"contact_id": str(uuid.uuid4())}, "contact_id"),
    ({"contact_id": "nope"}, "contact_id"),
    ({"issue_date": "2025-03-10", "due_date": "2025-03-09"}, "due_date"),
    ({"direction": "sideways"}, "direction"),
    ({"direction": "payable"}, "number"),                         # the supplier's number
    ({"kind": "proforma"}, "kind"),
    ({"corrects_invoice_id": str(uuid.uuid4())}, "corrects_invoice_id"),
    ({"colour": "blue"}, "colour"),
]


def test_validation_errors_name_the_field(client: FlaskClient, tenant_a: TenantFixture,
                                          contact: dict[str, Any]) -> None:
    for change, field in VALIDATION_CASES:
        # given an otherwise valid invoice with one thing wrong
        # when it is created
        response = client.post(INVOICES, headers=tenant_a.headers,
                               json=invoice_body(contact["id"], **change))
        # then 422 problem+json names exactly that field
        assert response.status_code == 422, (change, response.get_json())
        assert response.get_json()["type"].endswith("/validation-error")
        assert error_fields(response) == {field}, change
    # and nothing was created
    assert client.get(INVOICES, headers=tenant_a.headers).get_json()["data"] == []


def test_several_errors_are_reported_together(client: FlaskClient, tenant_a: TenantFixture,
                                              contact: dict[str, Any]) -> None:
    response = client.post(INVOICES, headers=tenant_a.headers, json=invoice_body(
        contact["id"], currency="JPY", payment_reference="+++090/9337/55494+++",
        lines=[line("100", allowance="0.5"), line("100", vat_rate="-1")]))
    assert response.status_code == 422
    assert error_fields(response) == {"payment_reference", "lines.0.allowance",
                                      "lines.1.vat_rate"}


def test_a_body_that_is_not_json_is_refused(client: FlaskClient, tenant_a: TenantFixture) -> None:
    response = client.post(INVOICES, headers=tenant_a.headers, data="direction=receivable",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and response.mimetype == PROBLEM_JSON


# --------------------------------------------------------------------------- exchange rates


def test_import_rates_then_invoice_in_dollars(client: FlaskClient, tenant_a: TenantFixture,
                                              contact: dict[str, Any]) -> None:
    # given ECB rates for the two business days before a weekend
    data = ecb_xml({"2025-03-07": {"USD": "1.0807", "JPY": "160.02"},
                    "2025-03-06": {"USD": "1.0785"}})
    # when the file is uploaded as multipart `file`
    response = client.post(RATES_IMPORT, headers=tenant_a.headers,
                           data={"file": (io.BytesIO(data), "eurofxref.xml")},
                           content_type="multipart/form-data")
    # then the rates are stored
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"days": 2, "rates": 3, "first_day": "2025-03-06",
                                   "last_day": "2025-03-07"}
    # and a dollar invoice issued on the Saturday is valued at Friday's rate
    invoice = create_invoice(client, tenant_a, contact["id"], currency="USD",
                             issue_date="2025-03-08", due_date="2025-04-07",
                             lines=[line("89.31")])
    assert_money(invoice["gross_total"], "108.07", "USD")
    assert_money(invoice["gross_total_base"], "100.00", "EUR")
    assert invoice["exchange_rate"] == "0.9253261775"
    assert invoice["exchange_rate_date"] == "2025-03-07"
    # and re-importing the same file changes nothing and duplicates nothing
    again = client.post(RATES_IMPORT, headers=tenant_a.headers,
                        data={"file": (io.BytesIO(data), "again.xml")},
                        content_type="multipart/form-data")
    assert again.status_code == 200 and again.get_json()["rates"] == 3


def test_a_broken_rates_file_is_refused_naming_file(client: FlaskClient,
                                                    tenant_a: TenantFixture) -> None:
    for content in (b"", b"<notecb/>", b"hello"):
        response = client.post(RATES_IMPORT, headers=tenant_a.headers,
                               data={"file": (io.BytesIO(content), "rates.xml")},
                               content_type="multipart/form-data")
        assert response.status_code == 422, (content, response.get_json())
        assert error_fields(response) == {"file"}, content
    # and a form without the file part
    response = client.post(RATES_IMPORT, headers=tenant_a.headers, data={},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert error_fields(response) == {"file"}


# --------------------------------------------------------------------------- roles


def test_a_viewer_reads_but_cannot_write(client: FlaskClient, tenant_a: TenantFixture,
                                         contact: dict[str, Any]) -> None:
    # given an open invoice and a viewer
    invoice = create_invoice(client, tenant_a, contact["id"], open=True)
    viewer = add_member(client, tenant_a, "viewer")
    # when the viewer reads / then allowed
    assert client.get(INVOICES, headers=viewer.headers).get_json()["data"][0]["id"] == \
        invoice["id"]
    assert client.get(url(invoice), headers=viewer.headers).status_code == 200
    # when the viewer writes anything / then 403
    paid_on = today().isoformat()
    attempts = [
        client.post(INVOICES, headers=viewer.headers, json=invoice_body(contact["id"])),
        client.patch(url(invoice), headers=viewer.headers, json={"notes": "x"}),
        client.delete(url(invoice), headers=viewer.headers),
        client.post(url(invoice, "open"), headers=viewer.headers),
        client.post(url(invoice, "payments"), headers=viewer.headers,
                    json={"amount": "1.00", "paid_on": paid_on}),
        client.post(url(invoice, "cancel"), headers=viewer.headers),
        client.put(url(invoice, "urgency"), headers=viewer.headers, json={"urgency": 1}),
        client.post(RATES_IMPORT, headers=viewer.headers,
                    data={"file": (io.BytesIO(ecb_xml({"2025-03-07": {"USD": "1.08"}})),
                                   "r.xml")},
                    content_type="multipart/form-data"),
    ]
    for response in attempts:
        assert response.status_code == 403, response.request.path
        assert response.get_json()["type"].endswith("/forbidden")
    # and nothing changed
    assert client.get(url(invoice), headers=tenant_a.headers).get_json() == invoice
    assert len(client.get(INVOICES, headers=tenant_a.headers).get_json()["data"]) == 1


def test_an_accountant_can_write(client: FlaskClient, tenant_a: TenantFixture,
                                 contact: dict[str, Any]) -> None:
    accountant = add_member(client, tenant_a, "accountant")
    created = client.post(INVOICES, headers=accountant.headers,
                          json=invoice_body(contact["id"]))
    assert created.status_code == 201, created.get_json()


def test_invoices_need_a_token(client: FlaskClient) -> None:
    assert client.get(INVOICES).status_code == 401
    assert client.post(INVOICES, json=invoice_body(str(uuid.uuid4()))).status_code == 401
    assert client.get(f"{INVOICES}/{uuid.uuid4()}").status_code == 401
