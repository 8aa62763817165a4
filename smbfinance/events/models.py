"""The outbox: one row per domain event, written in the transaction of its change."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, String, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from smbfinance.db import Base, new_id, utcnow
from smbfinance.tenancy import TENANT_DEFAULT, TenantOwnedMixin


class OutboxEvent(TenantOwnedMixin, Base):
    """`seq` is the feed position, NULL until the relay publishes the event."""

    __tablename__ = "outbox_events"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text(TENANT_DEFAULT))
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    object_type: Mapped[str] = mapped_column(String(40), nullable=False)
    object_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow)
    seq: Mapped[int | None] = mapped_column(BigInteger)
    relayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
