"""Invoice lifecycle and urgency rules. Pure: no database, no Flask.

Status: draft → open → partially_paid → paid; cancelled from draft, or from open with
nothing paid. `overdue` is derived: open or partially paid with a due date before today in
the tenant's time zone. Urgency 1 Overdue … 5 Low from days until due with the tenant's
thresholds; paid and cancelled invoices have none; a manual urgency overrides until cleared.
"""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal
from typing import Any


class Status(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    CANCELLED = "cancelled"


class Urgency(enum.IntEnum):
    OVERDUE = 1
    CRITICAL = 2
    HIGH = 3
    MEDIUM = 4
    LOW = 5


UNSETTLED = frozenset({Status.OPEN, Status.PARTIALLY_PAID})


def is_overdue(status: str, due_date: date, today: date) -> bool:
    return Status(status) in UNSETTLED and due_date < today


def computed_urgency(
    status: str, due_date: date, today: date, thresholds: dict[str, Any]
) -> Urgency | None:
    """Days until due: < 0 overdue; 0..critical critical; ..high high; ..medium medium; else low."""
    if Status(status) not in UNSETTLED:
        return None  # drafts are not owed yet; paid and cancelled are done
    days = (due_date - today).days
    if days < 0:
        return Urgency.OVERDUE
    if days <= int(thresholds["critical_days"]):
        return Urgency.CRITICAL
    if days <= int(thresholds["high_days"]):
        return Urgency.HIGH
    if days <= int(thresholds["medium_days"]):
        return Urgency.MEDIUM
    return Urgency.LOW


def effective_urgency(
    status: str, due_date: date, today: date, thresholds: dict[str, Any], manual: int | None
) -> Urgency | None:
    if Status(status) in (Status.PAID, Status.CANCELLED):
        return None
    if manual is not None:
        return Urgency(manual)
    return computed_urgency(status, due_date, today, thresholds)


def settled_status(gross: Decimal, settled: Decimal) -> Status:
    """Status of an opened invoice from how much of it is settled (paid + credited)."""
    if gross > 0 and settled >= gross:
        return Status.PAID
    if settled > 0:
        return Status.PARTIALLY_PAID
    return Status.OPEN


def can_open(status: str) -> bool:
    return Status(status) is Status.DRAFT


def can_cancel(status: str, settled: Decimal) -> bool:
    return Status(status) is Status.DRAFT or (Status(status) is Status.OPEN and settled == 0)


def can_record_payment(status: str) -> bool:
    return Status(status) in UNSETTLED


# Fields a user may still change once an invoice is open (its accounting facts are fixed).
EDITABLE_WHEN_OPEN = frozenset({"due_date", "notes", "payment_iban", "payment_bic"})
