"""Cash-flow use cases: position and its history, forecast (with a scenario), recurring
series decisions, planned items, scenarios, KPIs, low-cash alerts.

Inputs come from gather.py (aggregated SQL) inside one tenant-scoped transaction; the
engine modules compute; nothing here writes to another domain's tables."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from smbfinance.auth import tenant_settings
from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.auth.profile import tenant_profile
from smbfinance.cashflow import assemble, gather, kpis, scenarios
from smbfinance.cashflow.conversion import RateMissing, RateTable
from smbfinance.cashflow.delays import delay_model
from smbfinance.cashflow.forecast import (
    DEFAULT_HORIZON_DAYS,
    MAX_HORIZON_DAYS,
    Forecast,
    Granularity,
    forecast,
)
from smbfinance.cashflow.model import Direction, ForecastInputs
from smbfinance.cashflow.models import (
    Alert,
    Detection,
    PlannedItem,
    PositionSnapshot,
    RecurringDecision,
    Scenario,
)
from smbfinance.cashflow.periods import Period
from smbfinance.concurrency import check_version
from smbfinance.db import transaction, utcnow
from smbfinance.errors import ErrorList, Invalid, NotFound
from smbfinance.events.outbox import emit
from smbfinance.money import MoneyError, parse_amount, quantum, validate_currency

log = logging.getLogger(__name__)
MAX_HISTORY_DAYS = 1096


@dataclass(frozen=True)
class Context:
    tenant_id: uuid.UUID
    base: str
    today: date
    settings: dict[str, Any]

    @property
    def threshold(self) -> Decimal:
        return Decimal(self.settings["low_cash_threshold"])


def _context(session: Session, tenant_id: uuid.UUID, now: datetime | None = None) -> Context:
    profile = tenant_profile(session, tenant_id)
    if profile is None:
        raise NotFound("tenant not found")
    today = (now or utcnow()).astimezone(ZoneInfo(profile.time_zone)).date()
    return Context(tenant_id, profile.base_currency, today,
                   tenant_settings.effective(profile.settings))


# ------------------------------------------------------------------ position

@dataclass(frozen=True)
class AccountPosition:
    id: str
    name: str | None
    iban: str | None
    currency: str
    balance: Decimal
    balance_base: Decimal | None  # None: no rate to convert it
    rate: Decimal | None
    balance_date: date | None
    synchronized_at: datetime | None


@dataclass(frozen=True)
class Position:
    as_of: date
    currency: str
    total: Decimal
    accounts: tuple[AccountPosition, ...]
    oldest_synchronized_at: datetime | None
    warnings: tuple[str, ...]


def _position(session: Session, ctx: Context, on: date | None = None) -> Position:
    rows = gather.accounts(session)
    on = on or ctx.today
    rates = gather.rate_table(session, ctx.base, on, (row.currency for row in rows))
    warnings: list[str] = []
    accounts = []
    total = Decimal(0).quantize(quantum(ctx.base))
    for row in rows:
        balance = row.balance if row.balance is not None else Decimal(0)
        if row.balance is None:
            warnings.append(f"account {row.name or row.iban or row.id} has no balance yet: "
                            "counted as 0")
        try:
            converted: Decimal | None = rates.to_base(balance, row.currency)
            rate: Decimal | None = rates.rate(row.currency)
        except RateMissing:
            converted = rate = None
            warnings.append(f"no {row.currency} rate on or before {on.isoformat()}: account "
                            f"{row.name or row.iban or row.id} left out of the total")
        if converted is not None:
            total += converted
        accounts.append(AccountPosition(row.id, row.name, row.iban, row.currency, balance,
                                        converted, rate, row.balance_date, row.synchronized_at))
    synced = [a.synchronized_at for a in accounts if a.synchronized_at is not None]
    return Position(on, ctx.base, total, tuple(accounts), min(synced) if synced else None,
                    tuple(warnings))


def get_position(*, session: Session, actor: Actor, now: datetime | None = None) -> Position:
    """Total cash in base currency: each active account's latest balance at the day's rate."""
    require(actor, Permission.FINANCE_READ)
    with transaction(session):
        return _position(session, _context(session, actor.tenant_id, now))


# Daily end-of-day balance per account over [start, stop], from its current balance minus
# everything booked after each day: one pass with window sums, no row per transaction out.
DAILY_BALANCES = text("""
    WITH acc AS (
        SELECT id, currency, COALESCE(current_balance, 0) AS balance FROM bank_accounts
        WHERE deleted_at IS NULL AND is_active),
    moves AS (
        SELECT bank_account_id, booking_date, sum(amount) AS amount FROM bank_transactions
        WHERE status = 'booked' AND booking_date > :start
        GROUP BY 1, 2),
    after_start AS (
        SELECT bank_account_id, sum(amount) AS amount FROM moves GROUP BY 1),
    grid AS (
        SELECT d.day::date AS day, a.id, a.currency, a.balance,
               COALESCE(m.amount, 0) AS amount
        FROM generate_series(:start, :stop, interval '1 day') AS d(day)
        CROSS JOIN acc a
        LEFT JOIN moves m ON m.bank_account_id = a.id AND m.booking_date = d.day::date)
    SELECT g.day, g.id::text, g.currency,
           g.balance - (COALESCE(s.amount, 0)
                        - sum(g.amount) OVER (PARTITION BY g.id ORDER BY g.day)) AS balance
    FROM grid g LEFT JOIN after_start s ON s.bank_account_id = g.id
    ORDER BY g.day, g.id""")

RATES_IN_RANGE = text("""
    SELECT currency, day, rate FROM exchange_rates
    WHERE currency = ANY(:currencies) AND day <= :stop AND day >= :earliest
    ORDER BY currency, day""")


def rebuild_positions(*, session: Session, tenant_id: uuid.UUID, start: date | None = None,
                      stop: date | None = None, days: int = DEFAULT_HORIZON_DAYS,
                      now: datetime | None = None) -> int:
    """Write (or rewrite) one snapshot per day over [start, stop] from transactions; the
    default is the `days` before today, to today. Returns the number of days written."""
    with transaction(session):
        ctx = _context(session, tenant_id, now)
        stop = min(stop or ctx.today, ctx.today)
        start = start or stop - timedelta(days=days)
        rows = session.execute(DAILY_BALANCES, {"start": start, "stop": stop}).all()
        currencies = sorted({r.currency for r in rows} | {ctx.base})
        rates_by_currency: dict[str, list[tuple[date, Decimal]]] = {}
        for currency, day, rate in session.execute(RATES_IN_RANGE, {
                "currencies": currencies, "stop": stop,
                "earliest": start - timedelta(days=gather.RATE_LOOKBACK_DAYS)}):
            rates_by_currency.setdefault(currency, []).append((day, rate))
        per_day: dict[date, list[Any]] = {}
        for row in rows:
            per_day.setdefault(row.day, []).append(row)
        snapshots = []
        for day, accounts in per_day.items():
            table = RateTable(ctx.base, day, _rates_on(rates_by_currency, day))
            total = Decimal(0).quantize(quantum(ctx.base))
            listed = []
            for row in accounts:
                try:
                    converted = table.to_base(row.balance, row.currency)
                    total += converted
                except RateMissing:
                    converted = None
                listed.append({"id": row.id, "currency": row.currency,
                               "balance": str(row.balance),
                               "balance_base": None if converted is None else str(converted)})
            snapshots.append({"day": day, "currency": ctx.base, "total": total,
                              "accounts": listed})
        for chunk in range(0, len(snapshots), 500):
            statement = insert(PositionSnapshot).values(snapshots[chunk:chunk + 500])
            session.execute(statement.on_conflict_do_update(
                index_elements=["tenant_id", "day"],
                set_={"currency": statement.excluded.currency,
                      "total": statement.excluded.total,
                      "accounts": statement.excluded.accounts, "updated_at": utcnow()}))
    return len(snapshots)


def _rates_on(rates: dict[str, list[tuple[date, Decimal]]],
              day: date) -> dict[str, tuple[Decimal, date]]:
    found = {}
    earliest = day - timedelta(days=gather.RATE_LOOKBACK_DAYS)
    for currency, series in rates.items():
        usable = [(d, r) for d, r in series if earliest <= d <= day]
        if usable:
            found[currency] = (usable[-1][1], usable[-1][0])
    return found


@dataclass(frozen=True)
class PositionPoint:
    day: date
    currency: str
    total: Decimal


def list_positions(*, session: Session, actor: Actor, start: date | None = None,
                   stop: date | None = None, granularity: str = "day",
                   now: datetime | None = None) -> list[PositionPoint]:
    """Stored daily positions over [start, stop]; by week or month, the last day of each."""
    require(actor, Permission.FINANCE_READ)
    with transaction(session):
        ctx = _context(session, actor.tenant_id, now)
        errors = ErrorList()
        scenarios.check_day(stop, "to", errors)
        errors.raise_if_any()
        stop = stop or ctx.today
        start = start or max(scenarios.EARLIEST, stop - timedelta(days=29))
        scenarios.check_day(start, "from", errors)
        errors.raise_if_any()
        if start > stop:
            errors.add("from", "must not be after to")
        if (stop - start).days > MAX_HISTORY_DAYS:
            errors.add("from", f"at most {MAX_HISTORY_DAYS} days at once")
        errors.raise_if_any()
        rows = session.execute(
            select(PositionSnapshot.day, PositionSnapshot.currency, PositionSnapshot.total)
            .where(PositionSnapshot.day >= start, PositionSnapshot.day <= stop)
            .order_by(PositionSnapshot.day)).all()
    points = [PositionPoint(*row) for row in rows]
    if granularity == "day":
        return points
    last: dict[Any, PositionPoint] = {}
    for point in points:
        bucket = (point.day.isocalendar()[:2] if granularity == "week"
                  else (point.day.year, point.day.month))
        last[bucket] = point
    return list(last.values())


# ------------------------------------------------------------------ forecast inputs

def _decisions(session: Session) -> list[assemble.Decision]:
    rows = session.execute(select(RecurringDecision)).scalars().all()
    return [assemble.Decision(r.id, r.key, r.label, r.status, Period(r.period), r.amount,
                              r.next_date, r.end_date, bool(r.detected.get("edited")),
                              r.version) for r in rows]


def _detect(session: Session, ctx: Context, rates: RateTable,
            warnings: list[str]) -> list[tuple[Any, str]]:
    return assemble.detect_series(ctx.tenant_id, gather.candidates(session, ctx.today), rates,
                                  ctx.today, warnings)


def _series(session: Session, ctx: Context, rates: RateTable, warnings: list[str], *,
            fresh: bool = False) -> list[assemble.SeriesView]:
    """Detected series with people's decisions. Today's stored detection (written by the
    refresh task) is used when there is one; otherwise, or when `fresh`, detect now."""
    stored = None if fresh else session.get(Detection, ctx.tenant_id)
    if stored is not None and stored.as_of == ctx.today:
        detected = assemble.series_from_json(stored.series)
        warnings.extend(stored.warnings)
    else:
        detected = _detect(session, ctx, rates, warnings)
    return assemble.series_views(ctx.tenant_id, detected, _decisions(session), ctx.base)


def refresh_detection(*, session: Session, tenant_id: uuid.UUID,
                      now: datetime | None = None) -> int:
    """Detect the tenant's recurring series now and store them for today's forecasts."""
    with transaction(session):
        ctx = _context(session, tenant_id, now)
        rates = _rates_for_candidates(session, ctx)
        warnings: list[str] = []
        found = _detect(session, ctx, rates, warnings)
        statement = insert(Detection).values(as_of=ctx.today,
                                             series=assemble.series_to_json(found),
                                             warnings=warnings)
        session.execute(statement.on_conflict_do_update(
            index_elements=["tenant_id"],
            set_={"as_of": statement.excluded.as_of, "series": statement.excluded.series,
                  "warnings": statement.excluded.warnings, "updated_at": utcnow()}))
    return len(found)


def _inputs(session: Session, ctx: Context) -> tuple[ForecastInputs, list[gather.InvoiceRow]]:
    position = _position(session, ctx)
    invoice_rows = gather.open_invoices(session)
    planned_rows = session.execute(select(PlannedItem).where(
        PlannedItem.deleted_at.is_(None))).scalars().all()
    rates = gather.rate_table(session, ctx.base, ctx.today,
                              {r.currency for r in invoice_rows} |
                              {r.currency for r in planned_rows} |
                              {a.currency for a in position.accounts})
    warnings = list(position.warnings)
    series = _series(session, ctx, rates, warnings)
    one_offs, repeating = assemble.planned(planned_rows, rates, ctx.today, warnings)
    inputs = ForecastInputs(
        as_of=ctx.today, currency=ctx.base, opening=position.total,
        invoices=assemble.invoices(invoice_rows, rates, warnings),
        flows=assemble.flows(series, ctx.today) + repeating, planned=one_offs,
        delays=delay_model(gather.delay_samples(session, ctx.today)),
        warnings=tuple(warnings))
    return inputs, invoice_rows


def _check_horizon(horizon_days: int | None, ctx: Context) -> int:
    horizon = horizon_days or int(ctx.settings["forecast_horizon_days"])
    if not 1 <= horizon <= MAX_HORIZON_DAYS:
        raise Invalid.field("horizon_days", f"must be 1-{MAX_HORIZON_DAYS}")
    return horizon


def get_forecast(*, session: Session, actor: Actor, horizon_days: int | None = None,
                 granularity: str = "week", scenario_id: uuid.UUID | None = None,
                 now: datetime | None = None) -> Forecast:
    """The forecast from today's data; with a scenario, from a copy of the inputs with the
    scenario's adjustments applied (nothing stored changes)."""
    require(actor, Permission.FINANCE_READ)
    with transaction(session):
        ctx = _context(session, actor.tenant_id, now)
        horizon = _check_horizon(horizon_days, ctx)
        inputs, _ = _inputs(session, ctx)
        if scenario_id is not None:
            scenario = _get_scenario(session, scenario_id)
            inputs = scenarios.apply(inputs, scenarios.parse_adjustments(
                scenario.adjustments, ctx.base))
    return forecast(inputs, horizon_days=horizon, granularity=Granularity(granularity))


