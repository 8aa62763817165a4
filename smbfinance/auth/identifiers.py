"""Belgian company identifiers and other profile values, validated with maintained
libraries (python-stdnum, pycountry, zoneinfo)."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import pycountry
from stdnum import exceptions as stdnum_errors
from stdnum.be import vat
from stdnum.eu import vat as eu_vat


def normalise_enterprise_number(value: str) -> str:
    """KBO/BCE number → 10 digits. Raises ValueError with a readable reason."""
    try:
        return vat.validate(value)
    except stdnum_errors.ValidationError as exc:
        raise ValueError(f"not a valid Belgian enterprise number ({exc.message})") from None


def format_enterprise_number(digits: str) -> str:
    return f"{digits[:4]}.{digits[4:7]}.{digits[7:]}"


def normalise_vat_number(value: str) -> str:
    """EU VAT number → compact form with country prefix (e.g. BE0123456749)."""
    try:
        compact = eu_vat.validate(value)
    except stdnum_errors.ValidationError as exc:
        raise ValueError(f"not a valid EU VAT number ({exc.message})") from None
    return compact


_PEPPOL_ID = re.compile(r"^(?P<scheme>\d{4}):(?P<id>[A-Za-z0-9][A-Za-z0-9.\-_:]{0,94})$")


def normalise_peppol_id(value: str) -> str:
    """A Peppol participant identifier: `<4-digit scheme>:<identifier>`, e.g. 0208:0123456749."""
    compact = "".join(value.split())
    match = _PEPPOL_ID.match(compact)
    if match is None:
        raise ValueError("not a Peppol participant id such as 0208:0123456749")
    return compact


def validate_currency(code: str) -> str:
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code.upper()) is None:
        raise ValueError("not an ISO 4217 currency code")
    return code.upper()


def validate_time_zone(name: str) -> str:
    if name not in available_timezones():
        raise ValueError("not an IANA time zone (e.g. Europe/Brussels)")
    try:
        ZoneInfo(name)
    except ZoneInfoNotFoundError:
        raise ValueError("not an IANA time zone (e.g. Europe/Brussels)") from None
    return name
