"""Invoice lifecycle and urgency rules (pure): which transitions are allowed, when an
invoice is overdue, and which urgency it has for the default and custom thresholds."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from smbfinance.auth.tenant_settings import DEFAULTS
from smbfinance.invoices.rules import (
    EDITABLE_WHEN_OPEN,
    Status,
    Urgency,
    can_cancel,
    can_open,
    can_record_payment,
    computed_urgency,
    effective_urgency,
    is_overdue,
    settled_status,
)

TODAY = date(2025, 3, 14)
DEFAULT_THRESHOLDS = DEFAULTS["urgency_thresholds"]
ALL = list(Status)


def due_in(days: int) -> date:
    return TODAY + timedelta(days=days)


# --------------------------------------------------------------------------- transitions


@pytest.mark.parametrize("status", ALL)
def test_only_a_draft_can_be_opened(status) -> None:
    assert can_open(status.value) is (status is Status.DRAFT)


@pytest.mark.parametrize(("status", "settled", "allowed"), [
    (Status.DRAFT, Decimal("0"), True),
    (Status.OPEN, Decimal("0"), True),
    (Status.OPEN, Decimal("0.01"), False),       # something was credited or paid
    (Status.PARTIALLY_PAID, Decimal("10.00"), False),
    (Status.PAID, Decimal("121.00"), False),
    (Status.CANCELLED, Decimal("0"), False),
])
def test_cancel_only_from_draft_or_open_with_nothing_paid(status, settled, allowed) -> None:
    assert can_cancel(status.value, settled) is allowed


@pytest.mark.parametrize("status", ALL)
def test_payments_only_on_open_or_partially_paid_invoices(status) -> None:
    assert can_record_payment(status.value) is (
        status in (Status.OPEN, Status.PARTIALLY_PAID))


@pytest.mark.parametrize(("gross", "settled", "expected"), [
    ("121.00", "0", Status.OPEN),
    ("121.00", "0.01", Status.PARTIALLY_PAID),
    ("121.00", "120.99", Status.PARTIALLY_PAID),
    ("121.00", "121.00", Status.PAID),
])
def test_status_follows_what_is_settled(gross, settled, expected) -> None:
    assert settled_status(Decimal(gross), Decimal(settled)) is expected


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError):
        can_open("overdue")  # overdue is derived, never a stored status


def test_open_invoices_only_change_dates_notes_and_payment_account() -> None:
    assert frozenset({"due_date", "notes", "payment_iban", "payment_bic"}) == EDITABLE_WHEN_OPEN


# --------------------------------------------------------------------------- overdue


@pytest.mark.parametrize(("status", "days", "overdue"), [
    (Status.OPEN, -1, True),
    (Status.OPEN, 0, False),                    # due today is not late yet
    (Status.PARTIALLY_PAID, -30, True),
    (Status.PARTIALLY_PAID, 1, False),
    (Status.DRAFT, -10, False),                 # a draft is not owed
    (Status.PAID, -10, False),
    (Status.CANCELLED, -10, False),
])
def test_overdue_is_unsettled_with_a_due_date_before_today(status, days, overdue) -> None:
    assert is_overdue(status.value, due_in(days), TODAY) is overdue


# --------------------------------------------------------------------------- urgency


@pytest.mark.parametrize(("days", "urgency"), [
    (-365, Urgency.OVERDUE), (-1, Urgency.OVERDUE),
    (0, Urgency.CRITICAL), (3, Urgency.CRITICAL),
    (4, Urgency.HIGH), (7, Urgency.HIGH),
    (8, Urgency.MEDIUM), (30, Urgency.MEDIUM),
    (31, Urgency.LOW), (400, Urgency.LOW),
])
@pytest.mark.parametrize("status", [Status.OPEN, Status.PARTIALLY_PAID])
def test_default_thresholds_boundaries(status, days, urgency) -> None:
    # given an unsettled invoice due in `days` and the default thresholds (3 / 7 / 30)
    # when its urgency is computed / then each boundary day falls on the documented side
    assert computed_urgency(status.value, due_in(days), TODAY, DEFAULT_THRESHOLDS) is urgency
    assert effective_urgency(status.value, due_in(days), TODAY, DEFAULT_THRESHOLDS,
                             None) is urgency


@pytest.mark.parametrize(("thresholds", "days", "urgency"), [
    ({"critical_days": 1, "high_days": 2, "medium_days": 10}, 1, Urgency.CRITICAL),
    ({"critical_days": 1, "high_days": 2, "medium_days": 10}, 2, Urgency.HIGH),
    ({"critical_days": 1, "high_days": 2, "medium_days": 10}, 3, Urgency.MEDIUM),
    ({"critical_days": 1, "high_days": 2, "medium_days": 10}, 10, Urgency.MEDIUM),
    ({"critical_days": 1, "high_days": 2, "medium_days": 10}, 11, Urgency.LOW),
    ({"critical_days": 0, "high_days": 14, "medium_days": 60}, 0, Urgency.CRITICAL),
    ({"critical_days": 0, "high_days": 14, "medium_days": 60}, 1, Urgency.HIGH),
    ({"critical_days": 0, "high_days": 14, "medium_days": 60}, 14, Urgency.HIGH),
    ({"critical_days": 0, "high_days": 14, "medium_days": 60}, 15, Urgency.MEDIUM),
    ({"critical_days": 0, "high_days": 14, "medium_days": 60}, 60, Urgency.MEDIUM),
    ({"critical_days": 0, "high_days": 14, "medium_days": 60}, 61, Urgency.LOW),
    ({"critical_days": 0, "high_days": 14, "medium_days": 60}, -1, Urgency.OVERDUE),
])
def test_custom_thresholds(thresholds, days, urgency) -> None:
    # given a tenant's own thresholds
    # when an open invoice's urgency is computed / then they decide the boundaries
    assert computed_urgency("open", due_in(days), TODAY, thresholds) is urgency


@pytest.mark.parametrize("status", [Status.PAID, Status.CANCELLED])
@pytest.mark.parametrize("manual", [None, 1, 5])
def test_paid_and_cancelled_invoices_have_no_urgency(status, manual) -> None:
    # given a settled invoice long past its due date, with or without a manual urgency
    # when its urgency is asked / then it has none
    assert computed_urgency(status.value, due_in(-90), TODAY, DEFAULT_THRESHOLDS) is None
    assert effective_urgency(status.value, due_in(-90), TODAY, DEFAULT_THRESHOLDS,
                             manual) is None


def test_drafts_have_no_urgency_unless_set_by_hand() -> None:
    # given a draft past its due date
    # when no manual urgency is set / then it has none
    assert effective_urgency("draft", due_in(-5), TODAY, DEFAULT_THRESHOLDS, None) is None
    # when someone sets one / then that one applies
    assert effective_urgency("draft", due_in(-5), TODAY, DEFAULT_THRESHOLDS,
                             2) is Urgency.CRITICAL


def test_manual_urgency_overrides_until_cleared() -> None:
    # given an open invoice due in 60 days (computed: low)
    due = due_in(60)
    assert effective_urgency("open", due, TODAY, DEFAULT_THRESHOLDS, None) is Urgency.LOW
    # when a user marks it overdue-level urgent / then the manual value wins
    assert effective_urgency("open", due, TODAY, DEFAULT_THRESHOLDS, 1) is Urgency.OVERDUE
    # and a manual "low" also wins over a computed "overdue"
    assert effective_urgency("open", due_in(-3), TODAY, DEFAULT_THRESHOLDS,
                             5) is Urgency.LOW
    # when the manual urgency is cleared / then the computed one is back
    assert effective_urgency("open", due_in(-3), TODAY, DEFAULT_THRESHOLDS,
                             None) is Urgency.OVERDUE


def test_urgency_values_are_the_documented_numbers() -> None:
    assert [(u.name, u.value) for u in Urgency] == [
        ("OVERDUE", 1), ("CRITICAL", 2), ("HIGH", 3), ("MEDIUM", 4), ("LOW", 5)]
