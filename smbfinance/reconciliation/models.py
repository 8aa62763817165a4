"""Reconciliation as stored: matches, their allocations, and suggestions to review."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKeyConstraint, Numeric, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from smbfinance.db import Base, new_id, utcnow
from smbfinance.tenancy import TENANT_DEFAULT, TenantOwnedMixin

MONEY = Numeric(18, 2)
SCORE = Numeric(4, 2)


def _tenant() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True,
                         server_default=text(TENANT_DEFAULT))


class Match(TenantOwnedMixin, Base):
    """One bank transaction settling one or more invoices. Never deleted: undoing sets
    `status` to 'undone' and reverses the invoice payments its allocations made."""

    __tablename__ = "reconciliation_matches"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "transaction_id"],
                             ["bank_transactions.tenant_id", "bank_transactions.id"]),
    )

    tenant_id: Mapped[uuid.UUID] = _tenant()
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    transaction_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    certain: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    score: Mapped[Decimal | None] = mapped_column(SCORE)
    signals: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    status: Mapped[str] = mapped_column(String(8), nullable=False, default="active")
    amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 default=utcnow)
    undone_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    allocations: Mapped[list[Allocation]] = relationship(
        lazy="selectin", order_by="Allocation.id",
        primaryjoin="and_(Match.tenant_id == foreign(Allocation.tenant_id), "
                    "Match.id == foreign(Allocation.match_id))")


class Allocation(TenantOwnedMixin, Base):
    """The part of a match that settles one invoice, with the invoice payment it made."""

    __tablename__ = "reconciliation_allocations"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "match_id"],
                             ["reconciliation_matches.tenant_id", "reconciliation_matches.id"]),
        ForeignKeyConstraint(["tenant_id", "transaction_id"],
                             ["bank_transactions.tenant_id", "bank_transactions.id"]),
        ForeignKeyConstraint(["tenant_id", "invoice_id"], ["invoices.tenant_id", "invoices.id"]),
        ForeignKeyConstraint(["tenant_id", "invoice_payment_id"],
                             ["invoice_payments.tenant_id", "invoice_payments.id"]),
    )

    tenant_id: Mapped[uuid.UUID] = _tenant()
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    match_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    transaction_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    invoice_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    invoice_payment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)


class Suggestion(TenantOwnedMixin, Base):
    """A match the engine proposes but does not apply: a person accepts or dismisses it."""

    __tablename__ = "reconciliation_suggestions"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "transaction_id"],
                             ["bank_transactions.tenant_id", "bank_transactions.id"]),
    )

    tenant_id: Mapped[uuid.UUID] = _tenant()
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    transaction_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    invoice_key: Mapped[str] = mapped_column(Text, nullable=False)
    # [{"invoice_id": str, "amount": str}] in the invoice's (= transaction's) currency.
    allocations: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    score: Mapped[Decimal] = mapped_column(SCORE, nullable=False)
    signals: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 default=utcnow)
    dismissed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dismissed_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
