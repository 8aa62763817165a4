"""The forecast: every input becomes one or more contributions (an amount on an expected
day, with a pessimistic P10 and an optimistic P90 placement), and contributions are summed
into day, week or month buckets over the horizon.

The band is built per input, pessimistically: in the P10 line every inflow comes at its
late end (P90 delay) with its low amount and every outflow at its early end with its high
amount; the P90 line is the mirror. Because each input's P10 placement is never better than
its expected one at any date, P10 ≤ expected ≤ P90 holds for every bucket by construction.
It assumes the inputs go wrong together, so the band is wider than a sum of independent
errors would give (docs/decisions/0020-forecast-band-from-input-quantiles.md)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from operator import itemgetter
from typing import NamedTuple

from smbfinance.cashflow.model import (
    Direction,
    ForecastInputs,
    OpenInvoice,
    PlannedItem,
    RecurringFlow,
)
from smbfinance.cashflow.periods import step
from smbfinance.money import minor_units, quantum

DEFAULT_HORIZON_DAYS = 90
MAX_HORIZON_DAYS = 730
# An invoice past its expected payment date is spread over the next weeks, most of it soon.
OVERDUE_WEIGHTS = (4, 3, 2, 1)
# The longer past the expected date, the less likely it is paid at all.
COLLECTION_PROBABILITY = ((30, Decimal("0.90")), (60, Decimal("0.70")), (90, Decimal("0.50")))
COLLECTION_PROBABILITY_AFTER = Decimal("0.25")
PERCENT = {p: f"{int(p * 100)}%" for _, p in COLLECTION_PROBABILITY} | {
    COLLECTION_PROBABILITY_AFTER: f"{int(COLLECTION_PROBABILITY_AFTER * 100)}%"}


class Granularity(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class Contribution(NamedTuple):
    """One amount expected on one day, and why. `source` is what a scenario names.
    (A named tuple: thousands are made per forecast, and a tuple is the cheapest record.)"""

    key: str
    source: str
    kind: str  # receivable | overdue_receivable | payable | recurring | planned
    label: str
    day: date | None  # None: expected after the horizon
    amount: Decimal
    low_day: date | None
    low_amount: Decimal
    high_day: date | None
    high_amount: Decimal
    reason: str


@dataclass(frozen=True)
class Bucket:
    start: date
    end: date  # inclusive
    opening: Decimal
    inflows: Decimal  # ≥ 0
    outflows: Decimal  # ≥ 0
    closing: Decimal
    low: Decimal  # P10 closing
    high: Decimal  # P90 closing
    items: tuple[Contribution, ...] = ()


@dataclass(frozen=True)
class Forecast:
    as_of: date
    horizon_days: int
    granularity: Granularity
    currency: str
    opening: Decimal
    buckets: tuple[Bucket, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def end(self) -> date:
        return self.as_of + timedelta(days=self.horizon_days - 1)


def collection_probability(days_past_expected: int) -> Decimal:
    for limit, probability in COLLECTION_PROBABILITY:
        if days_past_expected <= limit:
            return probability
    return COLLECTION_PROBABILITY_AFTER


def _allocate_units(units: int, weights: Sequence[int]) -> list[int]:
    """Split a non-negative whole number of minor units by weights, exactly: floor each
    share, then one more unit to the largest remainders (earliest first on ties)."""
    whole = sum(weights)
    floors = [units * weight // whole for weight in weights]
    left = units - sum(floors)
    if left:
        # Largest remainder first, earliest on ties: (-remainder, index) pairs sort so.
        for _, i in sorted([(-(units * weight % whole), i)
                            for i, weight in enumerate(weights)])[:left]:
            floors[i] += 1
    return floors


@lru_cache(maxsize=64)
def _places(currency: str) -> int:
    return minor_units(currency)


def allocate(total: Decimal, weights: Sequence[int], currency: str) -> list[Decimal]:
    """Split `total` by `weights` into amounts of the currency's precision that add up to
    `total` exactly (largest remainders get the leftover minor units)."""
    places = _places(currency)
    units = int(total.scaleb(places))  # exact: amounts are already at the currency's precision
    sign = -1 if units < 0 else 1
    return [Decimal(sign * part).scaleb(-places)
            for part in _allocate_units(abs(units), weights)]


def _within(day: date | None, end: date) -> date | None:
    return day if day is not None and day <= end else None


_iso = lru_cache(maxsize=4096)(date.isoformat)  # a few hundred distinct days per forecast
_WEEKS = tuple(timedelta(days=7 * week) for week in range(len(OVERDUE_WEIGHTS)))
_ZERO = Decimal(0)


_SPLIT = ", ".join(f"{w}/{sum(OVERDUE_WEIGHTS)}" for w in OVERDUE_WEIGHTS)
_NO_SHIFT = timedelta(0)
# A named tuple from a plain tuple, in C: half the cost of calling the class, whose
# generated __new__ is a Python function (thousands of records per forecast). The tuple
# must hold every field, in order.
_record = tuple.__new__
# A bucket's items all have a day (those without one are after the horizon, in no bucket).
_DAY_THEN_KEY = itemgetter(Contribution._fields.index("day"), Contribution._fields.index("key"))


@dataclass(frozen=True)
class _Habit:
    """A contact's delay as the per-invoice loop needs it, computed once per contact."""

    median: timedelta
    p10: timedelta
    p90: timedelta
    text: str