# ------------------------------------------------------------------ recurring series

def list_recurring(*, session: Session, actor: Actor,
                   now: datetime | None = None) -> list[assemble.SeriesView]:
    require(actor, Permission.FINANCE_READ)
    with transaction(session):
        ctx = _context(session, actor.tenant_id, now)
        rates = _rates_for_candidates(session, ctx)
        return _series(session, ctx, rates, [])


def _rates_for_candidates(session: Session, ctx: Context) -> RateTable:
    currencies = session.execute(text(
        "SELECT DISTINCT currency FROM bank_accounts WHERE deleted_at IS NULL")).scalars()
    return gather.rate_table(session, ctx.base, ctx.today, list(currencies))


def decide_recurring(*, session: Session, actor: Actor, series_id: uuid.UUID,
                     changes: dict[str, Any], expected_version: int | None = None,
                     now: datetime | None = None) -> assemble.SeriesView:
    """Confirm (optionally editing label, amount, period, next_date, end_date) or dismiss a
    series. Edited values replace the detected ones in the forecast."""
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        ctx = _context(session, actor.tenant_id, now)
        rates = _rates_for_candidates(session, ctx)
        views = {v.id: v for v in _series(session, ctx, rates, [], fresh=True)}
        view = views.get(series_id)
        if view is None:
            raise NotFound(f"no recurring series {series_id}")
        edits = _series_edits(changes, ctx.base)
        stored = session.get(RecurringDecision, (ctx.tenant_id, series_id),
                             with_for_update=True)
        if stored is not None:
            check_version("recurring series", stored.version, expected_version)
        edited = bool(edits) or bool(stored and stored.detected.get("edited"))
        values = {"label": edits.get("label", view.label), "status": changes["status"],
                  "period": str(edits.get("period", view.period)),
                  "amount": edits.get("amount", view.amount),
                  "next_date": edits.get("next_date", view.next_date),
                  "end_date": edits.get("end_date", view.end_date), "currency": ctx.base,
                  "decided_by": actor.user_id,
                  "detected": {"edited": edited, "amount": str(view.amount),
                               "period": str(view.period),
                               "next_date": view.next_date.isoformat()}}
        if stored is None:
            stored = RecurringDecision(id=series_id, key=view.key, **values)
            session.add(stored)
        else:
            for key, value in values.items():
                setattr(stored, key, value)
            stored.updated_at = utcnow()
        session.flush()
        return {v.id: v for v in _series(session, ctx, rates, [], fresh=True)}[series_id]


