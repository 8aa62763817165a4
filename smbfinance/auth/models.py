"""Tenants, users, memberships and refresh-token families.

Users are global identities (one person, several companies); everything else is
tenant-owned and guarded by row-level security. Primary and foreign keys carry tenant_id.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from smbfinance.db import Base, IdMixin, TimestampMixin, new_id
from smbfinance.tenancy import TENANT_DEFAULT, TenantOwnedMixin


class Role(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    ACCOUNTANT = "accountant"
    VIEWER = "viewer"


ROLE_VALUES = tuple(role.value for role in Role)


class Tenant(IdMixin, TimestampMixin, Base):
    """A company. Its own row is visible only inside its own scope (policy on id)."""

    __tablename__ = "tenants"

    legal_name: Mapped[str] = mapped_column(String(200), nullable=False)
    vat_number: Mapped[str | None] = mapped_column(String(20))
    enterprise_number: Mapped[str | None] = mapped_column(String(10))
    peppol_id: Mapped[str | None] = mapped_column(String(100))
    base_currency: Mapped[str] = mapped_column(String(3), nullable=False, default="EUR")
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False, default="Europe/Brussels")
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    # Set when the owner confirms the company's deletion (smbfinance.tenant_deletion): a
    # closed company refuses every sign-in, token and API key until reopened or purged.
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (Index("uq_users_email_lower", func.lower(text("email")), unique=True),)

    email: Mapped[str] = mapped_column(String(254), nullable=False)
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)
    full_name: Mapped[str | None] = mapped_column(String(200))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Membership(TenantOwnedMixin, TimestampMixin, Base):
    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLE_VALUES!r}", name="role_valid"),
        Index("ix_memberships_user", "user_id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True,
        server_default=text(TENANT_DEFAULT),
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20), nullable=False)


class RefreshTokenFamily(TenantOwnedMixin, Base):
    """One sign-in: every rotated refresh token and its access tokens belong to it.

    Only `current_jti` may be exchanged; presenting an older one means the token leaked,
    and the whole family is revoked. Access tokens carry the family id, so logout (which
    revokes the family) also ends them, and that survives restarts because it lives here.
    """

    __tablename__ = "refresh_token_families"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["memberships.tenant_id", "memberships.user_id"],
            ondelete="CASCADE",
        ),
        Index("ix_refresh_token_families_tenant_user", "tenant_id", "user_id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text(TENANT_DEFAULT)
    )
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    current_jti: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(String(40))