def _habit(inputs: ForecastInputs, contact_id: str | None, name: str,
           cache: dict[tuple[str | None, str], _Habit]) -> _Habit:
    found = cache.get((contact_id, name))
    if found is None:
        delay = inputs.delays.for_contact(contact_id)
        found = _Habit(timedelta(days=delay.median), timedelta(days=delay.p10),
                       timedelta(days=delay.p90), delay.describe(name))
        cache[(contact_id, name)] = found
    return found


def _invoice_contributions(invoice: OpenInvoice, inputs: ForecastInputs, end: date,
                           habits: dict[tuple[str | None, str], _Habit] | None = None
                           ) -> list[Contribution]:
    # Runs once per open invoice (thousands per forecast): plain locals, no helpers, no
    # max() (a call per date; a comparison is a third of it).
    as_of, due = inputs.as_of, invoice.due_date
    key = f"invoice:{invoice.id}"  # OpenInvoice.key, without the property call
    shift = timedelta(days=invoice.extra_delay_days) if invoice.extra_delay_days else _NO_SHIFT
    label = f"{invoice.number} · {invoice.contact_name}"
    moved = (f"; moved {invoice.extra_delay_days:+d} days by the scenario"
             if invoice.extra_delay_days else "")
    if invoice.direction is Direction.PAYABLE:
        day = due + shift
        if day < as_of:
            day = as_of
        when = (f"due {_iso(due)}" if due >= as_of
                else f"overdue since {_iso(due)}: assumed paid now")
        reason = f"Purchase invoice {invoice.number} from {invoice.contact_name}, {when}{moved}"
        amount = -invoice.outstanding
        inside = day if day <= end else None
        return [_record(Contribution, (key, key, "payable", label, inside, amount, inside,
                                       amount, inside, amount, reason))]
    cache = {} if habits is None else habits
    habit = cache.get((invoice.contact_id, invoice.contact_name)) or _habit(
        inputs, invoice.contact_id, invoice.contact_name, cache)
    expected = due + habit.median
    if expected >= as_of:
        day, low_day, high_day = expected + shift, due + habit.p90 + shift, due + habit.p10 + shift
        if day < as_of:
            day = as_of
        if low_day < as_of:
            low_day = as_of
        if high_day < as_of:
            high_day = as_of
        reason = (f"Sales invoice {invoice.number} to {invoice.contact_name}, due "
                  f"{_iso(due)}; {habit.text}: expected {_iso(day)}{moved}")
        amount = invoice.outstanding
        return [_record(Contribution, (key, key, "receivable", label,
                                       day if day <= end else None, amount,
                                       low_day if low_day <= end else None, amount,
                                       high_day if high_day <= end else None, amount, reason))]
    late = (as_of - expected).days
    probability = collection_probability(late)
    places = _places(inputs.currency)
    units = int(invoice.outstanding.scaleb(places))
    # Half-up rounding of units × probability, in integers (units are positive here).
    expected_units = _allocate_units((units * int(probability * 100) + 50) // 100,
                                     OVERDUE_WEIGHTS)
    high_units = _allocate_units(units, OVERDUE_WEIGHTS)
    # One sentence for the invoice's pieces: the key (#1…#4) says which week.
    reason = (f"Sales invoice {invoice.number} to {invoice.contact_name}, due {_iso(due)}, "
              f"{late} days past its expected payment date ({habit.text}): "
              f"{PERCENT[probability]} expected to be collected, spread over the next "
              f"{len(OVERDUE_WEIGHTS)} weeks ({_SPLIT}){moved}")
    high_day: date | None = as_of + shift if shift > _NO_SHIFT else as_of
    if high_day is not None and high_day > end:
        high_day = None
    pieces = []
    for week in range(len(OVERDUE_WEIGHTS)):
        day = as_of + _WEEKS[week] + shift
        if day < as_of:
            day = as_of
        part = Decimal(expected_units[week]).scaleb(-places)
        high = high_units[week]
        if high < expected_units[week]:
            high = expected_units[week]
        pieces.append(_record(Contribution, (
            f"{key}#{week + 1}", key, "overdue_receivable", label, day if day <= end else None,
            part, None, _ZERO, high_day, Decimal(high).scaleb(-places), reason)))
    return pieces


