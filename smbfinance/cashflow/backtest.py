"""Honest accuracy: replay history. For each past day, forecast with only what was known
that evening, and compare the balance predicted 30 days ahead with what happened.

Three forecasters are scored by mean absolute error (MAE):
- ours: the engine with delays, overdue spreading and recurring flows known at the time;
- flat: the balance stays as it was;
- due dates only: open invoices land on their due date (overdue ones at once), nothing else.

Pure: the history comes in as plain rows (backtest_service.py reads them)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from smbfinance.cashflow.delays import DelaySample, delay_model
from smbfinance.cashflow.forecast import Granularity, forecast
from smbfinance.cashflow.model import Direction, ForecastInputs, OpenInvoice, RecurringFlow
from smbfinance.cashflow.recurring import Occurrence, detect
from smbfinance.money import quantum

LOOKBACK_DAYS = 400
MAX_OCCURRENCES = 80


@dataclass(frozen=True)
class HistoryMove:
    day: date
    amount: Decimal  # base currency, signed
    key: str | None  # counterparty key (see gather.CANDIDATES)
    label: str
    for_forecast: bool  # False: matched to an invoice or flagged "ignore for forecast"


@dataclass(frozen=True)
class HistoryInvoice:
    id: str
    number: str
    direction: Direction
    contact_id: str | None
    contact_name: str
    issue_date: date
    due_date: date
    amount: Decimal  # gross, base currency
    settled_on: date | None


@dataclass(frozen=True)
class History:
    today: date
    currency: str
    balance_today: Decimal  # end of today
    moves: tuple[HistoryMove, ...]
    invoices: tuple[HistoryInvoice, ...]


@dataclass(frozen=True)
class DayScore:
    day: date
    actual: Decimal
    ours: Decimal
    flat: Decimal
    due_dates: Decimal


@dataclass(frozen=True)
class BacktestResult:
    horizon_days: int
    days: tuple[DayScore, ...]

    def mae(self, which: str) -> Decimal:
        if not self.days:
            return Decimal(0)
        total = sum((abs(getattr(d, which) - d.actual) for d in self.days), Decimal(0))
        return (total / len(self.days)).quantize(Decimal("0.01"))


class _Balances:
    """End-of-day balance on any past day from today's balance and the moves after it."""

    def __init__(self, history: History) -> None:
        self.today, self.balance = history.today, history.balance_today
        per_day: dict[date, Decimal] = defaultdict(Decimal)
        for move in history.moves:
            per_day[move.day] += move.amount
        self.per_day = per_day

    def at(self, day: date) -> Decimal:
        after = sum((amount for d, amount in self.per_day.items() if day < d <= self.today),
                    Decimal(0))
        return self.balance - after


def known_inputs(history: History, evening: date, balance: Decimal) -> ForecastInputs:
    """What the engine would have had on the evening of `evening` (forecast from the next day)."""
    as_of = evening + timedelta(days=1)
    open_invoices, samples = [], []
    for inv in history.invoices:
        if inv.issue_date > evening:
            continue
        if inv.settled_on is not None and inv.settled_on <= evening:
            if inv.direction is Direction.RECEIVABLE:
                samples.append(DelaySample(inv.contact_id, (inv.settled_on - inv.due_date).days))
            continue
        open_invoices.append(OpenInvoice(inv.id, inv.number, inv.direction, inv.contact_id,
                                         inv.contact_name, inv.due_date, inv.amount))
    groups: dict[str, list[Occurrence]] = defaultdict(list)
    labels: dict[str, str] = {}
    since = evening - timedelta(days=LOOKBACK_DAYS)
    per_key_day: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for move in history.moves:
        if move.for_forecast and move.key and since < move.day <= evening:
            key = ("in:" if move.amount > 0 else "out:") + move.key
            per_key_day[(key, move.day)] += move.amount
            labels.setdefault(key, move.label)
    for (key, day), amount in per_key_day.items():
        groups[key].append(Occurrence(day, amount))
    unit = quantum(history.currency)
    flows = []
    for key, occurrences in groups.items():
        if not 3 <= len(occurrences) <= MAX_OCCURRENCES:
            continue
        series = detect(key, labels[key], occurrences, as_of=as_of, currency_unit=unit)
        if series is None or not series.active:
            continue
        flows.append(RecurringFlow(
            key=f"recurring:{key}", kind="recurring", label=series.label,
            period=series.period, next_date=series.next_date, amount=series.amount,
            drift=series.drift, amount_spread=series.amount_spread,
            day_spread=series.day_spread, anchor_day=series.anchor_day))
    return ForecastInputs(as_of=as_of, currency=history.currency, opening=balance,
                          invoices=tuple(open_invoices), flows=tuple(flows),
                          delays=delay_model(samples))


def _due_dates_only(inputs: ForecastInputs, end: date) -> Decimal:
    total = inputs.opening
    for inv in inputs.invoices:
        if inv.due_date <= end:
            total += inv.outstanding if inv.direction is Direction.RECEIVABLE else -inv.outstanding
    return total


def run(history: History, *, days: int = 30, horizon_days: int = 30) -> BacktestResult:
    """Score the `days` evenings whose horizon has fully happened (the latest ends today)."""
    balances = _Balances(history)
    scores = []
    last_evening = history.today - timedelta(days=horizon_days)
    for back in range(days - 1, -1, -1):
        evening = last_evening - timedelta(days=back)
        balance = balances.at(evening)
        target = evening + timedelta(days=horizon_days)
        inputs = known_inputs(history, evening, balance)
        ours = forecast(inputs, horizon_days=horizon_days,
                        granularity=Granularity.MONTH).buckets[-1].closing
        scores.append(DayScore(evening, balances.at(target), ours, balance,
                               _due_dates_only(inputs, target)))
    return BacktestResult(horizon_days, tuple(scores))


def report(result: BacktestResult, currency: str) -> str:
    lines = [f"Backtest: {len(result.days)} days, balance {result.horizon_days} days ahead "
             f"({currency})",
             f"  ours            MAE {result.mae('ours')}",
             f"  flat            MAE {result.mae('flat')}",
             f"  due dates only  MAE {result.mae('due_dates')}"]
    return "\n".join(lines)


def history_of(moves: Sequence[HistoryMove], invoices: Sequence[HistoryInvoice], *,
               today: date, currency: str, balance_today: Decimal) -> History:
    return History(today, currency, balance_today, tuple(moves), tuple(invoices))
