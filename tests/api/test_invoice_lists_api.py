"""GET /api/v1/invoices: every filter, every sort, cursor pagination, and list rows that
agree with the detail view (urgency and overdue are computed in SQL for lists)."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import TenantFixture
from tests.invoicing import (
    INVOICES,
    RATES_IMPORT,
    create_contact,
    create_invoice,
    days,
    ecb_xml,
    error_fields,
    line,
    pay,
)


@dataclass
class Book:
    """A tenant's invoices, by name, with its two contacts."""

    tenant: TenantFixture
    acme: str
    bolt: str
    ids: dict[str, str]

    def name(self, invoice_id: str) -> str:
        return next(name for name, known in self.ids.items() if known == invoice_id)


@pytest.fixture()
def book(client: FlaskClient, tenant_a: TenantFixture) -> Book:
    """R1 overdue · R2 partly paid, critical · R3 draft · R4 USD, medium · R5 cancelled ·
    R6 low · P1 payable, high · P2 payable, paid."""
    t = tenant_a
    acme = create_contact(client, t, "Acme Retail")["id"]
    bolt = create_contact(client, t, "Bolt Supplies")["id"]
    rates = ecb_xml({days(-1): {"USD": "1.1000"}})
    assert client.post(RATES_IMPORT, headers=t.headers,
                       data={"file": (io.BytesIO(rates), "rates.xml")},
                       content_type="multipart/form-data").status_code == 200

    def make(**data: Any) -> str:
        return create_invoice(client, t, data.pop("contact_id", acme), **data)["id"]

    ids = {
        "R1": make(open=True, issue_date=days(-35), due_date=days(-5),
                   lines=[line("100.00")]),                                   # 121.00
        "R2": make(open=True, issue_date=days(-10), due_date=days(2),
                   lines=[line("200.00")]),                                   # 242.00
        "R3": make(issue_date=days(0), due_date=days(5), lines=[line("50.00")]),  # 60.50
        "R4": make(open=True, issue_date=days(-1), due_date=days(20), currency="USD",
                   lines=[line("1000.00")]),                                  # 1210.00 USD
        "R5": make(issue_date=days(-2), due_date=days(60), lines=[line("10.00")]),  # 12.10
        "R6": make(open=True, issue_date=days(-3), due_date=days(45),
                   lines=[line("300.00")]),                                   # 363.00
        "P1": make(contact_id=bolt, direction="payable", number="B-77", open=True,
                   issue_date=days(-3), due_date=days(6),
                   lines=[line("50.00", vat_rate="0", vat_category="E")]),   # 50.00
        "P2": make(contact_id=bolt, direction="payable", number="B-12", open=True,
                   issue_date=days(-60), due_date=days(-30), lines=[line("80.00")]),  # 96.80
    }
    pay(client, t, ids["R2"], "42.00")
    pay(client, t, ids["P2"], "96.80")
    assert client.post(f"{INVOICES}/{ids['R5']}/cancel", headers=t.headers).status_code == 200
    return Book(tenant=t, acme=acme, bolt=bolt, ids=ids)


def listed(client: FlaskClient, book: Book, **query: Any) -> list[str]:
    response = client.get(INVOICES, headers=book.tenant.headers,
                          query_string={"limit": 200, **query})
    assert response.status_code == 200, response.get_json()
    return [book.name(row["id"]) for row in response.get_json()["data"]]


FILTERS: list[tuple[dict[str, Any], set[str]]] = [
    ({"direction": "payable"}, {"P1", "P2"}),
    ({"direction": "receivable"}, {"R1", "R2", "R3", "R4", "R5", "R6"}),
    ({"status": "draft"}, {"R3"}),
    ({"status": "open"}, {"R1", "R4", "R6", "P1"}),
    ({"status": "partially_paid"}, {"R2"}),
    ({"status": "paid"}, {"P2"}),
    ({"status": "cancelled"}, {"R5"}),
    ({"status": "overdue"}, {"R1"}),
    ({"urgency": 1}, {"R1"}),
    ({"urgency": 2}, {"R2"}),
    ({"urgency": 3}, {"P1"}),
    ({"urgency": 4}, {"R4"}),
    ({"urgency": 5}, {"R6"}),
    ({"due_before": days(0)}, {"R1", "P2"}),
    ({"due_after": days(20)}, {"R4", "R5", "R6"}),
    ({"due_after": days(2), "due_before": days(6)}, {"R2", "R3"}),
    ({"issued_before": days(-10)}, {"R1", "P2"}),
    ({"issued_after": days(-3)}, {"R3", "R4", "R5", "R6", "P1"}),
    ({"min_amount": "200", "max_amount": "300"}, {"R2"}),
    ({"min_amount": "363.00"}, {"R4", "R6"}),
    ({"max_amount": "50.00"}, {"R5", "P1"}),
    ({"currency": "USD"}, {"R4"}),
    ({"currency": "usd"}, {"R4"}),
    ({"currency": "EUR", "direction": "receivable", "status": "open"}, {"R1", "R6"}),
    ({"q": "bolt"}, {"P1", "P2"}),
    ({"q": "B-77"}, {"P1"}),
    ({"q": "nobody"}, set()),
    ({"q": "%"}, set()),
]