def _series_edits(changes: dict[str, Any], base: str) -> dict[str, Any]:
    errors = ErrorList()
    edits: dict[str, Any] = {}
    if changes.get("status") not in ("confirmed", "dismissed"):
        errors.add("status", "must be confirmed or dismissed")
    for key in ("label", "period", "next_date", "end_date"):
        if changes.get(key) is not None:
            edits[key] = changes[key]
    if "period" in edits:
        edits["period"] = Period(edits["period"])
    for key in ("next_date", "end_date"):
        scenarios.check_day(edits.get(key), key, errors)
    if changes.get("amount") is not None:
        try:
            edits["amount"] = parse_amount(changes["amount"], base)
        except MoneyError as exc:
            errors.add("amount", str(exc))
        if edits.get("amount") == 0:
            errors.add("amount", "must not be zero")
    errors.raise_if_any()
    return edits


# ------------------------------------------------------------------ planned items

def list_planned(*, session: Session, actor: Actor) -> list[PlannedItem]:
    require(actor, Permission.FINANCE_READ)
    with transaction(session):
        return list(session.execute(select(PlannedItem).where(
            PlannedItem.deleted_at.is_(None)).order_by(PlannedItem.day, PlannedItem.id))
            .scalars().all())


def _get_planned(session: Session, item_id: uuid.UUID) -> PlannedItem:
    found = session.execute(select(PlannedItem).where(
        PlannedItem.id == item_id, PlannedItem.deleted_at.is_(None))).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no planned item {item_id}")
    return found


