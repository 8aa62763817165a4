"""Plain inputs of the forecast engine. Amounts are Decimal in the tenant's base currency
(the service converts them with a RateTable); signs: + money in, − money out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from smbfinance.cashflow.delays import DelayModel
from smbfinance.cashflow.periods import Period


class Direction(StrEnum):
    RECEIVABLE = "receivable"  # a sales invoice: money comes in
    PAYABLE = "payable"  # a purchase invoice: money goes out


class OpenInvoice(NamedTuple):
    """One per open invoice (thousands per forecast): a named tuple, the cheapest record."""

    id: str
    number: str
    direction: Direction
    contact_id: str | None
    contact_name: str
    due_date: date
    outstanding: Decimal  # what is still owed, positive, in base currency
    # A scenario's "delay this invoice by N days"; 0 for real data.
    extra_delay_days: int = 0

    @property
    def key(self) -> str:
        return f"invoice:{self.id}"


@dataclass(frozen=True)
class RecurringFlow:
    """A flow that repeats: detected from history, confirmed by a user, or planned."""

    key: str  # "recurring:<id>" or "planned:<id>"
    kind: str  # "recurring" or "planned"
    label: str
    period: Period
    next_date: date
    amount: Decimal  # signed, at next_date
    drift: Decimal = Decimal(0)  # added per period (salary rises, price indexation)
    amount_spread: Decimal = Decimal(0)  # ± around the amount, P10..P90, ≥ 0
    day_spread: int = 0  # ± days around each date, P10..P90, ≥ 0
    anchor_day: int | None = None  # day of month the series sticks to
    end_date: date | None = None
    reason: str = ""


@dataclass(frozen=True)
class PlannedItem:
    """A one-off manual entry ("VAT refund expected", "new van")."""

    key: str  # "planned:<id>"
    label: str
    day: date
    amount: Decimal  # signed


@dataclass(frozen=True)
class ForecastInputs:
    as_of: date
    currency: str
    opening: Decimal
    invoices: tuple[OpenInvoice, ...] = ()
    flows: tuple[RecurringFlow, ...] = ()
    planned: tuple[PlannedItem, ...] = ()
    delays: DelayModel = field(default_factory=DelayModel)
    warnings: tuple[str, ...] = ()
