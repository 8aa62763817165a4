"""Integrations (one connection of a tenant to Ponto or Yuki) and their sync logs."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, ForeignKeyConstraint, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from smbfinance.db import Base, TimestampMixin, new_id
from smbfinance.tenancy import TENANT_DEFAULT, TenantOwnedMixin


def _tenant() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True,
                         server_default=text(TENANT_DEFAULT))


class Integration(TenantOwnedMixin, TimestampMixin, Base):
    """`credentials` holds every secret as one sealed value (secrets.SecretBox), bound to
    this row's tenant and id; it is never serialised by any schema."""

    __tablename__ = "integrations"

    tenant_id: Mapped[uuid.UUID] = _tenant()
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    health: Mapped[str] = mapped_column(String(20), nullable=False, default="ok")
    display_name: Mapped[str | None] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(100))
    credentials: Mapped[str | None] = mapped_column(Text)
    credentials_key_id: Mapped[str | None] = mapped_column(String(32))
    token_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    consent_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cursors: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    next_sync_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_sync_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error_code: Mapped[str | None] = mapped_column(String(60))
    last_error: Mapped[str | None] = mapped_column(String(500))
    consecutive_failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    backoff_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    webhook_pending_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    budget_day: Mapped[date | None] = mapped_column(Date)
    calls_today: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    bank_syncs_today: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False,
                                                             default=dict)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    disconnected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __mapper_args__ = {"version_id_col": version}


class SyncLog(TenantOwnedMixin, Base):
    __tablename__ = "sync_logs"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "integration_id"],
                             ["integrations.tenant_id", "integrations.id"],
                             ondelete="CASCADE"),
    )

    tenant_id: Mapped[uuid.UUID] = _tenant()
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    integration_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    trigger: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="running")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 server_default=text("now()"))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    calls: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error_code: Mapped[str | None] = mapped_column(String(60))
    error: Mapped[str | None] = mapped_column(String(500))