def get_planned(*, session: Session, actor: Actor, item_id: uuid.UUID) -> PlannedItem:
    require(actor, Permission.FINANCE_READ)
    with transaction(session):
        return _get_planned(session, item_id)


def _planned_values(data: dict[str, Any], base: str, current: PlannedItem | None
                    ) -> dict[str, Any]:
    errors = ErrorList()
    values = dict(data)
    currency = data.get("currency") or (current.currency if current else base)
    try:
        currency = validate_currency(currency)
    except MoneyError as exc:
        errors.add("currency", str(exc))
    values["currency"] = currency
    if "amount" in data:
        try:
            values["amount"] = parse_amount(data["amount"], currency)
        except MoneyError as exc:
            errors.add("amount", str(exc))
        if values.get("amount") == 0:
            errors.add("amount", "must not be zero")
    for field, key in (("date", "day"), ("end_date", "end_date")):
        scenarios.check_day(values.get(key), field, errors)
    period = values.get("period", current.period if current else None)
    end_date = values.get("end_date", current.end_date if current else None)
    day = values.get("day", current.day if current else None)
    if end_date is not None and period is None:
        errors.add("end_date", "only for a recurring item (with a period)")
    if end_date is not None and day is not None and end_date < day:
        errors.add("end_date", "must not be before date")
    errors.raise_if_any()
    return values


