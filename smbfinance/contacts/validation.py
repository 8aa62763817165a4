"""Contact identifiers, validated with maintained libraries (python-stdnum, schwifty)."""

from __future__ import annotations

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from smbfinance.auth.identifiers import normalise_enterprise_number, normalise_vat_number

__all__ = ["normalise_enterprise_number", "normalise_iban", "normalise_vat_number"]


def normalise_iban(value: str) -> str:
    try:
        return str(IBAN(value).compact)
    except (SchwiftyException, ValueError) as exc:
        raise ValueError(f"not a valid IBAN ({exc})") from None
