"""Invoices with their lines, document allowances/charges and payments."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from smbfinance.db import Base, TimestampMixin, new_id, utcnow
from smbfinance.tenancy import TENANT_DEFAULT, TenantOwnedMixin

MONEY = Numeric(18, 2)


def _tenant() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True,
                         server_default=text(TENANT_DEFAULT))


class Invoice(TenantOwnedMixin, TimestampMixin, Base):
    __tablename__ = "invoices"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"]),
        ForeignKeyConstraint(["tenant_id", "corrects_invoice_id"],
                             ["invoices.tenant_id", "invoices.id"]),
    )

    tenant_id: Mapped[uuid.UUID] = _tenant()
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    direction: Mapped[str] = mapped_column(String(12), nullable=False)
    kind: Mapped[str] = mapped_column(String(12), nullable=False, default="invoice")
    number: Mapped[str] = mapped_column(String(64), nullable=False)
    contact_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    issue_date: Mapped[date] = mapped_column(Date, nullable=False)
    due_date: Mapped[date] = mapped_column(Date, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    corrects_invoice_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    payment_reference: Mapped[str | None] = mapped_column(String(140))
    payment_reference_structured: Mapped[bool] = mapped_column(Boolean, nullable=False,
                                                               default=False)
    payment_iban: Mapped[str | None] = mapped_column(String(34))
    payment_bic: Mapped[str | None] = mapped_column(String(11))
    net_total: Mapped[Decimal] = mapped_column(MONEY, nullable=False, default=Decimal(0))
    vat_total: Mapped[Decimal] = mapped_column(MONEY, nullable=False, default=Decimal(0))
    gross_total: Mapped[Decimal] = mapped_column(MONEY, nullable=False, default=Decimal(0))
    amount_paid: Mapped[Decimal] = mapped_column(MONEY, nullable=False, default=Decimal(0))
    amount_credited: Mapped[Decimal] = mapped_column(MONEY, nullable=False, default=Decimal(0))
    outstanding: Mapped[Decimal] = mapped_column(MONEY, nullable=False, default=Decimal(0))
    base_currency: Mapped[str] = mapped_column(String(3), nullable=False)
    gross_total_base: Mapped[Decimal] = mapped_column(MONEY, nullable=False, default=Decimal(0))
    exchange_rate: Mapped[Decimal] = mapped_column(Numeric(20, 10), nullable=False,
                                                   default=Decimal(1))
    exchange_rate_date: Mapped[date | None] = mapped_column(Date)
    manual_urgency: Mapped[int | None] = mapped_column(SmallInteger)
    notes: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), nullable=False, default="manual")
    external_ids: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    lines: Mapped[list[InvoiceLine]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="InvoiceLine.position")
    adjustments: Mapped[list[InvoiceAdjustment]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="InvoiceAdjustment.position")

    __mapper_args__ = {"version_id_col": version}


class InvoiceLine(TenantOwnedMixin, Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "invoice_id"], ["invoices.tenant_id", "invoices.id"],
                             ondelete="CASCADE"),
    )

    tenant_id: Mapped[uuid.UUID] = _tenant()
    invoice_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    description: Mapped[str] = mapped_column(String(500), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 4), nullable=False)
    unit_code: Mapped[str | None] = mapped_column(String(10))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 6), nullable=False)
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False)
    vat_category: Mapped[str] = mapped_column(String(3), nullable=False, default="S")
    allowance: Mapped[Decimal] = mapped_column(MONEY, nullable=False, default=Decimal(0))
    charge: Mapped[Decimal] = mapped_column(MONEY, nullable=False, default=Decimal(0))
    net_amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False)


class InvoiceAdjustment(TenantOwnedMixin, Base):
    """A document-level allowance (discount) or charge."""

    __tablename__ = "invoice_adjustments"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "invoice_id"], ["invoices.tenant_id", "invoices.id"],
                             ondelete="CASCADE"),
    )

    tenant_id: Mapped[uuid.UUID] = _tenant()
    invoice_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    is_charge: Mapped[bool] = mapped_column(Boolean, nullable=False)
    amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False)
    vat_category: Mapped[str] = mapped_column(String(3), nullable=False, default="S")
    reason: Mapped[str | None] = mapped_column(String(200))


class InvoicePayment(TenantOwnedMixin, Base):
    __tablename__ = "invoice_payments"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "invoice_id"], ["invoices.tenant_id", "invoices.id"]),
        ForeignKeyConstraint(["tenant_id", "credit_note_id"],
                             ["invoices.tenant_id", "invoices.id"]),
    )

    tenant_id: Mapped[uuid.UUID] = _tenant()
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    invoice_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    paid_on: Mapped[date] = mapped_column(Date, nullable=False)
    credit_note_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    reference: Mapped[str | None] = mapped_column(String(140))
    note: Mapped[str | None] = mapped_column(Text)
    reversed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 default=utcnow)