def test_filters(client: FlaskClient, book: Book) -> None:
    # given the book of invoices
    for query, expected in FILTERS:
        # when filtered / then exactly the matching ones, each once
        names = listed(client, book, **query)
        assert sorted(names) == sorted(expected), query
    # and by contact, number or structured communication (+++ form or digits)
    assert sorted(listed(client, book, contact_id=book.bolt)) == ["P1", "P2"]
    assert listed(client, book, contact_id=str(uuid.uuid4())) == []
    r1 = client.get(f"{INVOICES}/{book.ids['R1']}", headers=book.tenant.headers).get_json()
    assert listed(client, book, q=r1["number"]) == ["R1"]
    assert listed(client, book, q=r1["payment_reference"]) == ["R1"]
    digits = "".join(ch for ch in r1["payment_reference"] if ch.isdigit())
    assert listed(client, book, q=digits) == ["R1"]


BAD_ARGUMENTS: list[tuple[dict[str, Any], str]] = [
    ({"status": "late"}, "query:status"),
    ({"urgency": 6}, "query:urgency"),
    ({"direction": "both"}, "query:direction"),
    ({"due_before": "yesterday"}, "query:due_before"),
    ({"min_amount": "NaN"}, "query:min_amount"),
    ({"min_amount": "ten"}, "query:min_amount"),
    ({"currency": "EURO"}, "query:currency"),
    ({"contact_id": "acme"}, "query:contact_id"),
    ({"sort": "amount"}, "query:sort"),
    ({"limit": 201}, "query:limit"),
    ({"limit": 0}, "query:limit"),
    ({"starting_after": "last"}, "query:starting_after"),
]


def test_bad_list_arguments_are_422_naming_the_parameter(client: FlaskClient,
                                                         tenant_a: TenantFixture) -> None:
    for query, parameter in BAD_ARGUMENTS:
        response = client.get(INVOICES, headers=tenant_a.headers, query_string=query)
        assert response.status_code == 422, (query, response.get_json())
        assert error_fields(response) == {parameter}, query


SORT_KEYS = {
    "issue_date": lambda row: row["issue_date"],
    "due_date": lambda row: row["due_date"],
    "gross_total": lambda row: float(row["gross_total"]["amount"]),
    "number": lambda row: row["number"],
    "created_at": lambda row: row["created_at"],
}


def test_sorts(client: FlaskClient, book: Book) -> None:
    for key, value_of in SORT_KEYS.items():
        for sign in ("", "-"):
            response = client.get(INVOICES, headers=book.tenant.headers,
                                  query_string={"sort": f"{sign}{key}"})
            rows = response.get_json()["data"]
            assert len(rows) == 8
            values = [value_of(row) for row in rows]
            assert values == sorted(values, reverse=sign == "-"), f"{sign}{key}"


def test_default_order_is_newest_first(client: FlaskClient, book: Book) -> None:
    assert listed(client, book) == ["P2", "P1", "R6", "R5", "R4", "R3", "R2", "R1"]


def test_pages_cover_the_list_once_in_order(client: FlaskClient, book: Book) -> None:
    for sort in ("due_date", "-gross_total", "-created_at", "number", "-issue_date"):
        # given the whole list in one page
        whole = listed(client, book, sort=sort)
        # when read three at a time, each page starting after the previous page's last id
        seen: list[str] = []
        after: str | None = None
        flags = []
        while True:
            query: dict[str, Any] = {"sort": sort, "limit": 3}
            if after:
                query["starting_after"] = after
            body = client.get(INVOICES, headers=book.tenant.headers,
                              query_string=query).get_json()
            seen += [book.name(row["id"]) for row in body["data"]]
            flags.append(body["has_more"])
            if not body["has_more"]:
                break
            after = body["data"][-1]["id"]
        # then the pages are the whole list, in order, and only the last says no more
        assert seen == whole, sort
        assert flags == [True, True, False], sort


def test_deleted_invoices_are_not_listed_nor_a_cursor(client: FlaskClient,
                                                      book: Book) -> None:
    # given a deleted draft
    assert client.delete(f"{INVOICES}/{book.ids['R3']}",
                         headers=book.tenant.headers).status_code == 204
    # when listed / then it is not there
    assert sorted(listed(client, book)) == ["P1", "P2", "R1", "R2", "R4", "R5", "R6"]
    # when it, or an id that never existed, is used as a cursor / then not found
    for cursor in (str(uuid.uuid4()), book.ids["R3"]):
        response = client.get(INVOICES, headers=book.tenant.headers,
                              query_string={"starting_after": cursor})
        assert response.status_code == 404, cursor
        assert response.get_json()["type"].endswith("/not-found")


def test_list_rows_agree_with_the_detail_view(client: FlaskClient, book: Book) -> None:
    # given a manual urgency on the draft and on an overdue invoice
    for name, urgency in (("R3", 3), ("R1", 5)):
        client.put(f"{INVOICES}/{book.ids[name]}/urgency", headers=book.tenant.headers,
                   json={"urgency": urgency})
    rows = client.get(INVOICES, headers=book.tenant.headers).get_json()["data"]
    # then each row's derived fields and amounts match the invoice read on its own
    for row in rows:
        detail = client.get(f"{INVOICES}/{row['id']}", headers=book.tenant.headers).get_json()
        assert {key: detail[key] for key in row} == row, book.name(row["id"])
        for money_field in ("gross_total", "outstanding", "gross_total_base"):
            assert isinstance(row[money_field]["amount"], str)
    urgencies = {book.name(r["id"]): (r["urgency"], r["urgency_source"], r["overdue"])
                 for r in rows}
    assert urgencies == {
        "R1": (5, "manual", True), "R2": (2, "computed", False),
        "R3": (3, "manual", False), "R4": (4, "computed", False),
        "R5": (None, None, False), "R6": (5, "computed", False),
        "P1": (3, "computed", False), "P2": (None, None, False),
    }