def _flow_contributions(flow: RecurringFlow, inputs: ForecastInputs,
                        end: date) -> list[Contribution]:
    as_of, unit = inputs.as_of, quantum(inputs.currency)
    spread, days = flow.amount_spread, timedelta(days=flow.day_spread)
    last = end + days
    out: list[Contribution] = []
    k = 0
    while True:
        scheduled = step(flow.next_date, flow.period, k, flow.anchor_day)
        if scheduled > last or (flow.end_date is not None and scheduled > flow.end_date):
            break
        amount = (flow.amount + flow.drift * k).quantize(unit)
        if amount == 0 or (amount > 0) != (flow.amount > 0):
            break  # drift has eaten the flow: do not turn a cost into an income
        day = max(as_of, scheduled)
        if amount > 0:
            low_amount, low_day = max(Decimal(0), amount - spread), day + days
            high_amount, high_day = amount + spread, max(as_of, day - days)
        else:
            low_amount, low_day = amount - spread, max(as_of, day - days)
            high_amount, high_day = min(Decimal(0), amount + spread), day + days
        late = (f"; expected {scheduled.isoformat()}, not seen yet"
                if scheduled < as_of else "")
        reason = (flow.reason or f"{flow.kind.capitalize()} {flow.period.value} flow "
                  f"{flow.label}") + f": occurrence {k + 1} on {day.isoformat()}{late}"
        out.append(Contribution(f"{flow.key}#{k + 1}", flow.key, flow.kind, flow.label,
                                _within(day, end), amount, _within(low_day, end), low_amount,
                                _within(high_day, end), high_amount, reason))
        k += 1
    return out


def _planned_contribution(item: PlannedItem, inputs: ForecastInputs,
                          end: date) -> list[Contribution]:
    if item.day < inputs.as_of or item.day > end:
        return []
    reason = f"Planned by hand: {item.label} on {item.day.isoformat()}"
    return [Contribution(item.key, item.key, "planned", item.label, item.day, item.amount,
                         item.day, item.amount, item.day, item.amount, reason)]


def contributions(inputs: ForecastInputs, end: date) -> list[Contribution]:
    """Every input's contributions up to `end` (inclusive)."""
    out: list[Contribution] = []
    habits: dict[tuple[str | None, str], _Habit] = {}
    for invoice in inputs.invoices:
        if invoice.outstanding > 0:
            out.extend(_invoice_contributions(invoice, inputs, end, habits))
    for flow in inputs.flows:
        out.extend(_flow_contributions(flow, inputs, end))
    for item in inputs.planned:
        out.extend(_planned_contribution(item, inputs, end))
    return [c for c in out if c.day or c.low_day or c.high_day]


def bucket_bounds(as_of: date, horizon_days: int,
                  granularity: Granularity) -> list[tuple[date, date]]:
    """Consecutive [start, end] ranges covering as_of … as_of + horizon − 1: days, ISO weeks
    (Monday to Sunday) or calendar months; the first and last may be partial."""
    if not 1 <= horizon_days <= MAX_HORIZON_DAYS:
        raise ValueError(f"horizon_days must be 1-{MAX_HORIZON_DAYS}")
    last = as_of + timedelta(days=horizon_days - 1)
    bounds = []
    start = as_of
    while start <= last:
        if granularity is Granularity.DAY:
            stop = start
        elif granularity is Granularity.WEEK:
            stop = start + timedelta(days=6 - start.weekday())
        else:
            following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
            stop = following - timedelta(days=1)
        stop = min(stop, last)
        bounds.append((start, stop))
        start = stop + timedelta(days=1)
    return bounds


def forecast(inputs: ForecastInputs, *, horizon_days: int = DEFAULT_HORIZON_DAYS,
             granularity: Granularity = Granularity.WEEK) -> Forecast:
    bounds = bucket_bounds(inputs.as_of, horizon_days, granularity)
    end = bounds[-1][1]
    index_of_day = [i for i, (start, stop) in enumerate(bounds)
                    for _ in range((stop - start).days + 1)]
    count = len(bounds)
    zero = Decimal(0)
    inflows, outflows = [zero] * count, [zero] * count
    low_delta, high_delta = [zero] * count, [zero] * count
    items: list[list[Contribution]] = [[] for _ in range(count)]

    # Day → bucket index; a day before as_of has no entry (KeyError: a bug upstream).
    slot = {inputs.as_of + timedelta(days=offset): index
            for offset, index in enumerate(index_of_day)}
    for c in contributions(inputs, end):
        if c.day is not None:
            i = slot[c.day]
            items[i].append(c)
            if c.amount > 0:
                inflows[i] += c.amount
            else:
                outflows[i] -= c.amount
        if c.low_day is not None:
            low_delta[slot[c.low_day]] += c.low_amount
        if c.high_day is not None:
            high_delta[slot[c.high_day]] += c.high_amount
    buckets = []
    balance = low = high = inputs.opening
    for i, (start, stop) in enumerate(bounds):
        opening = balance
        balance = opening + inflows[i] - outflows[i]
        low += low_delta[i]
        high += high_delta[i]
        ordered = tuple(sorted(items[i], key=_DAY_THEN_KEY))
        buckets.append(Bucket(start, stop, opening, inflows[i], outflows[i], balance, low,
                              high, ordered))
    return Forecast(inputs.as_of, horizon_days, granularity, inputs.currency, inputs.opening,
                    tuple(buckets), tuple(inputs.warnings))


def daily_closings(result: Forecast) -> Iterable[tuple[date, Decimal, Decimal]]:
    """(day, expected closing, P10 closing) per bucket end, for runway and alerts."""
    for bucket in result.buckets:
        yield bucket.end, bucket.closing, bucket.low
