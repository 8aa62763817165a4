"""Scenarios (adjustments on a copy of the inputs) and KPIs (runway, burn, DSO/DPO, owed
per urgency, largest debtors and creditors), on hand-built inputs."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from smbfinance.cashflow import kpis
from smbfinance.cashflow.forecast import Granularity, contributions, forecast
from smbfinance.cashflow.model import (
    Direction,
    ForecastInputs,
    OpenInvoice,
    PlannedItem,
    RecurringFlow,
)
from smbfinance.cashflow.periods import Period
from smbfinance.cashflow.scenarios import apply, parse_adjustments
from smbfinance.errors import Invalid

D = Decimal
AS_OF = date(2026, 2, 2)
THRESHOLDS = {"critical_days": 3, "high_days": 7, "medium_days": 30}


def base_inputs() -> ForecastInputs:
    return ForecastInputs(
        as_of=AS_OF, currency="EUR", opening=D("1000.00"),
        invoices=(OpenInvoice("i1", "F1", Direction.RECEIVABLE, "c1", "Acme",
                              AS_OF + timedelta(days=5), D("400.00")),),
        flows=(RecurringFlow(key="recurring:s1", kind="recurring", label="Rent",
                             period=Period.MONTHLY, next_date=AS_OF + timedelta(days=10),
                             amount=D("-700.00")),),
        planned=(PlannedItem("planned:p1", "Grant", AS_OF + timedelta(days=20), D("50.00")),))


def closing(inputs: ForecastInputs, days: int = 30) -> Decimal:
    return forecast(inputs, horizon_days=days, granularity=Granularity.MONTH).buckets[-1].closing


def test_the_base_case_by_hand():
    # 1,000 + 400 − 700 + 50 in 30 days
    assert closing(base_inputs()) == D("750.00")


def test_delay_an_invoice_out_of_the_horizon_without_touching_the_inputs():
    inputs = base_inputs()
    adjustments = parse_adjustments([{"type": "delay_invoice", "invoice_id": "i1",
                                      "days": 40}], "EUR")
    changed = apply(inputs, adjustments)
    # then the 400 leaves the 30 days, and the original inputs are as they were
    assert closing(changed) == D("350.00")
    assert closing(inputs) == D("750.00") and inputs.invoices[0].extra_delay_days == 0
    (moved,) = [c for c in contributions(changed, AS_OF + timedelta(days=89))
                if c.source == "invoice:i1"]
    assert moved.day == AS_OF + timedelta(days=45)
    assert "moved +40 days by the scenario" in moved.reason


def test_add_a_one_off_and_a_recurring_item():
    adjustments = parse_adjustments([
        {"type": "add_item", "label": "New van", "amount": "-5000.00", "date": "2026-02-10"},
        {"type": "add_item", "label": "Hire", "amount": "-2000.00", "date": "2026-02-15",
         "period": "weekly", "end_date": "2026-02-22"},
    ], "EUR")
    changed = apply(base_inputs(), adjustments)
    # then 750 − 5,000 − 2 × 2,000 (15 and 22 Feb)
    assert closing(changed) == D("-8250.00")


def test_remove_and_change_items_by_source():
    adjustments = parse_adjustments([
        {"type": "remove_item", "source": "recurring:s1"},
        {"type": "change_amount", "source": "invoice:i1", "amount": "100.00"},
        {"type": "change_amount", "source": "planned:p1", "amount": "75.00"},
    ], "EUR")
    changed = apply(base_inputs(), adjustments)
    # then 1,000 + 100 + 75
    assert closing(changed) == D("1175.00")
    assert changed.warnings == ()


def test_an_adjustment_naming_nothing_is_skipped_with_a_warning():
    adjustments = parse_adjustments([{"type": "remove_item", "source": "invoice:gone"},
                                     {"type": "delay_invoice", "invoice_id": "gone",
                                      "days": 3}], "EUR")
    changed = apply(base_inputs(), adjustments)
    assert closing(changed) == D("750.00")
    assert len(changed.warnings) == 2 and "invoice:gone" in changed.warnings[0]


@pytest.mark.parametrize(("raw", "field"), [
    ({"type": "explode"}, "adjustments.0.type"),
    ({"type": "delay_invoice", "invoice_id": "x", "days": "3"}, "adjustments.0.days"),
    ({"type": "delay_invoice", "days": 3}, "adjustments.0.invoice_id"),
    ({"type": "add_item", "label": "x", "amount": "1.234", "date": "2026-01-01"},
     "adjustments.0.amount"),
    ({"type": "add_item", "label": "x", "amount": 5.5, "date": "2026-01-01"},
     "adjustments.0.amount"),
    ({"type": "add_item", "label": "x", "amount": "0", "date": "2026-01-01"},
     "adjustments.0.amount"),
    ({"type": "add_item", "label": "", "amount": "1", "date": "2026-01-01"},
     "adjustments.0.label"),
    ({"type": "add_item", "label": "x", "amount": "1", "date": "soon"}, "adjustments.0.date"),
    ({"type": "add_item", "label": "x", "amount": "1", "date": "9999-12-31",
      "period": "monthly"}, "adjustments.0.date"),
    ({"type": "add_item", "label": "x", "amount": "1", "date": "2026-01-01",
      "period": "daily"}, "adjustments.0.period"),
    ({"type": "add_item", "label": "x", "amount": "1", "date": "2026-01-01",
      "end_date": "2026-02-01"}, "adjustments.0.end_date"),
    ({"type": "remove_item", "source": "contact:1"}, "adjustments.0.source"),
    ({"type": "remove_item", "source": "invoice:1", "days": 2}, "adjustments.0.days"),
    ("not an object", "adjustments.0"),
])
def test_bad_adjustments_are_refused_by_field(raw, field):
    with pytest.raises(Invalid) as caught:
        parse_adjustments([raw], "EUR")
    assert field in [e.field for e in caught.value.errors]


def test_runway_expected_and_p10_to_zero_and_threshold():
    # given 1,000 today, 600 out on day 3; 500 in expected day 5 (P10: day 12)
    inputs = ForecastInputs(
        as_of=AS_OF, currency="EUR", opening=D("1000.00"),
        invoices=(OpenInvoice("s", "S", Direction.PAYABLE, "x", "X",
                              AS_OF + timedelta(days=3), D("600.00")),
                  OpenInvoice("o", "O", Direction.PAYABLE, "x", "X",
                              AS_OF + timedelta(days=8), D("700.00")),
                  OpenInvoice("r", "R", Direction.RECEIVABLE, "y", "Y",
                              AS_OF + timedelta(days=5), D("500.00"))))
    daily = forecast(inputs, horizon_days=30, granularity=Granularity.DAY)
    # expected: 400 from day 3, 900 from day 5, 200 from day 8: never < 0, < 500 on day 3
    expected = kpis.runway(daily, D("500.00"))
    assert (expected.below_zero, expected.below_threshold) == (None, AS_OF + timedelta(days=3))
    assert expected.days_to_threshold == 3 and expected.days_to_zero is None
    # P10: receivable at due + 30 (default P90 delay) → −300 on day 8
    p10 = kpis.runway(daily, D("500.00"), pessimistic=True)
    assert (p10.below_zero, p10.days_to_zero) == (AS_OF + timedelta(days=8), 8)
    with pytest.raises(ValueError):
        kpis.runway(forecast(inputs, horizon_days=30), D(0))


def test_burn_dso_dpo():
    months = [kpis.MonthTotals(date(2026, m, 1), D(i), D(o))
              for m, i, o in ((1, "1000", "3000"), (2, "2000", "2500"), (3, "4000", "3500"))]
    # gross (3000+2500+3500)/3 = 3000; net (2000+500−500)/3 = 666.67
    assert kpis.burn(months, D("0.01")) == (D("3000.00"), D("666.67"))
    assert kpis.burn([kpis.MonthTotals(date(2026, 1, 1), D(9), D(1))], D("0.01")) == (
        D("1.00"), D("0.00"))
    assert [str(x) for x in kpis.burn([], D("0.01"))] == ["0.00", "0.00"]
    # 30,000 owed on 90,000 invoiced in 90 days → 30 days
    assert kpis.days_outstanding(D(30000), D(90000)) == D("30.0")
    assert kpis.days_outstanding(D(1), D(3)) == D("30.0")
    assert kpis.days_outstanding(D(5), D(0)) is None


def owed(direction, contact, name, due_in, amount, status="open", manual=None):
    return kpis.OwedInvoice(direction, contact, name, status, AS_OF + timedelta(days=due_in),
                            D(amount), manual)


def test_owed_per_urgency_and_largest_parties():
    R, P = Direction.RECEIVABLE, Direction.PAYABLE
    invoices = [owed(R, "a", "Acme", -5, "100"), owed(R, "a", "Acme", 2, "50"),
                owed(R, "b", "Bolt", 6, "70"), owed(R, "c", "Cog", 20, "10"),
                owed(R, "c", "Cog", 60, "5", status="partially_paid"),
                owed(R, "d", "Dot", 60, "999", manual=1), owed(P, "s", "Sup", 1, "30")]
    receivable = kpis.by_urgency(invoices, R, AS_OF, THRESHOLDS)
    assert receivable == {"overdue": D("1099"), "critical": D("50"), "high": D("70"),
                          "medium": D("10"), "low": D("5")}
    assert kpis.by_urgency(invoices, P, AS_OF, THRESHOLDS)["critical"] == D("30")
    debtors = kpis.largest(invoices, R, top=2)
    assert [(p.name, p.outstanding, p.invoices) for p in debtors] == [
        ("Dot", D("999"), 1), ("Acme", D("150"), 2)]
    assert [p.name for p in kpis.largest(invoices, P)] == ["Sup"]
