"""Exchange-rate use cases: import an ECB file, convert an amount on a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.db import transaction
from smbfinance.errors import Invalid
from smbfinance.money import round_half_up
from smbfinance.rates import ecb
from smbfinance.rates.models import ExchangeRate

# ECB publishes on TARGET business days; a date without a rate takes the latest earlier
# one, but no further back than this (a long gap means rates were never imported).
MAX_LOOKBACK = timedelta(days=10)


@dataclass(frozen=True)
class RatesImport:
    days: int
    rates: int
    first_day: date | None
    last_day: date | None


@dataclass(frozen=True)
class Conversion:
    amount: Decimal
    rate: Decimal  # units of target per 1 unit of source
    rate_date: date


def import_rates(*, session: Session, actor: Actor, data: bytes) -> RatesImport:
    """Store every rate of an ECB file (CSV or XML); re-importing updates, never duplicates."""
    require(actor, Permission.FINANCE_WRITE)
    try:
        parsed = ecb.parse_ecb(data)
    except ecb.RatesFormatError as exc:
        raise Invalid.field("file", str(exc)) from None
    if not parsed:
        raise Invalid.field("file", "the file holds no exchange rates")
    rows = [{"currency": r.currency, "day": r.day, "rate": r.rate, "source": "ecb"}
            for r in parsed]
    with transaction(session):
        for start in range(0, len(rows), 1000):
            chunk = rows[start:start + 1000]
            statement = insert(ExchangeRate).values(chunk)
            session.execute(statement.on_conflict_do_update(
                index_elements=["tenant_id", "currency", "day"],
                set_={"rate": statement.excluded.rate, "source": statement.excluded.source},
            ))
    days = sorted({r.day for r in parsed})
    return RatesImport(days=len(days), rates=len(rows), first_day=days[0], last_day=days[-1])


def _eur_rate(session: Session, currency: str, on: date) -> tuple[Decimal, date] | None:
    if currency == "EUR":
        return Decimal(1), on
    row = session.execute(
        select(ExchangeRate.rate, ExchangeRate.day)
        .where(ExchangeRate.currency == currency, ExchangeRate.day <= on,
               ExchangeRate.day >= on - MAX_LOOKBACK)
        .order_by(ExchangeRate.day.desc()).limit(1)
    ).one_or_none()
    return (row.rate, row.day) if row else None


def convert(
    *, session: Session, amount: Decimal, source: str, target: str, on: date, field: str
) -> Conversion:
    """Convert via EUR (ECB cross rates) at the rate of `on` or the latest business day
    before it. Joins the caller's transaction. Raises Invalid naming `field` when no rate."""
    if source == target:
        return Conversion(amount=amount, rate=Decimal(1), rate_date=on)
    source_rate = _eur_rate(session, source, on)
    target_rate = _eur_rate(session, target, on)
    missing = [c for c, r in ((source, source_rate), (target, target_rate)) if r is None]
    if missing or source_rate is None or target_rate is None:
        raise Invalid.field(
            field, f"no exchange rate for {', '.join(missing)} on or up to "
                   f"{MAX_LOOKBACK.days} days before {on.isoformat()}: import the ECB rates "
                   "(POST /api/v1/exchange-rates/import)", code="rate_missing")
    rate = (target_rate[0] / source_rate[0]).quantize(Decimal("1e-10"))
    rate_date = min(source_rate[1], target_rate[1])
    return Conversion(amount=round_half_up(amount * target_rate[0] / source_rate[0], target),
                      rate=rate, rate_date=rate_date)
