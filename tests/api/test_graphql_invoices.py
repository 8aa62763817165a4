"""GraphQL face of invoices: the list with the REST filters and Relay pagination, one
invoice and node(id), every lifecycle mutation with its payload errors, tenant isolation,
and the number of SQL statements a page costs."""

from __future__ import annotations

import base64
import re
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from smbfinance.auth.models import Role
from smbfinance.auth.permissions import Actor
from smbfinance.contacts import service as contacts_service
from smbfinance.invoices import service as invoices_service
from smbfinance.tenancy import tenant_scope

INVOICE_FIELDS = """
  id number direction kind status overdue urgency urgencySource issueDate dueDate currency
  paymentReference exchangeRate version notes createdAt updatedAt
  netTotal { amount currency } vatTotal { amount currency } grossTotal { amount currency }
  amountPaid { amount currency } amountCredited { amount currency }
  outstanding { amount currency } grossTotalBase { amount currency }
  contact { id name }
  lines { position description quantity unitCode unitPrice vatRate vatCategory
          allowance { amount currency } charge { amount currency }
          netAmount { amount currency } }
"""
PAYLOAD = f"invoice {{ {INVOICE_FIELDS} }} errors {{ field code message }}"
CREATE_CONTACT = """
mutation($input: ContactInput!) { contactCreate(input: $input) { contact { id name } errors {
  field code message } } }"""
