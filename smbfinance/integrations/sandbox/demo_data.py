"""Deterministic demo companies whose bank and accounting data grow with the clock.

Every movement and invoice is a pure function of (company seed, calendar day, index): the
same day always yields the same records, whoever asks and whenever, so tests can predict
them and two simulators started from the same clock serve identical data.

Bank: each day brings 0-4 movements at fixed hours. A movement is *pending* from its hour
until 06:00 the next day, when it books under a **new id** (as Ponto does); what an
account shows depends on its last synchronization (`visible_at`).
Accounting: an invoice every few days, due 30 days later, paid in full on a fixed later
day (some are first paid half-way); open items are those issued and not yet fully paid.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

NAMESPACE = uuid.UUID("6f1c4a52-5d0e-4c8e-9a43-1c3b7d2e9f10")
BOOKING_HOUR = 6

COUNTERPARTIES = [
    ("Brouwerij Het Anker NV", "BE71096123456769"),
    ("Bakkerij Peeters", "BE68539007547034"),
    ("Studio Verbeke BV", "BE62510007547061"),
    ("Proximus SA", "BE43068999999501"),
    ("Engie Electrabel", "BE96000325448705"),
    ("Garage Claes", "BE39103123456719"),
    ("Koffiebranderij Mertens", "BE86001234567850"),
    ("Drukkerij Janssens", "BE19001234567812"),
]


@dataclass(frozen=True)
class DemoAccount:
    key: str
    iban: str
    currency: str
    opening_balance: Decimal
    description: str


@dataclass(frozen=True)
class DemoCompany:
    key: str
    name: str
    seed: int
    accounts: tuple[DemoAccount, ...]
    administration_id: str
    vat_number: str


DEMO_COMPANIES: tuple[DemoCompany, ...] = (
    DemoCompany("acme", "Acme BV", 11, (
        DemoAccount("acme-main", "BE68539007547034", "EUR", Decimal("15000.00"), "Zicht"),
        DemoAccount("acme-savings", "BE62510007547061", "EUR", Decimal("40000.00"), "Spaar"),
    ), "4d3c2b1a-0000-4000-8000-00000000a001", "BE0123456749"),
    DemoCompany("bakery", "Bakkerij Peeters", 23, (
        DemoAccount("bakery-main", "BE43068999999501", "EUR", Decimal("3200.00"), "Business"),
    ), "4d3c2b1a-0000-4000-8000-00000000b001", "BE0403170701"),
    DemoCompany("studio", "Studio Verbeke BV", 37, (
        DemoAccount("studio-main", "BE96000325448705", "EUR", Decimal("8700.00"), "Zicht"),
    ), "4d3c2b1a-0000-4000-8000-00000000c001", "BE0417497106"),
)


def company(key: str) -> DemoCompany:
    for candidate in DEMO_COMPANIES:
        if candidate.key == key:
            return candidate
    raise KeyError(key)


def stable_id(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join(str(p) for p in parts)))


def _rng(*parts: object) -> random.Random:
    return random.Random(stable_id(*parts))  # noqa: S311 - demo data, not secrets


@dataclass(frozen=True)
class Movement:
    """One bank movement; `booked_id` and `pending_id` are its two ids at Ponto."""

    account: str
    day: date
    index: int
    happened_at: datetime
    booked_at: datetime
    amount: Decimal
    counterparty: str
    counterparty_iban: str
    remittance: str
    structured: bool

    @property
    def booked_id(self) -> str:
        return stable_id("booked", self.account, self.day, self.index)

    @property
    def pending_id(self) -> str:
        return stable_id("pending", self.account, self.day, self.index)


def _ogm(base: int) -> str:
    check = base % 97 or 97
    digits = f"{base:010d}{check:02d}"
    return f"+++{digits[:3]}/{digits[3:7]}/{digits[7:]}+++"


def movements_of_day(seed: int, account: str, day: date) -> list[Movement]:
    rng = _rng(seed, account, day)
    found = []
    for index in range(rng.randint(0, 4)):
        hour = rng.randint(7, 20)
        name, iban = COUNTERPARTIES[rng.randrange(len(COUNTERPARTIES))]
        incoming = rng.random() < 0.45
        cents = rng.randint(500, 250_000)
        amount = Decimal(cents if incoming else -cents) / 100
        structured = rng.random() < 0.4
        remittance = (_ogm(rng.randint(1, 9_999_999_999)) if structured
                      else f"Factuur {day:%Y}-{rng.randint(1, 999):03d}")
        happened = datetime.combine(day, time(hour, rng.randint(0, 59)), tzinfo=UTC)
        booked = datetime.combine(day + timedelta(days=1), time(BOOKING_HOUR), tzinfo=UTC)
        found.append(Movement(account, day, index, happened, booked, amount, name, iban,
                              remittance, structured))
    return found


def movements(seed: int, account: str, start: date, until: datetime) -> list[Movement]:
    """Every movement that happened from `start` up to `until`, oldest first."""
    found: list[Movement] = []
    day = start
    while day <= until.date():
        found.extend(m for m in movements_of_day(seed, account, day) if m.happened_at <= until)
        day += timedelta(days=1)
    return found


@dataclass(frozen=True)
class Invoice:
    id: str
    direction: str  # receivable | payable
    number: str
    contact: str
    contact_id: str
    issue_date: date
    due_date: date
    amount: Decimal
    half_paid_on: date | None
    paid_on: date

    def open_amount(self, on: date) -> Decimal:
        if on < self.issue_date or on >= self.paid_on:
            return Decimal("0.00")
        if self.half_paid_on and on >= self.half_paid_on:
            return (self.amount / 2).quantize(Decimal("0.01"))
        return self.amount


def invoices(seed: int, administration: str, start: date, until: date) -> list[Invoice]:
    """Invoices issued from `start` to `until` (both directions), oldest first."""
    found = []
    day = start
    while day <= until:
        rng = _rng(seed, administration, "invoices", day)
        if rng.random() < 0.4:
            for direction in ("receivable", "payable"):
                if rng.random() < 0.6:
                    name, _ = COUNTERPARTIES[rng.randrange(len(COUNTERPARTIES))]
                    amount = Decimal(rng.randint(10_000, 500_000)) / 100
                    paid = day + timedelta(days=rng.randint(10, 75))
                    half = day + timedelta(days=rng.randint(3, 9)) if rng.random() < 0.2 \
                        else None
                    prefix = "VF" if direction == "receivable" else "AF"
                    found.append(Invoice(
                        id=stable_id("invoice", administration, day, direction),
                        direction=direction, number=f"{prefix}{day:%Y%m%d}",
                        contact=name, contact_id=stable_id("contact", name),
                        issue_date=day, due_date=day + timedelta(days=30),
                        amount=amount, half_paid_on=half, paid_on=paid))
        day += timedelta(days=1)
    return found
