"""Key figures: runway (expected and P10, to zero and to the tenant's threshold), monthly
burn, DSO, DPO, what is owed per urgency level, and the largest debtors and creditors."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from smbfinance.cashflow.forecast import Forecast, Granularity
from smbfinance.cashflow.model import Direction
from smbfinance.invoices.rules import Urgency, effective_urgency

TOP = 5
DSO_WINDOW_DAYS = 90


@dataclass(frozen=True)
class Runway:
    """First day the balance falls below zero / below the threshold; None: not within
    the horizon (then `days` is None too)."""

    below_zero: date | None
    below_threshold: date | None
    days_to_zero: int | None
    days_to_threshold: int | None


@dataclass(frozen=True)
class MonthTotals:
    month: date  # first day
    inflows: Decimal  # ≥ 0
    outflows: Decimal  # ≥ 0


@dataclass(frozen=True)
class OwedInvoice:
    """An unpaid invoice as the KPIs see it (amount in base currency)."""

    direction: Direction
    contact_id: str | None
    contact_name: str
    status: str
    due_date: date
    outstanding: Decimal
    manual_urgency: int | None = None


@dataclass(frozen=True)
class Party:
    contact_id: str | None
    name: str
    outstanding: Decimal
    invoices: int


@dataclass(frozen=True)
class Kpis:
    as_of: date
    currency: str
    threshold: Decimal
    runway: Runway
    runway_p10: Runway
    monthly_burn_gross: Decimal
    monthly_burn_net: Decimal
    burn_months: int
    dso_days: Decimal | None
    dpo_days: Decimal | None
    receivable_by_urgency: dict[str, Decimal]
    payable_by_urgency: dict[str, Decimal]
    largest_debtors: tuple[Party, ...]
    largest_creditors: tuple[Party, ...]


def runway(daily: Forecast, threshold: Decimal, *, pessimistic: bool = False) -> Runway:
    """From a forecast in day buckets: the first day the (P10 if pessimistic) closing is
    below zero and below the threshold. Today counts: already below is day 0."""
    if daily.granularity is not Granularity.DAY:
        raise ValueError("runway needs a forecast in day buckets")
    zero_day = threshold_day = None
    for bucket in daily.buckets:
        closing = bucket.low if pessimistic else bucket.closing
        if zero_day is None and closing < 0:
            zero_day = bucket.end
        if threshold_day is None and closing < threshold:
            threshold_day = bucket.end
    return Runway(zero_day, threshold_day,
                  (zero_day - daily.as_of).days if zero_day else None,
                  (threshold_day - daily.as_of).days if threshold_day else None)


def burn(months: Sequence[MonthTotals], currency_unit: Decimal) -> tuple[Decimal, Decimal]:
    """(gross, net) monthly burn: average outflows, and average outflows minus inflows
    (never below zero: a company earning more than it spends burns nothing)."""
    if not months:
        return Decimal(0).quantize(currency_unit), Decimal(0).quantize(currency_unit)
    count = len(months)
    gross = sum((m.outflows for m in months), Decimal(0)) / count
    net = sum((m.outflows - m.inflows for m in months), Decimal(0)) / count
    return (gross.quantize(currency_unit, ROUND_HALF_UP),
            max(Decimal(0), net).quantize(currency_unit, ROUND_HALF_UP))


def days_outstanding(open_total: Decimal, invoiced_in_window: Decimal,
                     window_days: int = DSO_WINDOW_DAYS) -> Decimal | None:
    """DSO (or DPO): what is owed now ÷ what was invoiced over the window × its days.
    None when nothing was invoiced: the ratio means nothing then."""
    if invoiced_in_window <= 0:
        return None
    return (open_total / invoiced_in_window * window_days).quantize(Decimal("0.1"),
                                                                   ROUND_HALF_UP)


def by_urgency(owed: Iterable[OwedInvoice], direction: Direction, as_of: date,
               thresholds: dict[str, Any],
               currency_unit: Decimal = Decimal("0.01")) -> dict[str, Decimal]:
    totals = {level.name.lower(): Decimal(0).quantize(currency_unit) for level in Urgency}
    for invoice in owed:
        if invoice.direction is not direction:
            continue
        level = effective_urgency(invoice.status, invoice.due_date, as_of, thresholds,
                                  invoice.manual_urgency)
        if level is not None:
            totals[level.name.lower()] += invoice.outstanding
    return totals


def largest(owed: Iterable[OwedInvoice], direction: Direction, top: int = TOP) -> tuple[Party, ...]:
    totals: dict[str | None, list[Any]] = defaultdict(lambda: [Decimal(0), 0, ""])
    for invoice in owed:
        if invoice.direction is direction:
            entry = totals[invoice.contact_id]
            entry[0] += invoice.outstanding
            entry[1] += 1
            entry[2] = invoice.contact_name
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1][0], kv[1][2], str(kv[0])))
    return tuple(Party(contact, name, amount, count)
                 for contact, (amount, count, name) in ranked[:top])
