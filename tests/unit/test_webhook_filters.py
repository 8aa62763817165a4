"""Which events an endpoint wants: types and field filters. Pure."""

from __future__ import annotations

import pytest

from smbfinance.errors import ErrorList
from smbfinance.webhooks import filters

INVOICE = {"direction": "receivable", "status": "paid", "urgency": 3, "overdue": False,
           "contact": {"id": "c-1", "name": "Client NV"}, "notes": None}


@pytest.mark.parametrize(("conditions", "expected"), [
    ({}, True),
    ({"direction": "receivable"}, True),
    ({"direction": "payable"}, False),
    ({"status": ["open", "paid"]}, True),
    ({"status": ["open"]}, False),
    ({"contact.id": "c-1"}, True),
    ({"contact.id": "c-2"}, False),
    ({"contact.name.first": "x"}, False),     # path through a string
    ({"missing": None}, False),               # absent is not null
    ({"notes": None}, True),
    ({"urgency": 3}, True),
    ({"urgency": "3"}, False),                # types must match
    ({"overdue": False}, True),
    ({"overdue": 0}, False),                  # bool is not int
    ({"urgency": True}, False),
    ({"direction": "receivable", "status": "open"}, False),  # all conditions
])
def test_matches(conditions: dict, expected: bool) -> None:
    assert filters.matches(conditions, INVOICE) is expected


def test_subscribed() -> None:
    assert filters.subscribed(["*"], "invoice.paid")
    assert filters.subscribed(["invoice.paid"], "invoice.paid")
    assert not filters.subscribed(["invoice.paid"], "invoice.updated")
    assert filters.wants(["invoice.paid"], {"direction": "receivable"}, "invoice.paid", INVOICE)
    assert not filters.wants(["invoice.paid"], {"direction": "payable"}, "invoice.paid",
                             INVOICE)


def test_event_types_are_checked_and_normalised() -> None:
    errors = ErrorList()
    assert filters.check_event_types(["invoice.paid", "contact.created", "invoice.paid"],
                                     errors) == ["contact.created", "invoice.paid"]
    assert filters.check_event_types(["invoice.paid", "*"], errors) == ["*"]
    assert errors.errors == []
    for bad in ([], None, "invoice.paid", ["invoice.exploded"]):
        errors = ErrorList()
        filters.check_event_types(bad, errors)
        assert errors.errors, bad


@pytest.mark.parametrize("raw", [
    {"Bad Key": 1}, {"a..b": 1}, {"": 1}, {"x": 1.5}, {"x": {"nested": 1}}, {"x": []},
    {"x": [1.5]}, {"x": [{"a": 1}]}, {"x": list(range(51))},
    {f"k{i}": 1 for i in range(21)}, "not an object", ["x"],
])
def test_bad_filters_are_refused(raw: object) -> None:
    errors = ErrorList()
    filters.check_filter(raw, errors)
    assert errors.errors


@pytest.mark.parametrize("raw", [
    None, {}, {"direction": "receivable"}, {"status": ["open", "paid"]}, {"urgency": 1},
    {"overdue": True}, {"notes": None}, {"contact.id": "x"}, {"a.b.c.d.e": "x"},
])
def test_good_filters_pass(raw: object) -> None:
    errors = ErrorList()
    filters.check_filter(raw, errors)
    assert errors.errors == []
