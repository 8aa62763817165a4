"""Exchange rates per tenant: units of `currency` per 1 EUR on `day` (ECB convention).

Tenant-owned on purpose: a rate file one tenant uploads must never change another
tenant's conversions (docs/decisions/0011-exchange-rates-per-tenant.md)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, Numeric, String, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from smbfinance.db import Base, utcnow
from smbfinance.tenancy import TENANT_DEFAULT, TenantOwnedMixin


class ExchangeRate(TenantOwnedMixin, Base):
    __tablename__ = "exchange_rates"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text(TENANT_DEFAULT))
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    rate: Mapped[Decimal] = mapped_column(Numeric(20, 10), nullable=False)
    source: Mapped[str] = mapped_column(String(20), nullable=False, default="ecb")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 default=utcnow)
