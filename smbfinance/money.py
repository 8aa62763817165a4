"""Money: Decimal amounts with an ISO 4217 currency beside them. Pure, no I/O.

Amounts a user sends with more decimals than the currency has are refused, never
rounded; amounts we compute are rounded explicitly, half-up, to the currency's places.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import pycountry

# ISO 4217 minor units that differ from 2 (pycountry does not carry them).
_MINOR_UNITS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF",
                     "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}


class MoneyError(ValueError):
    """An amount or currency that cannot be accepted; the message says why."""


def validate_currency(code: str) -> str:
    upper = code.upper() if isinstance(code, str) else ""
    if len(upper) != 3 or pycountry.currencies.get(alpha_3=upper) is None:
        raise MoneyError(f"{code!r} is not an ISO 4217 currency code")
    return upper


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency.upper(), 2)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def round_half_up(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def parse_amount(raw: object, currency: str) -> Decimal:
    """A user-supplied amount: a decimal string (or int/Decimal), finite, and with no more
    decimal places than the currency allows. Floats are refused: they are not exact."""
    if isinstance(raw, bool | float):
        raise MoneyError("send amounts as decimal strings such as \"123.45\", not numbers")
    try:
        amount = Decimal(str(raw).strip()) if isinstance(raw, str | int | Decimal) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise MoneyError(f"{raw!r} is not a decimal amount")
    places = minor_units(currency)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise MoneyError(f"{currency} amounts have at most {places} decimal places")
    if abs(amount) >= Decimal("1e16"):
        raise MoneyError("amount is too large")
    return amount.quantize(quantum(currency))


@dataclass(frozen=True, order=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError("Money.amount must be a Decimal")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def rounded(self) -> Money:
        return Money(round_half_up(self.amount, self.currency), self.currency)

    def is_zero(self) -> bool:
        return self.amount == 0

    def as_json(self) -> dict[str, str]:
        return {"amount": str(round_half_up(self.amount, self.currency)),
                "currency": self.currency}

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} and {other.currency} "
                             "without a conversion")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0).quantize(quantum(currency)), currency)
