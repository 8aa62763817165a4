"""What the matching engine reads and returns. Pure values: no database, no Flask.

Frozen dataclasses, so a plan can be compared in tests, cached, and handed to the service
that persists it without anyone changing it on the way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal
from uuid import UUID

Direction = Literal["receivable", "payable"]


class Signal(enum.StrEnum):
    """Evidence that a payment settles an invoice; the weights live in engine.py."""

    STRUCTURED_REFERENCE = "structured_reference"
    AMOUNT_EXACT = "amount_exact"
    AMOUNT_PARTIAL = "amount_partial"
    CONTACT_IBAN = "contact_iban"
    CONTACT_NAME = "contact_name"
    NUMBER_IN_TEXT = "number_in_text"
    DATE_NEAR_DUE = "date_near_due"
    OGM_IN_TEXT = "ogm_in_text"
    DIRECTION_MISMATCH = "direction_mismatch"


@dataclass(frozen=True)
class OpenInvoice:
    """An invoice that still has money outstanding (`outstanding` > 0, in `currency`)."""

    id: UUID
    direction: Direction
    number: str
    contact_id: UUID | None
    contact_name: str | None
    contact_ibans: frozenset[str]
    currency: str
    outstanding: Decimal
    gross: Decimal
    due_date: date
    payment_reference: str | None
    structured: bool


@dataclass(frozen=True)
class Payment:
    """A bank transaction: `amount` is signed (+ in, − out); `unallocated` is the absolute
    amount not yet allocated to any invoice. `auto_apply` False (a person undid an
    automatic match of it) leaves every candidate of it as a suggestion."""

    id: UUID
    amount: Decimal
    currency: str
    booking_date: date
    counterparty_name: str | None
    counterparty_iban: str | None
    remittance: str | None
    structured_reference: str | None
    unallocated: Decimal
    auto_apply: bool = True


@dataclass(frozen=True)
class Candidate:
    """A proposed allocation with its evidence.

    `group` lists every invoice of a grouped match (one payment settling several invoices
    whose outstandings add up to it): the group is scored, applied and reviewed as a whole,
    and is empty for a match with a single invoice."""

    payment_id: UUID
    invoice_id: UUID
    score: Decimal
    signals: tuple[Signal, ...]
    amount: Decimal
    certain: bool
    group: tuple[UUID, ...] = ()


@dataclass(frozen=True)
class Allocation:
    """Money of one payment settling one invoice. An automatic allocation carries the
    evidence that made it (its proposal's score, this invoice's signals, certainty); the
    evidence travels with it but is not part of what the allocation is."""

    payment_id: UUID
    invoice_id: UUID
    amount: Decimal
    score: Decimal | None = field(default=None, compare=False)
    signals: tuple[Signal, ...] = field(default=(), compare=False)
    certain: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Plan:
    """Allocations to apply now, and candidates for a person to review.

    `pairs_scored` counts the (payment, invoice) pairs the engine scored and `subsets_tried`
    the steps of the grouped-match search: both show that the work grows with the inputs,
    not with their product, without timing anything."""

    automatic: tuple[Allocation, ...]
    suggestions: tuple[Candidate, ...]
    pairs_scored: int = 0
    subsets_tried: int = 0
