"""The provider-neutral interface: what the sync engine asks a bank or an accounting
package for, and the frozen shapes it gets back. Pure: no HTTP, no database.

Amounts are signed `Decimal`s (positive = money in / owed to us), never floats. Every record
carries the provider's own id (`provider_id`), which is what makes upserts idempotent: the
same record read twice, on a duplicated page or by a redelivered task, maps to one row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable


class ConsentStatus(StrEnum):
    ACTIVE = "active"
    EXPIRING = "expiring"  # inside the warning window: ask the user to re-authorize soon
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True)
class Consent:
    status: ConsentStatus
    authorized_at: datetime | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Balance:
    amount: Decimal
    currency: str
    kind: str  # "current" | "available"
    changed_at: datetime | None = None
    reference_date: date | None = None


@dataclass(frozen=True)
class Account:
    provider: str
    provider_id: str
    currency: str
    iban: str | None
    reference: str | None
    holder_name: str | None
    name: str | None
    current_balance: Balance | None
    available_balance: Balance | None
    consent: Consent
    synchronized_at: datetime | None = None
    deprecated: bool = False


@dataclass(frozen=True)
class Transaction:
    """A booked or pending bank movement. `dedupe_key` is the key our bank_transactions
    table is unique on (per account); for provider data it is built from `provider_id`."""

    provider: str
    provider_id: str
    account_provider_id: str
    amount: Decimal
    currency: str
    booking_date: date
    value_date: date | None
    counterparty_name: str | None
    counterparty_iban: str | None
    remittance: str | None
    structured_reference: str | None
    end_to_end_id: str | None
    transaction_code: str | None
    bank_reference: str | None
    status: str  # "booked" | "pending"
    dedupe_key: str
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TransactionBatch:
    """New transactions since a cursor, oldest first, and the cursor to pass next time."""

    transactions: tuple[Transaction, ...]
    cursor: str | None
    pages_read: int
    synchronized_at: datetime | None = None


@dataclass(frozen=True)
class Contact:
    provider: str
    provider_id: str
    name: str
    code: str | None = None
    vat_number: str | None = None
    coc_number: str | None = None
    address: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class OpenItem:
    """An open receivable (debtor item, direction "receivable") or payable (creditor item,
    "payable") in the accounting package. `open_amount` is what is still due, signed as the
    package reports it (a credit note is negative)."""

    provider: str
    provider_id: str
    administration_id: str
    direction: str
    reference: str | None
    description: str | None
    issue_date: date | None
    due_date: date | None
    original_amount: Decimal
    open_amount: Decimal
    currency: str
    contact: Contact
    type_id: str | None = None


@dataclass(frozen=True)
class Administration:
    provider_id: str
    name: str
    country: str | None
    vat_number: str | None
    domain_id: str | None
    active: bool


@dataclass(frozen=True)
class SynchronizationState:
    provider_id: str
    status: str  # pending | running | success | error
    subtype: str
    account_provider_id: str
    errors: tuple[str, ...] = ()

    @property
    def finished(self) -> bool:
        return self.status in ("success", "error")


@runtime_checkable
class BankProvider(Protocol):
    """What the engine needs from a bank-data provider (Ponto Connect)."""

    name: str

    def accounts(self) -> Sequence[Account]: ...

    def balances(self, account_id: str) -> Sequence[Balance]: ...

    def transactions_since(self, account_id: str, cursor: str | None) -> TransactionBatch: ...

    def pending_transactions(self, account_id: str) -> Sequence[Transaction]: ...

    def consent(self, account_id: str) -> Consent: ...


@runtime_checkable
class AccountingProvider(Protocol):
    """What the engine needs from an accounting package (Yuki)."""

    name: str

    def administrations(self) -> Sequence[Administration]: ...

    def open_receivables(self, administration_id: str) -> Sequence[OpenItem]: ...

    def open_payables(self, administration_id: str) -> Sequence[OpenItem]: ...
