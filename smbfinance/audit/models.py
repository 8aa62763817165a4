from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, String, text
from sqlalchemy.dialects.postgresql import BYTEA, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from smbfinance.db import Base, new_id, utcnow
from smbfinance.tenancy import TENANT_DEFAULT, TenantOwnedMixin


class AuditEntry(TenantOwnedMixin, Base):
    """One change, append-only and hash-chained per tenant (ADR 0016)."""

    __tablename__ = "audit_entries"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text(TENANT_DEFAULT))
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    actor_type: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    entity_type: Mapped[str] = mapped_column(String(40), nullable=False)
    entity_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    request_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow)
    # Set by the database's chain trigger on insert (migration 0009), never by the app.
    seq: Mapped[int | None] = mapped_column(BigInteger)
    prev_hash: Mapped[bytes | None] = mapped_column(BYTEA)
    hash: Mapped[bytes | None] = mapped_column(BYTEA)
    before_digest: Mapped[bytes | None] = mapped_column(BYTEA)
    after_digest: Mapped[bytes | None] = mapped_column(BYTEA)
    redacted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditChainHead(TenantOwnedMixin, Base):
    """The last entry of a tenant's chain, kept by the insert trigger; verify compares it
    with the entries (a missing tail shows) but never trusts it."""

    __tablename__ = "audit_chain_heads"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text(TENANT_DEFAULT))
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    hash: Mapped[bytes | None] = mapped_column(BYTEA)
