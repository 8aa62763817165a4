"""Recurring flows detected from bank history: rent, salaries, loan repayments,
subscriptions, quarterly VAT.

One counterparty's movements in one direction (grouped by PostgreSQL) are a series when
the gaps between them are whole weeks, months or quarters give or take a few days, with at
most a quarter of the slots missed. The amount is a least-squares line over the slots
(its slope is the drift per period), the spread is the P90 of the distances to that line,
and the day spread is the P90 of how far each gap strays from a whole period. A series not
seen for more than two periods has stopped and is not forecast."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

from smbfinance.cashflow.periods import Period, add_months, step
from smbfinance.cashflow.stats import quantile, slope_and_intercept

MIN_OCCURRENCES = 3
# How far a gap may stray from a whole number of periods, in days.
TOLERANCE_DAYS = {Period.WEEKLY: 1, Period.MONTHLY: 5, Period.QUARTERLY: 10}
# Average length used to count whole periods in a gap.
AVERAGE_DAYS = {Period.WEEKLY: Decimal(7), Period.MONTHLY: Decimal("30.44"),
                Period.QUARTERLY: Decimal("91.31")}
MAX_SLOTS_PER_GAP = 3  # more than two missed in a row is not the same series
MAX_MISSED_SHARE = Decimal("0.25")
FIT_LAST = 12  # the amount line is fitted on the latest occurrences only


@dataclass(frozen=True)
class Occurrence:
    day: date
    amount: Decimal  # signed


@dataclass(frozen=True)
class DetectedSeries:
    key: str
    label: str
    period: Period
    amount: Decimal  # expected at next_date, signed
    drift: Decimal  # per period
    amount_spread: Decimal
    day_spread: int
    anchor_day: int | None
    first_seen: date
    last_seen: date
    next_date: date
    occurrences: int
    missed: int
    active: bool

    def describe(self) -> str:
        drift = f", drifting {self.drift:+} per period" if self.drift else ""
        missed = f", {self.missed} missed" if self.missed else ""
        return (f"{self.label}: {self.period.value}, seen {self.occurrences} times from "
                f"{self.first_seen.isoformat()} to {self.last_seen.isoformat()}{missed}; "
                f"about {self.amount} ± {self.amount_spread}{drift}")


def _slots(days: Sequence[date], period: Period) -> list[int] | None:
    """Whole periods in each gap, or None when a gap is not close to whole periods."""
    slots = []
    for before, after in pairwise(days):
        gap = Decimal((after - before).days)
        whole = int((gap / AVERAGE_DAYS[period]).to_integral_value())
        if whole < 1 or whole > MAX_SLOTS_PER_GAP:
            return None
        if abs(gap - whole * AVERAGE_DAYS[period]) > TOLERANCE_DAYS[period] + (whole - 1) * 2:
            return None
        slots.append(whole)
    return slots


def _gap_deviation(before: date, after: date, whole: int, period: Period,
                   anchor_day: int | None) -> int:
    expected = step(before, period, whole, anchor_day)
    return abs((after - expected).days)


def _anchor_day(days: Sequence[date], period: Period) -> int | None:
    if period is Period.WEEKLY:
        return None
    month_days = sorted(day.day for day in days)
    if month_days[-1] - month_days[0] > 15:
        return days[-1].day  # paid around the turn of the month: follow the latest
    return quantile([(d, 1) for d in month_days], 50)


def detect(key: str, label: str, occurrences: Sequence[Occurrence], *,
           as_of: date, currency_unit: Decimal = Decimal("0.01")) -> DetectedSeries | None:
    """The series in these occurrences (one counterparty, one direction), or None."""
    ordered = sorted((o for o in occurrences if o.day <= as_of), key=lambda o: o.day)
    if len(ordered) < MIN_OCCURRENCES or len({o.amount > 0 for o in ordered}) != 1:
        return None
    days = [o.day for o in ordered]
    if len(set(days)) != len(days):
        return None  # two on one day: not one regular flow
    for period in (Period.WEEKLY, Period.MONTHLY, Period.QUARTERLY):
        slots = _slots(days, period)
        if slots is None:
            continue
        missed = sum(slots) - len(slots)
        if Decimal(missed) > MAX_MISSED_SHARE * sum(slots):
            continue
        return _series(key, label, ordered, period, slots, missed, as_of, currency_unit)
    return None


def _series(key: str, label: str, ordered: Sequence[Occurrence], period: Period,
            slots: list[int], missed: int, as_of: date, unit: Decimal) -> DetectedSeries:
    positions = [0]
    for whole in slots:
        positions.append(positions[-1] + whole)
    fit_x, fit_y = positions[-FIT_LAST:], [o.amount for o in ordered[-FIT_LAST:]]
    slope, intercept = slope_and_intercept(fit_x, fit_y)
    if len(fit_x) < 4:  # too few points to tell a trend from noise
        slope, intercept = Decimal(0), sum(fit_y, Decimal(0)) / len(fit_y)
    residuals = [abs(y - (intercept + slope * x)).quantize(unit) for x, y in zip(fit_x, fit_y,
                                                                                  strict=True)]
    spread = Decimal(quantile([(int(r / unit), 1) for r in residuals], 90)) * unit
    anchor = _anchor_day([o.day for o in ordered], period)
    deviations = [_gap_deviation(a.day, b.day, whole, period, anchor)
                  for a, b, whole in zip(ordered, ordered[1:], slots, strict=False)]
    day_spread = quantile([(d, 1) for d in deviations], 90)
    last = ordered[-1].day
    position = positions[-1] + 1
    following = next_after(last, period, anchor)
    # Skip occurrences more than half a period late: they were missed, not delayed.
    half = timedelta(days=period.days // 2)
    while following < as_of - half:
        following = next_after(following, period, anchor)
        position += 1
    active = (as_of - last).days <= 2 * period.days + TOLERANCE_DAYS[period]
    drift = slope.quantize(unit)
    amount = (intercept + slope * position).quantize(unit)
    if (amount > 0) != (ordered[-1].amount > 0) or amount == 0:
        amount, drift = ordered[-1].amount, Decimal(0)
    return DetectedSeries(
        key=key, label=label, period=period, amount=amount, drift=drift,
        amount_spread=spread, day_spread=day_spread, anchor_day=anchor,
        first_seen=ordered[0].day, last_seen=last, next_date=following,
        occurrences=len(ordered), missed=missed, active=active)


def next_after(day: date, period: Period, anchor_day: int | None) -> date:
    if period is Period.WEEKLY:
        return day + timedelta(days=7)
    return add_months(day, period.months, anchor_day)