def create_planned(*, session: Session, actor: Actor, data: dict[str, Any]) -> PlannedItem:
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        ctx = _context(session, actor.tenant_id)
        item = PlannedItem(**_planned_values(data, ctx.base, None))
        session.add(item)
        session.flush()
    return item


def update_planned(*, session: Session, actor: Actor, item_id: uuid.UUID,
                   changes: dict[str, Any], expected_version: int | None = None) -> PlannedItem:
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        ctx = _context(session, actor.tenant_id)
        item = _get_planned(session, item_id)
        check_version("planned item", item.version, expected_version)
        for key, value in _planned_values(changes, ctx.base, item).items():
            setattr(item, key, value)
        item.updated_at = utcnow()
        session.flush()
    return item


def delete_planned(*, session: Session, actor: Actor, item_id: uuid.UUID,
                   expected_version: int | None = None) -> None:
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        item = _get_planned(session, item_id)
        check_version("planned item", item.version, expected_version)
        item.deleted_at = utcnow()
        session.flush()


# ------------------------------------------------------------------ scenarios

def _get_scenario(session: Session, scenario_id: uuid.UUID) -> Scenario:
    found = session.execute(select(Scenario).where(
        Scenario.id == scenario_id, Scenario.deleted_at.is_(None))).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no scenario {scenario_id}")
    return found


def list_scenarios(*, session: Session, actor: Actor) -> list[Scenario]:
    require(actor, Permission.FINANCE_READ)
    with transaction(session):
        return list(session.execute(select(Scenario).where(Scenario.deleted_at.is_(None))
                                    .order_by(Scenario.created_at, Scenario.id))
                    .scalars().all())


def get_scenario(*, session: Session, actor: Actor, scenario_id: uuid.UUID) -> Scenario:
    require(actor, Permission.FINANCE_READ)
    with transaction(session):
        return _get_scenario(session, scenario_id)


def _normalised(adjustments: list[dict[str, Any]], base: str) -> list[dict[str, Any]]:
    scenarios.parse_adjustments(adjustments, base)  # raises Invalid naming the field
    return [{key: str(value) if isinstance(value, Decimal) else value
             for key, value in item.items()} for item in adjustments]


