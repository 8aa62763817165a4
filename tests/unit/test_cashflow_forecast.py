"""The forecast engine on hand-built inputs: buckets, expected payment dates from each
contact's delay, overdue spreading, recurring flows with their band, and properties that
must always hold (closing = opening + in − out, P10 ≤ expected ≤ P90, amounts conserved
whatever the bucket size)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smbfinance.cashflow.delays import DelaySample, delay_model
from smbfinance.cashflow.forecast import (
    Contribution,
    Granularity,
    allocate,
    bucket_bounds,
    collection_probability,
    contributions,
    forecast,
)
from smbfinance.cashflow.model import (
    Direction,
    ForecastInputs,
    OpenInvoice,
    PlannedItem,
    RecurringFlow,
)
from smbfinance.cashflow.periods import Period

D = Decimal
MONDAY = date(2026, 1, 5)
ACME_DELAYS = delay_model([DelaySample("acme", 0), DelaySample("acme", 3),
                           DelaySample("acme", 10)])  # P10 0, median 3, P90 10


def receivable(number: str, due: date, amount: str, contact: str = "acme") -> OpenInvoice:
    return OpenInvoice(number, number, Direction.RECEIVABLE, contact, contact.title(), due,
                       D(amount))


def payable(number: str, due: date, amount: str) -> OpenInvoice:
    return OpenInvoice(number, number, Direction.PAYABLE, "sup", "Supplier", due, D(amount))


def test_two_weeks_by_hand():
    # given 1,000 on Monday 5 Jan; Acme owes 500 due Wed 7 Jan (pays +3, P10 0, P90 +10);
    # we owe 300 due Mon 12 Jan; 100 planned out on Tue 6 Jan
    inputs = ForecastInputs(
        as_of=MONDAY, currency="EUR", opening=D("1000.00"), delays=ACME_DELAYS,
        invoices=(receivable("F1", date(2026, 1, 7), "500.00"),
                  payable("P1", date(2026, 1, 12), "300.00")),
        planned=(PlannedItem("planned:1", "Repairs", date(2026, 1, 6), D("-100.00")),))
    # when forecast over 14 days in weeks
    result = forecast(inputs, horizon_days=14, granularity=Granularity.WEEK)
    week1, week2 = result.buckets
    # then week 1 (5-11 Jan): F1 expected Sat 10 Jan, repairs on the 6th
    assert (week1.start, week1.end) == (date(2026, 1, 5), date(2026, 1, 11))
    assert (week1.opening, week1.inflows, week1.outflows, week1.closing) == (
        D("1000.00"), D("500.00"), D("100.00"), D("1400.00"))
    # P10: F1 at its P90 delay (17 Jan, week 2) → 900; P90: F1 on the due date → 1,400
    assert (week1.low, week1.high) == (D("900.00"), D("1400.00"))
    # and week 2 (12-18 Jan): P1 goes out; the P10 line gets F1 back
    assert (week2.opening, week2.inflows, week2.outflows, week2.closing) == (
        D("1400.00"), D("0"), D("300.00"), D("1100.00"))
    assert (week2.low, week2.high) == (D("1100.00"), D("1100.00"))
    # and every number says why
    assert [item.key for item in week1.items] == ["planned:1", "invoice:F1"]
    f1 = week1.items[1]
    assert f1.day == date(2026, 1, 10)
    assert "usually pay 3 days late (median of 3 paid invoices" in f1.reason
    assert [item.key for item in week2.items] == ["invoice:P1"]


def test_overdue_receivable_spread_over_four_weeks_with_decreasing_weight():
    # given an invoice of 1,000 due 45 days ago; nobody has history (pays on the due date)
    as_of = date(2026, 3, 2)
    invoice = receivable("F9", as_of - timedelta(days=45), "1000.00", contact="zed")
    inputs = ForecastInputs(as_of=as_of, currency="EUR", opening=D(0), invoices=(invoice,))
    pieces = contributions(inputs, as_of + timedelta(days=89))
    # then 70% (31-60 days late) = 700 expected: 4/10, 3/10, 2/10, 1/10, weekly from today
    assert collection_probability(45) == D("0.70")
    assert [(p.day, p.amount) for p in pieces] == [
        (as_of, D("280.00")), (as_of + timedelta(days=7), D("210.00")),
        (as_of + timedelta(days=14), D("140.00")), (as_of + timedelta(days=21), D("70.00"))]
    # and the P10 counts none of it, the P90 all 1,000 today
    assert all(p.low_day is None and p.low_amount == 0 for p in pieces)
    assert sum(p.high_amount for p in pieces) == D("1000.00")
    assert {p.high_day for p in pieces} == {as_of}
    assert all(p.source == "invoice:F9" for p in pieces)


def test_collection_probability_falls_with_lateness():
    assert [collection_probability(d) for d in (1, 30, 31, 60, 61, 90, 91, 400)] == [
        D("0.90"), D("0.90"), D("0.70"), D("0.70"), D("0.50"), D("0.50"), D("0.25"),
        D("0.25")]


def test_an_invoice_past_due_but_within_the_contacts_usual_delay_is_not_overdue_here():
    # given Acme pays 3 days late and F2 was due 2 days ago
    invoice = receivable("F2", MONDAY - timedelta(days=2), "50.00")
    inputs = ForecastInputs(as_of=MONDAY, currency="EUR", opening=D(0), invoices=(invoice,),
                            delays=ACME_DELAYS)
    (only,) = contributions(inputs, MONDAY + timedelta(days=30))
    # then it is expected tomorrow, whole, with P90 today and P10 at due + 10
    assert (only.kind, only.day, only.amount) == ("receivable", MONDAY + timedelta(days=1),
                                                  D("50.00"))
    assert (only.high_day, only.low_day) == (MONDAY, MONDAY + timedelta(days=8))


def test_an_overdue_payable_is_assumed_paid_today():
    inputs = ForecastInputs(as_of=MONDAY, currency="EUR", opening=D(0),
                            invoices=(payable("P2", MONDAY - timedelta(days=20), "75.00"),))
    (only,) = contributions(inputs, MONDAY + timedelta(days=30))
    assert (only.day, only.amount, only.low_day, only.high_day) == (
        MONDAY, D("-75.00"), MONDAY, MONDAY)
    assert "assumed paid now" in only.reason


def test_monthly_flow_with_drift_and_band():
    # given rent of 1,000 on the 31st from 31 Jan, +10 a month, ± 50, ± 2 days
    flow = RecurringFlow(key="recurring:r", kind="recurring", label="Rent",
                         period=Period.MONTHLY, next_date=date(2026, 1, 31),
                         amount=D("-1000.00"), drift=D("-10.00"), amount_spread=D("50.00"),
                         day_spread=2, anchor_day=31)
    inputs = ForecastInputs(as_of=date(2026, 1, 20), currency="EUR", opening=D(0),
                            flows=(flow,))
    items = contributions(inputs, date(2026, 3, 31))
    # then 31 Jan −1,000, 28 Feb −1,010, 31 Mar −1,020
    assert [(c.day, c.amount) for c in items] == [
        (date(2026, 1, 31), D("-1000.00")), (date(2026, 2, 28), D("-1010.00")),
        (date(2026, 3, 31), D("-1020.00"))]
    # and the P10 pays 50 more two days early, the P90 50 less two days late (the last one
    # falls after the horizon in the P90 line)
    assert next((c.low_day, c.low_amount) for c in items) == (date(2026, 1, 29), D("-1050.00"))
    assert next((c.high_day, c.high_amount) for c in items) == (date(2026, 2, 2), D("-950.00"))
    assert items[2].high_day is None


def test_a_flow_that_drifts_past_zero_stops_instead_of_turning_into_income():
    flow = RecurringFlow(key="planned:x", kind="planned", label="Loan", period=Period.MONTHLY,
                         next_date=date(2026, 1, 10), amount=D("-20.00"), drift=D("15.00"))
    inputs = ForecastInputs(as_of=date(2026, 1, 1), currency="EUR", opening=D(0),
                            flows=(flow,))
    assert [c.amount for c in contributions(inputs, date(2026, 12, 31))] == [D("-20.00"),
                                                                              D("-5.00")]


def test_planned_items_outside_the_horizon_or_past_are_left_out():
    inputs = ForecastInputs(as_of=MONDAY, currency="EUR", opening=D(0), planned=(
        PlannedItem("planned:a", "Past", MONDAY - timedelta(days=1), D("-5.00")),
        PlannedItem("planned:b", "Later", MONDAY + timedelta(days=40), D("-5.00")),
        PlannedItem("planned:c", "Now", MONDAY, D("7.00"))))
    assert [c.key for c in contributions(inputs, MONDAY + timedelta(days=30))] == ["planned:c"]


def test_bucket_bounds_for_each_granularity():
    as_of = date(2026, 1, 20)  # a Tuesday
    assert bucket_bounds(as_of, 45, Granularity.MONTH) == [
        (date(2026, 1, 20), date(2026, 1, 31)), (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 5))]
    assert bucket_bounds(as_of, 10, Granularity.WEEK) == [
        (date(2026, 1, 20), date(2026, 1, 25)), (date(2026, 1, 26), date(2026, 1, 29))]
    assert len(bucket_bounds(as_of, 90, Granularity.DAY)) == 90
    assert bucket_bounds(date(2026, 12, 20), 20, Granularity.MONTH)[-1] == (
        date(2027, 1, 1), date(2027, 1, 8))
    with pytest.raises(ValueError):
        bucket_bounds(as_of, 0, Granularity.DAY)


def test_allocate_sums_exactly():
    assert allocate(D("100.00"), (1, 1, 1), "EUR") == [D("33.34"), D("33.33"), D("33.33")]
    assert allocate(D("-0.05"), (4, 3, 2, 1), "EUR") == [D("-0.02"), D("-0.02"), D("-0.01"),
                                                         D("0.00")]
    assert allocate(D("7"), (4, 3, 2, 1), "JPY") == [D("3"), D("2"), D("1"), D("1")]


@given(st.lists(st.integers(0, 10**8), min_size=1, max_size=6).filter(lambda w: sum(w) > 0),
       st.integers(-10**9, 10**9))
def test_allocate_property(weights, cents):
    total = D(cents).scaleb(-2)
    parts = allocate(total, weights, "EUR")
    assert sum(parts) == total
    assert all(p.as_tuple().exponent == -2 for p in parts)


# --- properties over random inputs -------------------------------------------------------

amounts = st.integers(1, 10**7).map(lambda c: D(c).scaleb(-2))
offsets = st.integers(-120, 200)


@st.composite
def inputs_strategy(draw: st.DrawFn) -> ForecastInputs:
    as_of = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 365)))
    samples = draw(st.lists(st.builds(DelaySample, st.sampled_from(["a", "b", None]),
                                      st.integers(-10, 60), st.integers(1, 3)), max_size=8))
    invoices = tuple(
        OpenInvoice(str(n), f"N{n}", draw(st.sampled_from(list(Direction))),
                    draw(st.sampled_from(["a", "b", "c"])), "X",
                    as_of + timedelta(days=draw(offsets)), draw(amounts),
                    draw(st.integers(-30, 30)))
        for n in range(draw(st.integers(0, 8))))
    flows = tuple(
        RecurringFlow(key=f"recurring:{n}", kind="recurring", label="F",
                      period=draw(st.sampled_from(list(Period))),
                      next_date=as_of + timedelta(days=draw(st.integers(-10, 60))),
                      amount=draw(amounts) * draw(st.sampled_from([1, -1])),
                      drift=D(draw(st.integers(-500, 500))).scaleb(-2),
                      amount_spread=draw(amounts) / 10 if draw(st.booleans()) else D(0),
                      day_spread=draw(st.integers(0, 5)))
        for n in range(draw(st.integers(0, 4))))
    flows = tuple(f.__class__(**{**f.__dict__, "amount_spread": f.amount_spread.quantize(
        D("0.01"))}) for f in flows)
    planned = tuple(PlannedItem(f"planned:{n}", "P", as_of + timedelta(days=draw(offsets)),
                                draw(amounts) * draw(st.sampled_from([1, -1])))
                    for n in range(draw(st.integers(0, 4))))
    return ForecastInputs(as_of=as_of, currency="EUR", opening=draw(amounts) - D(50000),
                          invoices=invoices, flows=flows, planned=planned,
                          delays=delay_model(samples))


@settings(max_examples=150, deadline=None)
@given(inputs_strategy(), st.integers(1, 200), st.sampled_from(list(Granularity)))
def test_forecast_invariants(inputs, horizon, granularity):
    result = forecast(inputs, horizon_days=horizon, granularity=granularity)
    buckets = result.buckets
    # the buckets tile the horizon with no gap
    assert buckets[0].start == inputs.as_of and buckets[-1].end == result.end
    for before, after in itertools.pairwise(buckets):
        assert after.start == before.end + timedelta(days=1)
        assert after.opening == before.closing
    assert buckets[0].opening == inputs.opening
    for bucket in buckets:
        # closing = opening + in − out
        assert bucket.closing == bucket.opening + bucket.inflows - bucket.outflows
        assert bucket.inflows >= 0 and bucket.outflows >= 0
        # band ordering
        assert bucket.low <= bucket.closing <= bucket.high
        # the items listed are exactly the bucket's flows
        assert sum((c.amount for c in bucket.items if c.amount > 0), D(0)) == bucket.inflows
        assert -sum((c.amount for c in bucket.items if c.amount < 0), D(0)) == bucket.outflows
        assert all(bucket.start <= c.day <= bucket.end for c in bucket.items)
    # every record is whole (they are made from plain tuples), items in (day, key) order
    made = contributions(inputs, result.end)
    assert all(len(c) == len(Contribution._fields) for c in made)
    for bucket in buckets:
        assert list(bucket.items) == sorted(bucket.items, key=lambda c: (c.day, c.key))
    # conservation: what the contributions put inside the horizon is what the buckets hold
    inside = [c for c in made if c.day is not None]
    net = sum((c.amount for c in inside), D(0))
    assert buckets[-1].closing - inputs.opening == net
    # and regrouping by another bucket size moves nothing
    for other in Granularity:
        again = forecast(inputs, horizon_days=horizon, granularity=other)
        assert (again.buckets[-1].closing, again.buckets[-1].low, again.buckets[-1].high) == (
            buckets[-1].closing, buckets[-1].low, buckets[-1].high)


def test_open_invoices_are_assembled_as_whole_records_in_base_currency():
    # given two rows as the database gives them, one in the base currency, one not
    from smbfinance.cashflow.assemble import invoices
    from smbfinance.cashflow.conversion import RateTable
    from smbfinance.cashflow.gather import InvoiceRow

    rows = [InvoiceRow("1", "N1", "receivable", "c", "Acme", "open", date(2026, 3, 1),
                       D("100.00"), "EUR", D("1"), None),
            InvoiceRow("2", "N2", "payable", None, "Bolt", "open", date(2026, 3, 2),
                       D("50.00"), "USD", D("0.5"), None)]
    warnings: list[str] = []
    # when they are assembled without a USD rate
    made = invoices(rows, RateTable("EUR", date(2026, 3, 1), {}), warnings)
    # then each is a whole OpenInvoice, the USD one at its own rate, with a warning
    assert made == (
        OpenInvoice("1", "N1", Direction.RECEIVABLE, "c", "Acme", date(2026, 3, 1),
                    D("100.00")),
        OpenInvoice("2", "N2", Direction.PAYABLE, None, "Bolt", date(2026, 3, 2), D("25.00")))
    assert all(len(i) == len(OpenInvoice._fields) for i in made)
    assert len(warnings) == 1 and "USD" in warnings[0]
