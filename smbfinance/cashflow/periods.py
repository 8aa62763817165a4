"""Calendar steps for recurring flows: weekly, monthly, quarterly, with a monthly anchor
day that survives short months (31 Jan → 28 Feb → 31 Mar)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from enum import StrEnum


class Period(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"

    @property
    def months(self) -> int:
        return {Period.WEEKLY: 0, Period.MONTHLY: 1, Period.QUARTERLY: 3}[self]

    @property
    def days(self) -> int:
        """Nominal length in days (used for tolerances, never for stepping)."""
        return {Period.WEEKLY: 7, Period.MONTHLY: 30, Period.QUARTERLY: 91}[self]


def add_months(day: date, months: int, anchor_day: int | None = None) -> date:
    """`day` moved by `months`, on `anchor_day` (default: day's own) clamped to the month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(anchor_day or day.day, last))


def step(start: date, period: Period, k: int, anchor_day: int | None = None) -> date:
    """The k-th occurrence after `start` (k = 0 is start itself)."""
    if period is Period.WEEKLY:
        return start + timedelta(days=7 * k)
    return add_months(start, period.months * k, anchor_day or start.day)
