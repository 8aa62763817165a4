"""A request to delete the company: pending (token issued), closed (confirmed, waiting
for the end of the legal retention), or cancelled. The purge removes the rows too."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, String, text
from sqlalchemy.dialects.postgresql import BYTEA, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from smbfinance.db import Base, new_id, utcnow
from smbfinance.tenancy import TENANT_DEFAULT, TenantOwnedMixin

PENDING, CLOSED, CANCELLED = "pending", "closed", "cancelled"


class TenantDeletion(TenantOwnedMixin, Base):
    __tablename__ = "tenant_deletions"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text(TENANT_DEFAULT))
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default=PENDING)
    requested_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow)
    # SHA-256 of the confirmation token; the token itself is shown once and never stored.
    token_hash: Mapped[bytes | None] = mapped_column(BYTEA)
    token_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    confirmed_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retention_ends_on: Mapped[date | None] = mapped_column(Date)
    purge_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What closing switched off (webhook endpoints, integrations), to switch on at reopen.
    paused: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
