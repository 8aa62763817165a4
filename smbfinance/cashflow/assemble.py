"""Gathered rows → engine inputs (pure): conversion to the base currency, detection of
recurring series merged with people's decisions, planned items as flows."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from smbfinance.cashflow.conversion import RateMissing, RateTable
from smbfinance.cashflow.gather import CandidateRow, InvoiceRow
from smbfinance.cashflow.model import Direction, OpenInvoice, PlannedItem, RecurringFlow
from smbfinance.cashflow.periods import Period
from smbfinance.cashflow.recurring import DetectedSeries, Occurrence, detect, next_after
from smbfinance.money import quantum, round_half_up

SERIES_NAMESPACE = uuid.UUID("5f0c7c1e-7d43-4d8e-9a51-0c0f1a5e6c60")


def series_id(tenant_id: uuid.UUID, key: str) -> uuid.UUID:
    """A detected series' id: stable across detections, distinct across tenants."""
    return uuid.uuid5(SERIES_NAMESPACE, f"{tenant_id}:{key}")


@dataclass(frozen=True)
class Decision:
    id: uuid.UUID
    key: str
    label: str
    status: str  # confirmed | dismissed
    period: Period
    amount: Decimal  # base currency, signed
    next_date: date
    end_date: date | None
    edited: bool
    version: int


@dataclass(frozen=True)
class SeriesView:
    """What the API lists: a detected series and/or a person's decision about it."""

    id: uuid.UUID
    key: str
    label: str
    status: str  # detected | confirmed | dismissed
    period: Period
    amount: Decimal
    drift: Decimal
    amount_spread: Decimal
    day_spread: int
    next_date: date
    end_date: date | None
    currency: str
    first_seen: date | None
    last_seen: date | None
    occurrences: int
    missed: int
    active: bool
    version: int | None
    anchor_day: int | None = None

    @property
    def source(self) -> str:
        return f"recurring:{self.id}"


def convert_invoice(row: InvoiceRow, rates: RateTable, warnings: list[str]) -> Decimal:
    try:
        return rates.to_base(row.outstanding, row.currency)
    except RateMissing:
        warnings.append(f"no {row.currency} rate on {rates.on.isoformat()}: invoice "
                        f"{row.number} converted at its own rate {row.exchange_rate}")
        return round_half_up(row.outstanding * row.exchange_rate, rates.base)


_DIRECTIONS = {direction.value: direction for direction in Direction}


def invoices(rows: Iterable[InvoiceRow], rates: RateTable,
             warnings: list[str]) -> tuple[OpenInvoice, ...]:
    # Thousands of rows: unpacked once, an amount already in the base currency at its
    # precision taken as it is (to_base's answer, without its two calls), records made in C.
    base, unit, made = rates.base, quantum(rates.base), []
    for row in rows:
        (id_, number, direction, contact_id, contact_name, _status, due_date, outstanding,
         currency, _rate, _urgency) = row
        if currency != base or outstanding != outstanding.quantize(unit):
            outstanding = convert_invoice(row, rates, warnings)
        made.append(tuple.__new__(OpenInvoice, (
            id_, number, _DIRECTIONS[direction], contact_id, contact_name, due_date,
            outstanding, 0)))
    return tuple(made)


def detect_series(tenant_id: uuid.UUID, rows: Iterable[CandidateRow], rates: RateTable,
                  as_of: date, warnings: list[str]) -> list[tuple[DetectedSeries, str]]:
    """(series in base currency, original currency) for every candidate that is one."""
    found = []
    unit = quantum(rates.base)
    for row in rows:
        if not rates.has(row.currency):
            warnings.append(f"no {row.currency} rate: flows of {row.label} left out")
            continue
        occurrences = [Occurrence(day, rates.to_base(amount, row.currency))
                       for day, amount in zip(row.days, row.amounts, strict=True)]
        key = f"{row.currency}:{row.key}"
        series = detect(key, row.label, occurrences, as_of=as_of, currency_unit=unit)
        if series is not None:
            found.append((series, row.currency))
    return found


def series_to_json(found: Sequence[tuple[DetectedSeries, str]]) -> list[dict[str, Any]]:
    return [{"key": d.key, "label": d.label, "period": d.period.value, "amount": str(d.amount),
             "drift": str(d.drift), "amount_spread": str(d.amount_spread),
             "day_spread": d.day_spread, "anchor_day": d.anchor_day,
             "first_seen": d.first_seen.isoformat(), "last_seen": d.last_seen.isoformat(),
             "next_date": d.next_date.isoformat(), "occurrences": d.occurrences,
             "missed": d.missed, "active": d.active, "currency": currency}
            for d, currency in found]


