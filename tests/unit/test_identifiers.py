"""Company identifiers and profile values: Belgian enterprise numbers, EU VAT numbers,
currencies and time zones."""

from __future__ import annotations

import pytest

from smbfinance.auth.identifiers import (
    format_enterprise_number,
    normalise_enterprise_number,
    normalise_vat_number,
    validate_currency,
    validate_time_zone,
)


@pytest.mark.parametrize(("given", "digits"), [
    ("0403170701", "0403170701"),
    ("0403.170.701", "0403170701"),
    ("BE 0403.170.701", "0403170701"),
    ("0203.201.340", "0203201340"),
    ("1234.567.894", "1234567894"),
])
def test_valid_enterprise_numbers_become_ten_digits(given, digits):
    # given a valid KBO/BCE number in any common notation
    # when it is normalised
    # then ten digits remain, and they format back with dots
    assert normalise_enterprise_number(given) == digits
    assert format_enterprise_number(digits) == f"{digits[:4]}.{digits[4:7]}.{digits[7:]}"


@pytest.mark.parametrize("given", [
    "0403170702", "0123456789", "040317070", "04031707011", "ABCDEFGHIJ", "", "2403170701x",
])
def test_invalid_enterprise_numbers_are_refused_with_a_reason(given):
    # given an enterprise number with a bad checksum, length or characters
    # when it is normalised
    with pytest.raises(ValueError, match="enterprise number"):
        normalise_enterprise_number(given)
    # then the error says what was expected


@pytest.mark.parametrize(("given", "compact"), [
    ("BE0403170701", "BE0403170701"),
    ("be 0403.170.701", "BE0403170701"),
    ("NL004495445B01", "NL004495445B01"),
    ("FR 40 303 265 045", "FR40303265045"),
    ("DE136695976", "DE136695976"),
])
def test_valid_vat_numbers_are_compacted_with_their_country(given, compact):
    # given a valid EU VAT number with spaces, dots or lower case
    # when it is normalised
    # then the compact, prefixed form remains
    assert normalise_vat_number(given) == compact


@pytest.mark.parametrize("given", ["BE0403170702", "0403170701", "XX123456789", "BE", ""])
def test_invalid_vat_numbers_are_refused(given):
    # given a VAT number with a bad checksum, or no (or an unknown) country prefix
    # when it is normalised
    # then it is refused with a reason
    with pytest.raises(ValueError, match="VAT"):
        normalise_vat_number(given)


@pytest.mark.parametrize(("given", "code"), [("EUR", "EUR"), ("usd", "USD"), ("Chf", "CHF")])
def test_iso_currencies_are_upper_cased(given, code):
    # given an ISO 4217 code in any case
    # then it is accepted, upper case
    assert validate_currency(given) == code


@pytest.mark.parametrize("given", ["XYZ", "EU", "EURO", "€", ""])
def test_unknown_currencies_are_refused(given):
    # given something that is not an ISO 4217 code
    # then it is refused
    with pytest.raises(ValueError, match="ISO 4217"):
        validate_currency(given)


@pytest.mark.parametrize("given", ["Europe/Brussels", "UTC", "America/New_York"])
def test_iana_time_zones_are_accepted(given):
    assert validate_time_zone(given) == given


@pytest.mark.parametrize("given", ["Mars/Olympus", "europe/brussels", "CET+1", "", "../etc/passwd"])
def test_unknown_time_zones_are_refused(given):
    # given a name that is not an IANA zone (case and paths included)
    # then it is refused
    with pytest.raises(ValueError, match="IANA"):
        validate_time_zone(given)
