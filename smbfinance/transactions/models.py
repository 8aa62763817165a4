"""Bank accounts, their transactions and statement import batches."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Integer,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from smbfinance.db import Base, TimestampMixin, new_id, utcnow
from smbfinance.tenancy import TENANT_DEFAULT, TenantOwnedMixin

MONEY = Numeric(18, 2)


def _tenant() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True,
                         server_default=text(TENANT_DEFAULT))


class BankAccount(TenantOwnedMixin, TimestampMixin, Base):
    __tablename__ = "bank_accounts"

    tenant_id: Mapped[uuid.UUID] = _tenant()
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    iban: Mapped[str | None] = mapped_column(String(34))
    account_number: Mapped[str | None] = mapped_column(String(64))
    bic: Mapped[str | None] = mapped_column(String(11))
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    holder: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    current_balance: Mapped[Decimal | None] = mapped_column(MONEY)
    balance_date: Mapped[date | None] = mapped_column(Date)
    balance_source: Mapped[str | None] = mapped_column(String(16))
    synchronized_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    csv_mapping: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __mapper_args__ = {"version_id_col": version}


class ImportBatch(TenantOwnedMixin, Base):
    __tablename__ = "import_batches"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "bank_account_id"],
                             ["bank_accounts.tenant_id", "bank_accounts.id"]),
    )

    tenant_id: Mapped[uuid.UUID] = _tenant()
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    format: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    file_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    strict: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    bank_account_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    read_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    duplicate_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    statements: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False,
                                                             default=list)
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    # Queued imports: {"entries": read so far, "bytes": read so far, "total_bytes": size}.
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BankTransaction(TenantOwnedMixin, TimestampMixin, Base):
    """A bank movement: signed amount (+ in, − out). Bank facts are immutable; category,
    contact, notes and the forecast flag are ours to change."""

    __tablename__ = "bank_transactions"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "bank_account_id"],
                             ["bank_accounts.tenant_id", "bank_accounts.id"]),
        ForeignKeyConstraint(["tenant_id", "import_batch_id"],
                             ["import_batches.tenant_id", "import_batches.id"]),
        ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"]),
    )

    tenant_id: Mapped[uuid.UUID] = _tenant()
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    bank_account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    booking_date: Mapped[date] = mapped_column(Date, nullable=False)
    value_date: Mapped[date | None] = mapped_column(Date)
    counterparty_name: Mapped[str | None] = mapped_column(String(200))
    counterparty_iban: Mapped[str | None] = mapped_column(String(64))
    counterparty_bic: Mapped[str | None] = mapped_column(String(11))
    remittance: Mapped[str | None] = mapped_column(Text)
    structured_reference: Mapped[str | None] = mapped_column(String(35))
    bank_reference: Mapped[str | None] = mapped_column(String(100))
    end_to_end_id: Mapped[str | None] = mapped_column(String(100))
    transaction_code: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(8), nullable=False, default="booked")
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    dedupe_key: Mapped[str] = mapped_column(String(200), nullable=False)
    import_batch_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The provider sync run that created or last changed the row (migration 0014).
    sync_log_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    category_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    ignore_for_forecast: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Who set category/contact/forecast flag: 'rule', 'user' (rules then keep off) or None.
    categorised_by: Mapped[str | None] = mapped_column(String(8))
    notes: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    matched_amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False, default=Decimal(0))
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}