def create_scenario(*, session: Session, actor: Actor, data: dict[str, Any]) -> Scenario:
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        ctx = _context(session, actor.tenant_id)
        scenario = Scenario(name=data["name"].strip(), description=data.get("description"),
                            adjustments=_normalised(data.get("adjustments", []), ctx.base),
                            created_by=actor.user_id)
        session.add(scenario)
        session.flush()
    return scenario


def update_scenario(*, session: Session, actor: Actor, scenario_id: uuid.UUID,
                    changes: dict[str, Any], expected_version: int | None = None) -> Scenario:
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        ctx = _context(session, actor.tenant_id)
        scenario = _get_scenario(session, scenario_id)
        check_version("scenario", scenario.version, expected_version)
        if "name" in changes:
            scenario.name = changes["name"].strip()
        if "description" in changes:
            scenario.description = changes["description"]
        if "adjustments" in changes:
            scenario.adjustments = _normalised(changes["adjustments"], ctx.base)
        scenario.updated_at = utcnow()
        session.flush()
    return scenario


def delete_scenario(*, session: Session, actor: Actor, scenario_id: uuid.UUID,
                    expected_version: int | None = None) -> None:
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        scenario = _get_scenario(session, scenario_id)
        check_version("scenario", scenario.version, expected_version)
        scenario.deleted_at = utcnow()
        session.flush()


# ------------------------------------------------------------------ KPIs

def get_kpis(*, session: Session, actor: Actor, now: datetime | None = None) -> kpis.Kpis:
    require(actor, Permission.FINANCE_READ)
    with transaction(session):
        ctx = _context(session, actor.tenant_id, now)
        inputs, invoice_rows = _inputs(session, ctx)
        first_of_month = ctx.today.replace(day=1)
        start = (first_of_month - timedelta(days=85)).replace(day=1)
        months = gather.month_totals(session, start, first_of_month)
        invoiced = gather.invoiced(session, ctx.today, kpis.DSO_WINDOW_DAYS)
        rates = gather.rate_table(session, ctx.base, ctx.today, {m[1] for m in months})
    horizon = int(ctx.settings["forecast_horizon_days"])
    daily = forecast(inputs, horizon_days=horizon, granularity=Granularity.DAY)
    totals: dict[date, list[Decimal]] = {}
    for month, currency, inflows, outflows in months:
        if not rates.has(currency):
            continue
        entry = totals.setdefault(month, [Decimal(0), Decimal(0)])
        entry[0] += rates.to_base(inflows, currency)
        entry[1] += rates.to_base(outflows, currency)
    gross, net = kpis.burn([kpis.MonthTotals(m, i, o) for m, (i, o) in sorted(totals.items())],
                           quantum(ctx.base))
    owed_amounts = {inv.id: inv.outstanding for inv in inputs.invoices}
    owed = [kpis.OwedInvoice(Direction(r.direction), r.contact_id, r.contact_name, r.status,
                             r.due_date, owed_amounts[r.id], r.manual_urgency)
            for r in invoice_rows]
    open_total = {d: sum((o.outstanding for o in owed if o.direction is d), Decimal(0))
                  for d in Direction}
    thresholds = ctx.settings["urgency_thresholds"]
    return kpis.Kpis(
        as_of=ctx.today, currency=ctx.base, threshold=ctx.threshold,
        runway=kpis.runway(daily, ctx.threshold),
        runway_p10=kpis.runway(daily, ctx.threshold, pessimistic=True),
        monthly_burn_gross=gross, monthly_burn_net=net, burn_months=len(totals),
        dso_days=kpis.days_outstanding(open_total[Direction.RECEIVABLE],
                                       invoiced.get("receivable", Decimal(0))),
        dpo_days=kpis.days_outstanding(open_total[Direction.PAYABLE],
                                       invoiced.get("payable", Decimal(0))),
        receivable_by_urgency=kpis.by_urgency(owed, Direction.RECEIVABLE, ctx.today,
                                              thresholds),
        payable_by_urgency=kpis.by_urgency(owed, Direction.PAYABLE, ctx.today, thresholds),
        largest_debtors=kpis.largest(owed, Direction.RECEIVABLE),
        largest_creditors=kpis.largest(owed, Direction.PAYABLE))


# ------------------------------------------------------------------ alerts

LINES = {"expected": False, "p10": True}


