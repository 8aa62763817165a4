"""Cash-flow tables: position snapshots, planned items, decisions about recurring series,
scenarios, low-cash alerts. All tenant-owned (RLS in migration 0006)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, DateTime, Integer, Numeric, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from smbfinance.db import Base, TimestampMixin, new_id, utcnow
from smbfinance.tenancy import TENANT_DEFAULT, TenantOwnedMixin

MONEY = Numeric(18, 2)


def _tenant() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True,
                         server_default=text(TENANT_DEFAULT))


class PositionSnapshot(TenantOwnedMixin, TimestampMixin, Base):
    __tablename__ = "cash_position_snapshots"

    tenant_id: Mapped[uuid.UUID] = _tenant()
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    total: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    accounts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    oldest_synchronized_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PlannedItem(TenantOwnedMixin, TimestampMixin, Base):
    __tablename__ = "cashflow_planned_items"

    tenant_id: Mapped[uuid.UUID] = _tenant()
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    period: Mapped[str | None] = mapped_column(String(12))
    end_date: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __mapper_args__ = {"version_id_col": version}


class RecurringDecision(TenantOwnedMixin, TimestampMixin, Base):
    """A person's decision on a detected series: confirmed (with their edits) or dismissed.
    `detected` keeps what detection said when they decided."""

    __tablename__ = "cashflow_recurring_series"

    tenant_id: Mapped[uuid.UUID] = _tenant()
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    key: Mapped[str] = mapped_column(String(300), nullable=False)
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    period: Mapped[str] = mapped_column(String(12), nullable=False)
    amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    next_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date | None] = mapped_column(Date)
    detected: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}


class Scenario(TenantOwnedMixin, TimestampMixin, Base):
    __tablename__ = "cashflow_scenarios"

    tenant_id: Mapped[uuid.UUID] = _tenant()
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    adjustments: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False,
                                                             default=list)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __mapper_args__ = {"version_id_col": version}


class Alert(TenantOwnedMixin, TimestampMixin, Base):
    __tablename__ = "alerts"

    tenant_id: Mapped[uuid.UUID] = _tenant()
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    # The low-cash fields; other kinds (migration 0014) name a subject and a sentence.
    line: Mapped[str | None] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    crossing_date: Mapped[date | None] = mapped_column(Date)
    balance: Mapped[Decimal | None] = mapped_column(MONEY)
    threshold: Mapped[Decimal | None] = mapped_column(MONEY)
    currency: Mapped[str | None] = mapped_column(String(3))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    message: Mapped[str | None] = mapped_column(String(500))
    audience: Mapped[str] = mapped_column(String(12), nullable=False, default="finance")
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}


class Detection(TenantOwnedMixin, TimestampMixin, Base):
    """The tenant's latest recurring-series detection (see assemble.series_to_json)."""

    __tablename__ = "cashflow_detections"

    tenant_id: Mapped[uuid.UUID] = _tenant()
    as_of: Mapped[date] = mapped_column(Date, nullable=False)
    series: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    warnings: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