CREATE = f"""mutation($input: InvoiceInput!) {{ invoiceCreate(input: $input) {{ {PAYLOAD} }} }}"""
UPDATE = f"""
mutation($id: ID!, $input: InvoicePatchInput!, $expectedVersion: Int) {{
  invoiceUpdate(id: $id, input: $input, expectedVersion: $expectedVersion) {{ {PAYLOAD} }}
}}"""
OPEN = f"mutation($id: ID!) {{ invoiceOpen(id: $id) {{ {PAYLOAD} }} }}"
CANCEL = f"mutation($id: ID!) {{ invoiceCancel(id: $id) {{ {PAYLOAD} }} }}"
PAY = f"""
mutation($id: ID!, $input: PaymentInput!) {{
  invoiceRecordPayment(id: $id, input: $input) {{ {PAYLOAD} }}
}}"""
URGENCY = f"""
mutation($id: ID!, $urgency: Int) {{
  invoiceSetUrgency(id: $id, urgency: $urgency) {{ {PAYLOAD} }}
}}"""
DELETE = """
mutation($id: ID!) { invoiceDelete(id: $id) { deletedId errors { field code message } } }"""
ONE = f"query($id: ID!) {{ invoice(id: $id) {{ {INVOICE_FIELDS} }} }}"
NODE = "query($id: ID!) { node(id: $id) { __typename id ... on Invoice { number status } } }"
LIST = """
query($first: Int, $after: String, $direction: String, $status: String, $urgency: Int,
      $contactId: ID, $dueBefore: Date, $dueAfter: Date, $minAmount: String,
      $maxAmount: String, $currency: String, $q: String, $sort: String!) {
  invoices(first: $first, after: $after, direction: $direction, status: $status,
           urgency: $urgency, contactId: $contactId, dueBefore: $dueBefore,
           dueAfter: $dueAfter, minAmount: $minAmount, maxAmount: $maxAmount,
           currency: $currency, q: $q, sort: $sort) {
    edges { cursor node { id number status grossTotal { amount currency } contact { name } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def gql(client, query, tenant=None, **variables):
    headers = tenant.headers if tenant else {}
    response = client.post("/graphql", headers=headers,
                           json={"query": query, "variables": variables or None})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def create_contact(client, tenant, name="Acme NV"):
    payload = gql(client, CREATE_CONTACT, tenant, input={"name": name})["data"]["contactCreate"]
    assert payload["errors"] == []
    return payload["contact"]


def invoice_input(contact_id, **fields):
    return {"direction": "receivable", "contactId": contact_id, "issueDate": "2026-03-01",
            "dueDate": "2026-03-31",
            "lines": [{"description": "Bread", "quantity": "2", "unitPrice": "50.00"}],
            **fields}


def create_invoice(client, tenant, contact_id=None, **fields):
    contact_id = contact_id or create_contact(client, tenant)["id"]
    body = gql(client, CREATE, tenant, input=invoice_input(contact_id, **fields))
    payload = body["data"]["invoiceCreate"]
    assert payload["errors"] == [], payload
    return payload["invoice"]


def global_id(type_name, raw_id):
    return base64.b64encode(f"{type_name}:{raw_id}".encode()).decode()


def raw_id(global_id_):
    return base64.b64decode(global_id_).decode().split(":", 1)[1]


def errors_of(body, mutation):
    return [(e["field"], e["code"]) for e in body["data"][mutation]["errors"]]


def list_query(**variables):
    return {"sort": "-createdAt", **variables}


# ---------------------------------------------------------------- create and read

def test_invoice_create_returns_the_invoice_as_rest_shows_it(client, tenant_a):
    # given a contact
    contact = create_contact(client, tenant_a, "Bakkerij Peeters")
    # when a receivable with one line (2 × 50.00 at 21 %) is created
    invoice = create_invoice(client, tenant_a, contact["id"], notes="Thanks!")
    # then totals are money strings, the contact and lines resolve, the id is global
    assert base64.b64decode(invoice["id"]).decode().startswith("Invoice:")
    assert re.fullmatch(r"INV-2026-\d{5}", invoice["number"])
    assert (invoice["status"], invoice["direction"], invoice["kind"]) == (
        "draft", "receivable", "invoice")
    assert invoice["netTotal"] == {"amount": "100.00", "currency": "EUR"}
    assert invoice["vatTotal"] == {"amount": "21.00", "currency": "EUR"}
    assert invoice["grossTotal"] == {"amount": "121.00", "currency": "EUR"}
    assert invoice["outstanding"] == {"amount": "121.00", "currency": "EUR"}
    assert invoice["grossTotalBase"] == {"amount": "121.00", "currency": "EUR"}
    assert invoice["amountPaid"] == {"amount": "0.00", "currency": "EUR"}
    assert invoice["exchangeRate"] == "1.0000000000"
    assert invoice["paymentReference"].startswith("+++")
    assert (invoice["issueDate"], invoice["dueDate"]) == ("2026-03-01", "2026-03-31")
    assert invoice["contact"] == {"id": contact["id"], "name": "Bakkerij Peeters"}
    assert invoice["notes"] == "Thanks!"
    assert invoice["urgency"] is None and invoice["urgencySource"] is None
    assert invoice["lines"] == [{
        "position": 1, "description": "Bread", "quantity": "2", "unitCode": None,
        "unitPrice": "50", "vatRate": "21", "vatCategory": "S",
        "allowance": {"amount": "0.00", "currency": "EUR"},
        "charge": {"amount": "0.00", "currency": "EUR"},
        "netAmount": {"amount": "100.00", "currency": "EUR"}}]


def test_invoice_and_node_read_the_same_invoice(client, tenant_a):
    # given an invoice
    created = create_invoice(client, tenant_a)
    # when it is read by id and through node(id)
    one = gql(client, ONE, tenant_a, id=created["id"])
    node = gql(client, NODE, tenant_a, id=created["id"])
    # then both return it
    assert one["data"]["invoice"] == created
    assert node["data"]["node"] == {"__typename": "Invoice", "id": created["id"],
                                    "number": created["number"], "status": "draft"}


def test_an_unknown_invoice_is_null(client, tenant_a):
    # given an id no invoice has
    unknown = global_id("Invoice", uuid.uuid4())
    # when it is read directly and through node(id)
    # then both are null, without errors
    assert gql(client, ONE, tenant_a, id=unknown) == {"data": {"invoice": None}}
    assert gql(client, NODE, tenant_a, id=unknown) == {"data": {"node": None}}


# ---------------------------------------------------------------- validation

@pytest.mark.parametrize(("change", "expected"), [
    # the REST marshmallow schema
    ({"lines": [{"description": "Bread", "unitPrice": "1", "vatCategory": "X"}]},
     [("lines.0.vatCategory", "invalid")]),
    ({"direction": "sideways"}, [("direction", "invalid")]),
    # the service
    ({"lines": [{"description": "Bread", "unitPrice": "abc"}]},
     [("lines.0.unitPrice", "invalid")]),
    ({"dueDate": "2026-02-01"}, [("dueDate", "invalid")]),
    ({"currency": "XXQ"}, [("currency", "invalid")]),
    ({"paymentReference": "+++090/9337/55490+++"}, [("paymentReference", "invalid_ogm")]),
])
def test_invoice_create_reports_fields_as_graphql_names_them(client, tenant_a, change,
                                                              expected):
    # given a contact
    contact = create_contact(client, tenant_a)
    # when an invoice is created with one invalid value
    body = gql(client, CREATE, tenant_a, input=invoice_input(contact["id"], **change))
    # then the payload has no invoice and the error names the camelCase input path
    assert body["data"]["invoiceCreate"]["invoice"] is None
    assert errors_of(body, "invoiceCreate") == expected


@pytest.mark.parametrize(("contact_id", "code"), [
    (global_id("Contact", uuid.uuid4()), "not_found"),
    ("garbage", "invalid"),
    (global_id("Invoice", uuid.uuid4()), "invalid"),
], ids=["unknown-contact", "garbage", "an-invoice-id"])
def test_invoice_create_with_a_bad_contact_names_contact_id(client, tenant_a, contact_id,
                                                            code):
    # given a contact id that is unknown, malformed or of another type
    # when an invoice is created for it
    body = gql(client, CREATE, tenant_a, input=invoice_input(contact_id))
    # then the payload error is on contactId
    assert errors_of(body, "invoiceCreate") == [("contactId", code)]


# ---------------------------------------------------------------- update

def test_invoice_update_changes_a_draft(client, tenant_a):
    # given a draft
    created = create_invoice(client, tenant_a)
    # when its lines and notes change, with the version read
    body = gql(client, UPDATE, tenant_a, id=created["id"], expectedVersion=created["version"],
               input={"notes": "Updated", "lines": [
                   {"description": "Cake", "unitPrice": "10.00", "vatRate": "6"}]})
    # then totals follow the new lines and the version moved on
    payload = body["data"]["invoiceUpdate"]
    assert payload["errors"] == []
    invoice = payload["invoice"]
    assert invoice["notes"] == "Updated"
    assert [line["description"] for line in invoice["lines"]] == ["Cake"]
    assert invoice["grossTotal"]["amount"] == "10.60"
    assert invoice["version"] > created["version"]


def test_invoice_update_with_a_stale_version_is_a_failed_precondition(client, tenant_a):
    # given a draft changed since version 1 was read
    created = create_invoice(client, tenant_a)
    gql(client, UPDATE, tenant_a, id=created["id"], input={"notes": "first"})
    # when an update still expects the old version
    body = gql(client, UPDATE, tenant_a, id=created["id"], expectedVersion=created["version"],
               input={"notes": "second"})
    # then it is refused
    assert errors_of(body, "invoiceUpdate") == [(None, "precondition_failed")]


def test_an_open_invoice_refuses_a_change_to_its_lines(client, tenant_a):
    # given an open invoice
    created = create_invoice(client, tenant_a, open=True)
    # when its lines are changed
    body = gql(client, UPDATE, tenant_a, id=created["id"], input={
        "lines": [{"description": "More", "unitPrice": "1"}]})
    # then it is a conflict naming the field
    assert errors_of(body, "invoiceUpdate") == [("lines", "conflict")]


# ---------------------------------------------------------------- lifecycle

def test_open_pay_partly_then_fully(client, tenant_a):
    # given a draft of 121.00
    created = create_invoice(client, tenant_a)
    # when it is opened, then paid 21.00, then 100.00
    opened = gql(client, OPEN, tenant_a, id=created["id"])["data"]["invoiceOpen"]
    part = gql(client, PAY, tenant_a, id=created["id"],
               input={"amount": "21.00", "paidOn": "2026-03-10"})["data"]["invoiceRecordPayment"]
    rest = gql(client, PAY, tenant_a, id=created["id"],
               input={"amount": "100", "paidOn": "2026-03-11", "reference": "bank"}
               )["data"]["invoiceRecordPayment"]
    # then the status follows each step
    assert (opened["errors"], opened["invoice"]["status"]) == ([], "open")
    assert opened["invoice"]["urgencySource"] == "computed"
    assert part["invoice"]["status"] == "partially_paid"
    assert part["invoice"]["amountPaid"] == {"amount": "21.00", "currency": "EUR"}
    assert part["invoice"]["outstanding"] == {"amount": "100.00", "currency": "EUR"}
    assert rest["invoice"]["status"] == "paid"
    assert rest["invoice"]["outstanding"]["amount"] == "0.00"


def test_opening_twice_is_a_conflict(client, tenant_a):
    # given an open invoice
    created = create_invoice(client, tenant_a, open=True)
    # when it is opened again
    body = gql(client, OPEN, tenant_a, id=created["id"])
    # then the payload reports a conflict
    assert body["data"]["invoiceOpen"]["invoice"] is None
    assert errors_of(body, "invoiceOpen") == [(None, "conflict")]


@pytest.mark.parametrize(("payment", "expected"), [
    ({"amount": "500.00", "paidOn": "2026-03-10"}, [("amount", "overpayment")]),
    ({"amount": "1.001", "paidOn": "2026-03-10"}, [("amount", "invalid")]),
    ({"amount": "0", "paidOn": "2026-03-10"}, [("amount", "invalid")]),
])
def test_a_bad_payment_is_refused_on_amount(client, tenant_a, payment, expected):
    # given an open invoice of 121.00
    created = create_invoice(client, tenant_a, open=True)
    # when a payment too large, too precise or zero is recorded
    body = gql(client, PAY, tenant_a, id=created["id"], input=payment)
    # then the payload names amount
    assert errors_of(body, "invoiceRecordPayment") == expected


def test_a_payment_on_a_draft_is_a_conflict(client, tenant_a):
    # given a draft
    created = create_invoice(client, tenant_a)
    # when a payment is recorded
    body = gql(client, PAY, tenant_a, id=created["id"],
               input={"amount": "1.00", "paidOn": "2026-03-10"})
    # then it is a conflict
    assert errors_of(body, "invoiceRecordPayment") == [(None, "conflict")]


def test_cancel_then_delete(client, tenant_a):
    # given an open invoice with nothing paid
    created = create_invoice(client, tenant_a, open=True)
    # when it is cancelled, then deleted
    cancelled = gql(client, CANCEL, tenant_a, id=created["id"])["data"]["invoiceCancel"]
    deleted = gql(client, DELETE, tenant_a, id=created["id"])["data"]["invoiceDelete"]
    # then it is gone
    assert cancelled["invoice"]["status"] == "cancelled"
    assert deleted == {"deletedId": created["id"], "errors": []}
    assert gql(client, ONE, tenant_a, id=created["id"])["data"]["invoice"] is None


def test_an_open_invoice_cannot_be_deleted_and_a_paid_one_not_cancelled(client, tenant_a):
    # given an open invoice, and a paid one
    open_one = create_invoice(client, tenant_a, open=True)
    paid = create_invoice(client, tenant_a, open=True)
    gql(client, PAY, tenant_a, id=paid["id"], input={"amount": "121.00", "paidOn": "2026-03-02"})
    # when the first is deleted and the second cancelled
    deleted = gql(client, DELETE, tenant_a, id=open_one["id"])["data"]["invoiceDelete"]
    cancelled = gql(client, CANCEL, tenant_a, id=paid["id"])
    # then both are conflicts
    assert deleted["deletedId"] is None
    assert [e["code"] for e in deleted["errors"]] == ["conflict"]
    assert errors_of(cancelled, "invoiceCancel") == [(None, "conflict")]


def test_set_and_clear_a_manual_urgency(client, tenant_a):
    # given an open invoice
    created = create_invoice(client, tenant_a, open=True)
    # when a manual urgency is set, then cleared with null
    manual = gql(client, URGENCY, tenant_a, id=created["id"], urgency=5)
    cleared = gql(client, URGENCY, tenant_a, id=created["id"], urgency=None)
    # then the first is manual, the second computed again
    invoice = manual["data"]["invoiceSetUrgency"]["invoice"]
    assert (invoice["urgency"], invoice["urgencySource"]) == (5, "manual")
    assert cleared["data"]["invoiceSetUrgency"]["invoice"]["urgencySource"] == "computed"


def test_an_urgency_out_of_range_names_the_argument(client, tenant_a):
    # given an open invoice
    created = create_invoice(client, tenant_a, open=True)
    # when urgency 7 is set
    body = gql(client, URGENCY, tenant_a, id=created["id"], urgency=7)
    # then the payload error is on urgency
    assert errors_of(body, "invoiceSetUrgency") == [("urgency", "invalid")]


def test_a_viewer_cannot_open_an_invoice(client, tenant_a):
    # given a draft and a viewer of the same company
    from tests.factories import add_member

    created = create_invoice(client, tenant_a)
    viewer = add_member(client, tenant_a, "viewer")
    # when the viewer opens it
    body = gql(client, OPEN, viewer, id=created["id"])
    # then the payload refuses, while reading still works
    assert errors_of(body, "invoiceOpen") == [(None, "forbidden")]
    assert gql(client, ONE, viewer, id=created["id"])["data"]["invoice"]["status"] == "draft"


# ---------------------------------------------------------------- list

def test_invoices_filter_like_rest(client, tenant_a):
    # given a draft for Alpha and an open invoice for Beta, of different amounts
    alpha = create_contact(client, tenant_a, "Alpha Foods")
    beta = create_contact(client, tenant_a, "Beta Drinks")
    draft = create_invoice(client, tenant_a, alpha["id"])
    opened = create_invoice(client, tenant_a, beta["id"], open=True, lines=[
        {"description": "Beer", "quantity": "10", "unitPrice": "20.00"}])

    def numbers(**variables):
        body = gql(client, LIST, tenant_a, **list_query(**variables))
        assert "errors" not in body, body
        return [e["node"]["number"] for e in body["data"]["invoices"]["edges"]]

    # when it is filtered by status, contact, amount, text and sorted
    # then each filter keeps what REST would keep
    assert numbers(status="open") == [opened["number"]]
    assert numbers(status="draft") == [draft["number"]]
    assert numbers(contactId=alpha["id"]) == [draft["number"]]
    assert numbers(minAmount="200") == [opened["number"]]
    assert numbers(maxAmount="121.00") == [draft["number"]]
    assert numbers(q="beta") == [opened["number"]]
    assert numbers(direction="payable") == []
    assert numbers(dueBefore="2026-04-01", dueAfter="2026-03-31") == [
        opened["number"], draft["number"]]
    assert numbers(sort="grossTotal") == [draft["number"], opened["number"]]
    assert numbers(sort="-gross_total") == [opened["number"], draft["number"]]


@pytest.mark.parametrize(("variables", "field"), [
    ({"status": "lost"}, "status"),
    ({"sort": "colour"}, "sort"),
    ({"minAmount": "lots"}, "minAmount"),
    ({"currency": "EURO"}, "currency"),
    ({"first": 500}, "first"),
    ({"contactId": "garbage"}, "contactId"),
    ({"after": base64.b64encode(b"Contact:" + str(uuid.uuid4()).encode()).decode()}, "after"),
])
def test_invalid_list_arguments_are_coded_errors_naming_the_argument(client, tenant_a,
                                                                       variables, field):
    # given an owner
    # when the list is asked with one invalid argument
    body = gql(client, LIST, tenant_a, **list_query(**variables))
    # then the error is INVALID and names the GraphQL argument
    error = body["errors"][0]
    assert body["data"] is None
    assert error["extensions"]["code"] == "INVALID"
    assert [f["field"] for f in error["extensions"]["fields"]] == [field]


def test_invoices_paginate_with_first_and_after(client, tenant_a):
    # given three invoices
    contact = create_contact(client, tenant_a)
    created = [create_invoice(client, tenant_a, contact["id"])["number"] for _ in range(3)]
    # when they are read two at a time, oldest first
    first = gql(client, LIST, tenant_a, **list_query(first=2, sort="createdAt")
                )["data"]["invoices"]
    second = gql(client, LIST, tenant_a, **list_query(
        first=2, sort="createdAt", after=first["pageInfo"]["endCursor"]))["data"]["invoices"]
    # then the pages follow each other, and only the first says more exist
    assert [e["node"]["number"] for e in first["edges"]] == created[:2]
    assert first["pageInfo"] == {"hasNextPage": True,
                                 "endCursor": first["edges"][1]["cursor"]}
    assert first["edges"][1]["cursor"] == first["edges"][1]["node"]["id"]
    assert [e["node"]["number"] for e in second["edges"]] == created[2:]
    assert second["pageInfo"]["hasNextPage"] is False


# ---------------------------------------------------------------- isolation

def test_tenant_b_gets_for_tenant_a_invoices_what_an_unknown_id_gets(client, tenant_a,
                                                                     tenant_b):
    # given an open invoice of tenant A, and an id nobody has
    contact = create_contact(client, tenant_a, "Alpha Secret Customer")
    theirs = create_invoice(client, tenant_a, contact["id"], open=True)
    unknown = global_id("Invoice", uuid.uuid4())
    b_contact = create_contact(client, tenant_b, "Beta Own Customer")

    def attempts(invoice_id):
        return [
            gql(client, ONE, tenant_b, id=invoice_id),
            gql(client, NODE, tenant_b, id=invoice_id),
            gql(client, UPDATE, tenant_b, id=invoice_id, input={"notes": "mine"}),
            gql(client, OPEN, tenant_b, id=invoice_id),
            gql(client, PAY, tenant_b, id=invoice_id,
                input={"amount": "1.00", "paidOn": "2026-03-02"}),
            gql(client, CANCEL, tenant_b, id=invoice_id),
            gql(client, URGENCY, tenant_b, id=invoice_id, urgency=1),
            gql(client, DELETE, tenant_b, id=invoice_id),
            # A's invoice as the corrected invoice of B's credit note
            gql(client, CREATE, tenant_b, input=invoice_input(
                b_contact["id"], kind="credit_note", correctsInvoiceId=invoice_id)),
        ]

    # when tenant B tries every read and mutation on it
    seen = attempts(theirs["id"])
    baseline = attempts(unknown)
    # then every answer is exactly the one for an unknown id
    assert str(seen).replace(raw_id(theirs["id"]), "X") == (
        str(baseline).replace(raw_id(unknown), "X"))
    # and B lists nothing of A's, and cannot even filter by A's contact
    listed = gql(client, LIST, tenant_b, **list_query())["data"]["invoices"]["edges"]
    assert [e["node"]["contact"]["name"] for e in listed] == []
    by_contact = gql(client, LIST, tenant_b, **list_query(contactId=contact["id"]))
    assert by_contact["data"]["invoices"]["edges"] == []
    # and tenant A's invoice did not change
    again = gql(client, ONE, tenant_a, id=theirs["id"])["data"]["invoice"]
    assert (again["status"], again["notes"], again["urgencySource"]) == (
        "open", None, "computed")


def test_a_contact_of_tenant_a_is_unknown_to_tenant_b_invoice_create(client, tenant_a,
                                                                     tenant_b):
    # given a contact of tenant A
    theirs = create_contact(client, tenant_a)
    unknown = global_id("Contact", uuid.uuid4())
    # when tenant B invoices it, and an unknown contact
    seen = gql(client, CREATE, tenant_b, input=invoice_input(theirs["id"]))
    baseline = gql(client, CREATE, tenant_b, input=invoice_input(unknown))
    # then both answers are the same not found on contactId
    assert str(seen).replace(raw_id(theirs["id"]), "X") == (
        str(baseline).replace(raw_id(unknown), "X"))
    assert errors_of(seen, "invoiceCreate") == [("contactId", "not_found")]


# ---------------------------------------------------------------- statement count

PAGE = """
query($first: Int) { invoices(first: $first) { edges { node { number contact { name }
  lines { description } } } } }"""

HARNESS = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b", re.I)


@contextmanager
def counting_statements(session):
    """Statements sent on the test's connection, less the savepoints the test harness
    adds (in production a transaction is BEGIN/COMMIT, which sends no statement)."""
    engine = session.get_bind().engine
    statements = []

    def record(_conn, _cursor, statement, *_args):
        if not HARNESS.match(statement):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_page_of_invoices_with_contacts_and_lines_costs_a_constant_few_statements(
        client, db_session, tenant_a):
    # given 100 invoices of 3 lines each over 10 contacts, made through the services
    actor = Actor(user_id=tenant_a.user_id, tenant_id=tenant_a.tenant_id, role=Role.OWNER)
    with tenant_scope(db_session, tenant_a.tenant_id):
        contacts = [contacts_service.create_contact(
            session=db_session, actor=actor, data={"name": f"Customer {i:02d}"})
            for i in range(10)]
        for n in range(100):
            invoices_service.create_invoice(session=db_session, actor=actor, data={
                "direction": "receivable", "contact_id": contacts[n % 10].id,
                "lines": [{"description": f"Item {k}", "unit_price": "10.00"}
                          for k in range(3)]})
    # when pages of 100 and of 10 are read with each invoice's contact and lines (after a
    # first request, so that both find the sign-in check remembered: ADR 0019)
    gql(client, PAGE, tenant_a, first=1)
    with counting_statements(db_session) as big:
        body = gql(client, PAGE, tenant_a, first=100)
    with counting_statements(db_session) as small:
        small_body = gql(client, PAGE, tenant_a, first=10)
    # then every invoice came with its contact and its three lines
    edges = body["data"]["invoices"]["edges"]
    assert len(edges) == 100 and len(small_body["data"]["invoices"]["edges"]) == 10
    assert all(len(e["node"]["lines"]) == 3 for e in edges)
    assert {e["node"]["contact"]["name"] for e in edges} == {
        f"Customer {i:02d}" for i in range(10)}
    # and both pages cost the same few statements, whatever their size
    assert len(big) == len(small), (big, small)
    assert len(big) <= 12, "\n".join(big)