def recompute_alerts(*, session: Session, tenant_id: uuid.UUID,
                     now: datetime | None = None) -> dict[str, str]:
    """Raise an alert when a forecast line first crosses below the threshold, update it while
    the crossing lasts, clear it when the line recovers. Idempotent: run it as often as you
    like, one live alert per line at most (a unique index backs this)."""
    outcome = {}
    with transaction(session):
        ctx = _context(session, tenant_id, now)
        inputs, _ = _inputs(session, ctx)
        daily = forecast(inputs, horizon_days=int(ctx.settings["forecast_horizon_days"]),
                         granularity=Granularity.DAY)
        for line, pessimistic in LINES.items():
            crossing = kpis.runway(daily, ctx.threshold, pessimistic=pessimistic)
            live = session.execute(select(Alert).where(
                Alert.kind == "low_cash", Alert.line == line, Alert.cleared_at.is_(None))
                .with_for_update()).scalar_one_or_none()
            if crossing.below_threshold is None:
                if live is not None:
                    live.cleared_at = utcnow()
                    if live.status in ("open", "acknowledged"):
                        live.status = "cleared"
                    outcome[line] = "cleared"
                else:
                    outcome[line] = "ok"
                continue
            day = crossing.below_threshold
            bucket = next(b for b in daily.buckets if b.end == day)
            balance = bucket.low if pessimistic else bucket.closing
            if live is None:
                alert = Alert(kind="low_cash", line=line, crossing_date=day, balance=balance,
                              threshold=ctx.threshold, currency=ctx.base)
                session.add(alert)
                session.flush()
                emit(session=session, type="cashflow.low_balance_forecast",
                     obj=alert_representation(alert), object_id=alert.id)
                outcome[line] = "raised"
                log.info("low cash forecast", extra={"line": line, "day": day.isoformat()})
            else:
                if (live.crossing_date, live.balance) != (day, balance):
                    live.crossing_date, live.balance = day, balance
                    live.updated_at = utcnow()
                outcome[line] = "unchanged"
        session.flush()
    return outcome


def alert_representation(alert: Alert) -> dict[str, Any]:
    """The alert as GET /alerts/{id} shows it (the event's payload)."""
    return {"id": alert.id, "object": "alert", "kind": alert.kind, "line": alert.line,
            "status": alert.status, "crossing_date": alert.crossing_date,
            "balance": alert.balance, "threshold": alert.threshold,
            "currency": alert.currency, "raised_at": alert.raised_at}


def _visible(actor: Actor) -> Any:
    # Alerts about webhook endpoints and integrations (audience `owners`, migration 0014)
    # are for the people who can fix them.
    if actor.can(Permission.INTEGRATION_SECRETS):
        return Alert.audience.in_(("finance", "owners"))
    return Alert.audience == "finance"


def list_alerts(*, session: Session, actor: Actor, status: str | None = None) -> list[Alert]:
    require(actor, Permission.FINANCE_READ)
    query = select(Alert).where(_visible(actor)).order_by(
        Alert.raised_at.desc(), Alert.id.desc()).limit(200)
    if status:
        query = query.where(Alert.status == status)
    with transaction(session):
        return list(session.execute(query).scalars().all())


def _get_alert(session: Session, alert_id: uuid.UUID, actor: Actor) -> Alert:
    found = session.execute(select(Alert).where(Alert.id == alert_id, _visible(actor))
                            .with_for_update()).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no alert {alert_id}")
    return found


def get_alert(*, session: Session, actor: Actor, alert_id: uuid.UUID) -> Alert:
    require(actor, Permission.FINANCE_READ)
    with transaction(session):
        return _get_alert(session, alert_id, actor)


def acknowledge_alert(*, session: Session, actor: Actor, alert_id: uuid.UUID) -> Alert:
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        alert = _get_alert(session, alert_id, actor)
        if alert.status == "open":
            alert.status, alert.acknowledged_at = "acknowledged", utcnow()
            alert.acknowledged_by = actor.user_id
            session.flush()
    return alert


def resolve_alert(*, session: Session, actor: Actor, alert_id: uuid.UUID) -> Alert:
    """Close an alert by hand; while its crossing lasts no new one is raised for that line."""
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        alert = _get_alert(session, alert_id, actor)
        if alert.status in ("open", "acknowledged"):
            alert.status, alert.resolved_at, alert.resolved_by = ("resolved", utcnow(),
                                                                   actor.user_id)
            session.flush()
    return alert

