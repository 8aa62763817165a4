"""Conversion to the tenant's base currency with a table of rates read once per request.

Rates follow the ECB convention (units of a currency per 1 EUR on a day); a cross rate goes
through EUR. The table is built by the service from the tenant's own rates
(smbfinance/rates), so converting thousands of invoices costs no query each."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache

from smbfinance.money import quantum, round_half_up


@lru_cache(maxsize=64)
def _unit(currency: str) -> Decimal:
    return quantum(currency)


class RateMissing(LookupError):
    """No rate for a currency on or shortly before the day."""


@dataclass(frozen=True)
class RateTable:
    base: str
    on: date
    # Units of the currency per 1 EUR, with the day the rate was published.
    per_eur: dict[str, tuple[Decimal, date]] = field(default_factory=dict)

    def _eur(self, currency: str) -> Decimal:
        if currency == "EUR":
            return Decimal(1)
        found = self.per_eur.get(currency)
        if found is None:
            raise RateMissing(currency)
        return found[0]

    def rate(self, currency: str) -> Decimal:
        """Units of base per 1 unit of `currency`."""
        if currency == self.base:
            return Decimal(1)
        return self._eur(self.base) / self._eur(currency)

    def has(self, currency: str) -> bool:
        try:
            self.rate(currency)
        except RateMissing:
            return False
        return True

    def to_base(self, amount: Decimal, currency: str) -> Decimal:
        """`amount` of `currency` in the base currency, rounded half-up to its places.
        Raises RateMissing when either side has no rate."""
        if currency == self.base:
            return amount if amount == amount.quantize(_unit(self.base)) else round_half_up(
                amount, self.base)
        return round_half_up(amount * self._eur(self.base) / self._eur(currency), self.base)