def series_from_json(stored: Sequence[dict[str, Any]]) -> list[tuple[DetectedSeries, str]]:
    return [(DetectedSeries(
        key=s["key"], label=s["label"], period=Period(s["period"]), amount=Decimal(s["amount"]),
        drift=Decimal(s["drift"]), amount_spread=Decimal(s["amount_spread"]),
        day_spread=s["day_spread"], anchor_day=s["anchor_day"],
        first_seen=date.fromisoformat(s["first_seen"]),
        last_seen=date.fromisoformat(s["last_seen"]),
        next_date=date.fromisoformat(s["next_date"]), occurrences=s["occurrences"],
        missed=s["missed"], active=s["active"]), s["currency"]) for s in stored]


def series_views(tenant_id: uuid.UUID, detected: Sequence[tuple[DetectedSeries, str]],
                 decisions: Sequence[Decision], base: str) -> list[SeriesView]:
    by_key = {decision.key: decision for decision in decisions}
    views = []
    seen = set()
    for series, _currency in detected:
        decision = by_key.get(series.key)
        seen.add(series.key)
        view = SeriesView(
            id=series_id(tenant_id, series.key), key=series.key, label=series.label,
            status=decision.status if decision else "detected", period=series.period,
            amount=series.amount, drift=series.drift, amount_spread=series.amount_spread,
            day_spread=series.day_spread, next_date=series.next_date, end_date=None,
            currency=base, first_seen=series.first_seen, last_seen=series.last_seen,
            occurrences=series.occurrences, missed=series.missed, active=series.active,
            version=decision.version if decision else None, anchor_day=series.anchor_day)
        views.append(_edited(view, decision) if decision and decision.edited else view)
    for decision in decisions:
        if decision.key not in seen:  # no longer detected: the decision still stands
            views.append(SeriesView(
                id=decision.id, key=decision.key, label=decision.label,
                status=decision.status, period=decision.period, amount=decision.amount,
                drift=Decimal(0), amount_spread=Decimal(0), day_spread=0,
                next_date=decision.next_date, end_date=decision.end_date, currency=base,
                first_seen=None, last_seen=None, occurrences=0, missed=0,
                active=decision.status == "confirmed", version=decision.version))
    views.sort(key=lambda v: (v.status == "dismissed", -abs(v.amount), v.key))
    return views


def _edited(view: SeriesView, decision: Decision) -> SeriesView:
    return replace(view, label=decision.label, period=decision.period,
                   amount=decision.amount, drift=Decimal(0), amount_spread=Decimal(0),
                   day_spread=0, next_date=decision.next_date, end_date=decision.end_date,
                   active=True, anchor_day=None)


def flows(views: Iterable[SeriesView], as_of: date) -> tuple[RecurringFlow, ...]:
    """Series to forecast: not dismissed, still active; a stale next date rolled forward."""
    out = []
    for view in views:
        if view.status == "dismissed" or not view.active:
            continue
        next_date = view.next_date
        half = timedelta(days=view.period.days // 2)
        while next_date < as_of - half:
            next_date = next_after(next_date, view.period, view.anchor_day)
        how = {"detected": "detected from bank history", "confirmed": "confirmed by you"}
        reason = (f"Recurring {view.period.value} {'income' if view.amount > 0 else 'cost'} "
                  f"{view.label} ({how[view.status]}; seen {view.occurrences} times, "
                  f"{view.missed} missed; drift {view.drift:+} per period)")
        out.append(RecurringFlow(
            key=view.source, kind="recurring", label=view.label, period=view.period,
            next_date=next_date, amount=view.amount, drift=view.drift,
            amount_spread=view.amount_spread, day_spread=view.day_spread,
            anchor_day=view.anchor_day, end_date=view.end_date, reason=reason))
    return tuple(out)


def planned(rows: Iterable[Any], rates: RateTable, as_of: date,
            warnings: list[str]) -> tuple[tuple[PlannedItem, ...], tuple[RecurringFlow, ...]]:
    """Planned items (ORM rows of the tenant's own small table) as one-offs or flows."""
    one_offs, repeating = [], []
    for row in rows:
        try:
            amount = rates.to_base(row.amount, row.currency)
        except RateMissing:
            warnings.append(f"no {row.currency} rate: planned item {row.label} left out")
            continue
        key = f"planned:{row.id}"
        if row.period is None:
            one_offs.append(PlannedItem(key, row.label, row.day, amount))
        else:
            period, start = Period(row.period), row.day
            while start < as_of:  # occurrences already past are history, not forecast
                start = next_after(start, period, row.day.day)
            repeating.append(RecurringFlow(
                key=key, kind="planned", label=row.label, period=period, next_date=start,
                anchor_day=row.day.day if period is not Period.WEEKLY else None,
                amount=amount, end_date=row.end_date,
                reason=f"Planned by hand: {row.label} ({row.period} from "
                       f"{row.day.isoformat()})"))
    return tuple(one_offs), tuple(repeating)

