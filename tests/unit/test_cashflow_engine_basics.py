"""Cash-flow engine basics: nearest-rank quantiles, payment delays per contact with the
tenant fallback, currency conversion through EUR, calendar steps. Hand-computed figures."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smbfinance.cashflow.conversion import RateMissing, RateTable
from smbfinance.cashflow.delays import (
    DEFAULT_DELAY,
    DelaySample,
    DelaySource,
    delay_model,
)
from smbfinance.cashflow.periods import Period, add_months, step
from smbfinance.cashflow.stats import quantile, quantiles, slope_and_intercept

D = Decimal


def test_nearest_rank_quantiles_answer_observed_values():
    # given the days 1..10
    values = list(range(1, 11))
    # when P10, median and P90 are taken by nearest rank
    # then rank ceil(1) = 1, ceil(5) = 5, ceil(9) = 9
    assert quantiles(values, 10, 50, 90) == (1, 5, 9)
    # and with counts, 4 × 0 and 1 × 100: the median is 0, the P90 is 100 (rank 5 of 5)
    assert quantile([(0, 4), (100, 1)], 50) == 0
    assert quantile([(100, 1), (0, 4)], 90) == 100


def test_quantile_refuses_nothing_and_bad_percent():
    with pytest.raises(ValueError):
        quantile([], 50)
    with pytest.raises(ValueError):
        quantile([(1, 1)], 0)


@given(st.lists(st.integers(-100, 100), min_size=1, max_size=40))
def test_quantiles_are_ordered_and_observed(values):
    p10, median, p90 = quantiles(values, 10, 50, 90)
    assert p10 <= median <= p90
    assert {p10, median, p90} <= set(values)


def test_least_squares_slope_is_exact():
    # given 100, 110, 120 at 0, 1, 2
    slope, intercept = slope_and_intercept([0, 1, 2], [D(100), D(110), D(120)])
    # then the line is 100 + 10 x
    assert (slope, intercept) == (D(10), D(100))
    # and one point has no slope
    assert slope_and_intercept([3], [D(5)]) == (D(0), D(5))


def test_a_contact_with_three_paid_invoices_has_its_own_delay():
    # given Acme paid 2, 10 and 30 days late, Bolt paid twice on time
    model = delay_model([DelaySample("acme", 2), DelaySample("acme", 10),
                         DelaySample("acme", 30), DelaySample("bolt", 0, count=2)])
    # when their delays are read
    acme, bolt = model.for_contact("acme"), model.for_contact("bolt")
    # then Acme's are its own: ranks 1, 2, 3 of 3
    assert (acme.p10, acme.median, acme.p90, acme.samples) == (2, 10, 30, 3)
    assert acme.source is DelaySource.CONTACT
    # and Bolt (2 invoices) falls back to the tenant's pooled 0, 0, 2, 10, 30
    assert (bolt.p10, bolt.median, bolt.p90, bolt.samples) == (0, 2, 30, 5)
    assert bolt.source is DelaySource.TENANT
    # and an unknown contact too
    assert model.for_contact("nobody") == model.tenant == bolt


def test_without_enough_history_the_default_delay_applies():
    # given two paid invoices in the whole company
    model = delay_model([DelaySample("acme", 5), DelaySample("bolt", 7)])
    # then everyone gets the default: on the due date, up to 30 days late
    assert model.for_contact("acme") is DEFAULT_DELAY
    assert (DEFAULT_DELAY.p10, DEFAULT_DELAY.median, DEFAULT_DELAY.p90) == (0, 0, 30)
    assert "no payment history" in DEFAULT_DELAY.describe("Acme")


def test_early_payers_have_negative_delays_and_say_so():
    model = delay_model([DelaySample("acme", -3, count=3)])
    assert model.for_contact("acme").median == -3
    assert "3 days early" in model.for_contact("acme").describe("Acme")


def test_rates_convert_through_eur_rounded_half_up():
    # given 1 EUR = 1.10 USD = 0.85 GBP
    rates = {"USD": (D("1.10"), date(2026, 1, 2)), "GBP": (D("0.85"), date(2026, 1, 2))}
    eur = RateTable("EUR", date(2026, 1, 2), rates)
    usd = RateTable("USD", date(2026, 1, 2), rates)
    # then 110 USD is 100 EUR, 100 EUR is 110 USD, 85 GBP is 110 USD (cross via EUR)
    assert eur.to_base(D("110.00"), "USD") == D("100.00")
    assert usd.to_base(D("100.00"), "EUR") == D("110.00")
    assert usd.to_base(D("85.00"), "GBP") == D("110.00")
    # and 1 USD is 0.909090.. EUR: 0.91 half-up
    assert eur.to_base(D("1.00"), "USD") == D("0.91")
    assert eur.to_base(D("5.00"), "EUR") == D("5.00")
    assert usd.rate("GBP") == D("1.10") / D("0.85")


def test_a_missing_rate_is_said_not_guessed():
    eur = RateTable("EUR", date(2026, 1, 2), {})
    with pytest.raises(RateMissing):
        eur.to_base(D("1.00"), "CHF")
    assert not eur.has("CHF") and eur.has("EUR")


def test_monthly_steps_keep_the_anchor_day_through_short_months():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert step(date(2026, 1, 31), Period.MONTHLY, 2) == date(2026, 3, 31)
    assert step(date(2026, 2, 28), Period.MONTHLY, 1, anchor_day=31) == date(2026, 3, 31)
    assert step(date(2025, 11, 20), Period.QUARTERLY, 1) == date(2026, 2, 20)
    assert step(date(2026, 1, 1), Period.WEEKLY, 3) == date(2026, 1, 22)
