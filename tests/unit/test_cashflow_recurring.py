"""Recurring flows from bank history: period (weekly, monthly, quarterly), amount and
drift, missed months, stopped series, and what is not a series. Hand-computed figures."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from smbfinance.cashflow.periods import Period, add_months
from smbfinance.cashflow.recurring import Occurrence, detect

D = Decimal


def monthly(first: date, amounts: list[str], skip: tuple[int, ...] = ()) -> list[Occurrence]:
    return [Occurrence(add_months(first, i), D(a)) for i, a in enumerate(amounts)
            if i not in skip]


def test_monthly_rent_on_the_first():
    # given rent of 1,500 paid on the 1st for six months
    occurrences = monthly(date(2026, 1, 1), ["-1500.00"] * 6)
    # when detected on 10 June
    series = detect("k", "Landlord", occurrences, as_of=date(2026, 6, 10))
    # then it is monthly, 1,500 out, no drift, no spread, next on 1 July
    assert series is not None
    assert series.period is Period.MONTHLY
    assert (series.amount, series.drift, series.amount_spread) == (D("-1500.00"), 0, 0)
    assert (series.next_date, series.anchor_day, series.day_spread) == (date(2026, 7, 1), 1, 0)
    assert (series.occurrences, series.missed, series.active) == (6, 0, True)


def test_salaries_drifting_up_ten_a_month():
    # given salaries 3,000, 3,010 … 3,040 on the 25th
    occurrences = monthly(date(2026, 1, 25), ["-3000", "-3010", "-3020", "-3030", "-3040"])
    # when detected early June
    series = detect("k", "Payroll", occurrences, as_of=date(2026, 6, 2))
    # then the line is −3000 − 10 x: drift −10 per month, next (slot 5) −3,050 on 25 June
    assert series is not None
    assert (series.drift, series.amount) == (D("-10.00"), D("-3050.00"))
    assert series.next_date == date(2026, 6, 25)
    assert series.amount_spread == 0


def test_a_missed_month_is_counted_and_the_line_skips_its_slot():
    # given a subscription Jan … Aug 2026 on the 10th without March, 100 then 102 …
    amounts = ["-100", "-101", "-999", "-103", "-104", "-105", "-106", "-107"]
    occurrences = monthly(date(2026, 1, 10), amounts, skip=(2,))
    # when detected on 15 August
    series = detect("k", "SaaS", occurrences, as_of=date(2026, 8, 15))
    # then March is one missed slot out of 7 gaps spanning 8 slots…
    assert series is not None and series.period is Period.MONTHLY
    assert (series.missed, series.occurrences) == (1, 7)
    # …and since the slots keep their calendar positions the line is exact: −100 − x
    assert (series.drift, series.amount) == (D("-1.00"), D("-108.00"))
    assert series.next_date == date(2026, 9, 10)


def test_too_many_missed_months_is_not_a_series():
    # given payments in Jan, Mar, May (every other month): half the monthly slots missed
    occurrences = monthly(date(2026, 1, 5), ["-50"] * 5, skip=(1, 3))
    # then neither monthly (2 of 4 missed) nor weekly nor quarterly
    assert detect("k", "x", occurrences, as_of=date(2026, 5, 20)) is None


def test_quarterly_vat():
    # given VAT paid on the 20th after each quarter
    days = [date(2025, 4, 20), date(2025, 7, 20), date(2025, 10, 20), date(2026, 1, 20)]
    amounts = ["-4000", "-4400", "-3900", "-4300"]
    series = detect("k", "FOD Financiën", [Occurrence(d, D(a)) for d, a in
                                          zip(days, amounts, strict=True)],
                    as_of=date(2026, 2, 1))
    # then quarterly, next on 20 April; over x = 0..3 (mean 1.5, mean y −4150) Sxx = 5,
    # Sxy = −200: slope −40, intercept −4090; at slot 4, −4250
    assert series is not None and series.period is Period.QUARTERLY
    assert series.next_date == date(2026, 4, 20)
    assert (series.drift, series.amount) == (D("-40.00"), D("-4250.00"))
    # fitted −4090, −4130, −4170, −4210: residuals 90, 270, 270, 90; P90 (rank 4 of 4) 270
    assert series.amount_spread == D("270.00")


def test_weekly_cleaning_and_its_day_spread():
    # given a cleaner paid every Friday, once a day late
    start = date(2026, 3, 6)
    days = [start + timedelta(days=7 * i) for i in range(6)]
    days[3] += timedelta(days=1)
    occurrences = [Occurrence(d, D("-80")) for d in days]
    series = detect("k", "Cleaner", occurrences, as_of=days[-1] + timedelta(days=2))
    # then weekly; gaps 7,7,8,6,7 stray 0,0,1,1,0 days: P90 (rank 5 of 5) is 1
    assert series is not None and series.period is Period.WEEKLY
    assert series.day_spread == 1
    assert series.next_date == days[-1] + timedelta(days=7)
    assert series.anchor_day is None


def test_payments_around_the_turn_of_the_month_follow_the_latest_day():
    # given salaries on 31 Jan, 2 Mar (late), 31 Mar, 30 Apr
    days = [date(2026, 1, 31), date(2026, 3, 2), date(2026, 3, 31), date(2026, 4, 30)]
    series = detect("k", "x", [Occurrence(d, D("-10")) for d in days], as_of=date(2026, 5, 5))
    # then monthly, anchored on the latest day (30), next 30 May
    assert series is not None and series.period is Period.MONTHLY
    assert (series.anchor_day, series.next_date) == (30, date(2026, 5, 30))


def test_a_series_not_seen_for_more_than_two_periods_has_stopped():
    occurrences = monthly(date(2025, 10, 1), ["-20"] * 4)  # Oct … Jan
    series = detect("k", "Old", occurrences, as_of=date(2026, 4, 15))
    assert series is not None and not series.active


def test_a_late_payment_keeps_its_date_and_a_missed_one_is_skipped():
    occurrences = monthly(date(2026, 1, 1), ["-10"] * 4)  # Jan … Apr
    # when detected on 5 May (payment of 1 May not seen yet, less than half a month late)
    late = detect("k", "x", occurrences, as_of=date(2026, 5, 5))
    # then the next is still 1 May (the forecast places it today)
    assert late is not None and late.next_date == date(2026, 5, 1) and late.active
    # and on 20 May it counts as missed: next is 1 June
    missed = detect("k", "x", occurrences, as_of=date(2026, 5, 20))
    assert missed is not None and missed.next_date == date(2026, 6, 1)


def test_what_is_not_a_series():
    two = monthly(date(2026, 1, 1), ["-10"] * 2)
    mixed = monthly(date(2026, 1, 1), ["-10", "10", "-10", "-10"])
    random_days = [Occurrence(date(2026, 1, d), D("-5")) for d in (1, 4, 19, 20)]
    same_day = [Occurrence(date(2026, 1, 1), D("-5"))] * 3
    for occurrences in (two, mixed, random_days, same_day):
        assert detect("k", "x", occurrences, as_of=date(2026, 6, 1)) is None


def test_future_rows_are_not_history():
    # given four monthly rows of which the last is after as_of
    occurrences = monthly(date(2026, 1, 1), ["-10"] * 4)
    series = detect("k", "x", occurrences, as_of=date(2026, 3, 15))
    # then only Jan..Mar count
    assert series is not None and series.occurrences == 3
