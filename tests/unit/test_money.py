"""Money: amounts a user sends are refused when they carry more places than the currency has,
amounts we compute are rounded half-up, and currencies are never mixed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smbfinance.money import (
    Money,
    MoneyError,
    minor_units,
    parse_amount,
    quantum,
    round_half_up,
    validate_currency,
)

# --------------------------------------------------------------------------- parse_amount


@pytest.mark.parametrize(("raw", "currency", "expected"), [
    ("12.34", "EUR", Decimal("12.34")),
    ("12.3", "EUR", Decimal("12.30")),
    ("12", "EUR", Decimal("12.00")),
    (" 7.50 ", "EUR", Decimal("7.50")),
    ("-3.10", "EUR", Decimal("-3.10")),
    (12, "EUR", Decimal("12.00")),
    (Decimal("0.01"), "EUR", Decimal("0.01")),
    ("1500", "JPY", Decimal("1500")),
    ("1.234", "KWD", Decimal("1.234")),
    ("1.2", "KWD", Decimal("1.200")),
])
def test_parse_amount_accepts_what_the_currency_can_hold(raw, currency, expected) -> None:
    # given an amount with no more places than the currency has
    # when it is parsed
    parsed = parse_amount(raw, currency)
    # then it keeps its value, written with exactly the currency's places
    assert parsed == expected
    assert parsed.as_tuple().exponent == -minor_units(currency)


@pytest.mark.parametrize(("raw", "currency"), [
    ("1.005", "EUR"),     # a third place in euro: refused, never rounded to 1.01 or 1.00
    ("0.001", "EUR"),
    ("12.345", "EUR"),
    ("100.5", "JPY"),     # yen have no minor unit
    ("1.0", "JPY"),
    ("1.2345", "KWD"),    # dinar have three
])
def test_parse_amount_refuses_more_places_than_the_currency_has(raw, currency) -> None:
    # given an amount with more decimals than its currency allows
    # when it is parsed / then it is refused with the reason, not rounded
    with pytest.raises(MoneyError, match="decimal places"):
        parse_amount(raw, currency)


@pytest.mark.parametrize("raw", [1.5, 0.1, 2.0, True, False])
def test_parse_amount_refuses_floats_and_booleans(raw) -> None:
    # given a JSON number (a float is not exact) or a boolean
    # when it is parsed / then it is refused and the message says to send a string
    with pytest.raises(MoneyError, match="decimal strings"):
        parse_amount(raw, "EUR")


@pytest.mark.parametrize("raw", ["", "abc", "1,50", "NaN", "Infinity", "-inf", None, [], {}])
def test_parse_amount_refuses_what_is_not_a_decimal(raw) -> None:
    with pytest.raises(MoneyError, match="not a decimal amount"):
        parse_amount(raw, "EUR")


def test_parse_amount_refuses_absurdly_large_amounts() -> None:
    with pytest.raises(MoneyError, match="too large"):
        parse_amount("10000000000000000", "EUR")


# --------------------------------------------------------------------------- rounding


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    ("1.005", "EUR", "1.01"),     # half goes up (banker's rounding would give 1.00)
    ("1.015", "EUR", "1.02"),
    ("1.0049", "EUR", "1.00"),
    ("2.675", "EUR", "2.68"),
    ("-1.005", "EUR", "-1.01"),   # half-up means away from zero for negatives
    ("0.5", "JPY", "1"),
    ("2.5", "JPY", "3"),
    ("1.0005", "KWD", "1.001"),
    ("1.23", "EUR", "1.23"),
])
def test_round_half_up(amount, currency, expected) -> None:
    assert round_half_up(Decimal(amount), currency) == Decimal(expected)
    assert str(round_half_up(Decimal(amount), currency)) == expected


def test_minor_units_and_quantum() -> None:
    assert (minor_units("EUR"), minor_units("jpy"), minor_units("KWD")) == (2, 0, 3)
    assert (quantum("EUR"), quantum("JPY"), quantum("KWD")) == (
        Decimal("0.01"), Decimal("1"), Decimal("0.001"))


@pytest.mark.parametrize("code", ["EURO", "EU", "ABC", "", "12€"])
def test_validate_currency_refuses_what_is_not_iso_4217(code) -> None:
    with pytest.raises(MoneyError, match="ISO 4217"):
        validate_currency(code)


def test_validate_currency_upper_cases() -> None:
    assert validate_currency("usd") == "USD"


# --------------------------------------------------------------------------- Money


def test_money_adds_and_subtracts_within_one_currency() -> None:
    # given two euro amounts
    a, b = Money(Decimal("10.10"), "EUR"), Money(Decimal("0.95"), "EUR")
    # when they are combined / then the result stays in euro
    assert a + b == Money(Decimal("11.05"), "EUR")
    assert a - b == Money(Decimal("9.15"), "EUR")
    assert -a == Money(Decimal("-10.10"), "EUR")


@pytest.mark.parametrize("operation", [lambda a, b: a + b, lambda a, b: a - b])
def test_money_refuses_to_mix_currencies(operation) -> None:
    # given a euro and a dollar amount
    eur, usd = Money(Decimal("10.00"), "EUR"), Money(Decimal("10.00"), "USD")
    # when they are added or subtracted / then it is refused: a conversion is needed
    with pytest.raises(MoneyError, match="without a conversion"):
        operation(eur, usd)


def test_money_refuses_float_amounts() -> None:
    with pytest.raises(TypeError):
        Money(1.5, "EUR")  # type: ignore[arg-type]


def test_money_json_is_a_string_rounded_half_up() -> None:
    assert Money(Decimal("1.005"), "EUR").as_json() == {"amount": "1.01", "currency": "EUR"}
    assert Money(Decimal("7"), "JPY").as_json() == {"amount": "7", "currency": "JPY"}
    assert Money(Decimal("1.005"), "EUR").rounded() == Money(Decimal("1.01"), "EUR")


def test_money_zero_has_the_currency_places() -> None:
    assert str(Money.zero("EUR").amount) == "0.00"
    assert str(Money.zero("KWD").amount) == "0.000"
    assert Money.zero("JPY").is_zero()


# --------------------------------------------------------------------------- properties

CURRENCIES = st.sampled_from(["EUR", "USD", "JPY", "KWD"])


@st.composite
def amount_in(draw: st.DrawFn, currency: str, extra_places: int = 0) -> Decimal:
    places = minor_units(currency) + extra_places
    units = draw(st.integers(min_value=-(10**14), max_value=10**14))
    return Decimal(units).scaleb(-places)


@given(data=st.data(), currency=CURRENCIES)
def test_an_amount_within_the_currency_places_round_trips(data, currency) -> None:
    # given any amount written with at most the currency's places
    amount = data.draw(amount_in(currency))
    # when its string is parsed / then the same value comes back, nothing rounded
    assert parse_amount(str(amount), currency) == amount


@given(data=st.data(), currency=CURRENCIES)
def test_an_amount_with_one_place_too_many_is_always_refused(data, currency) -> None:
    # given an amount whose last written digit is beyond the currency's places
    amount = data.draw(amount_in(currency, extra_places=1))
    written = f"{amount:f}"
    if written.endswith("0"):
        written = written[:-1] + "5"
    # when it is parsed / then it is refused
    with pytest.raises(MoneyError):
        parse_amount(written, currency)


@given(value=st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False,
                         allow_infinity=False, places=6), currency=CURRENCIES)
def test_round_half_up_is_within_half_a_minor_unit(value, currency) -> None:
    # given any computed amount
    # when it is rounded for the currency
    rounded = round_half_up(value, currency)
    # then it has the currency's places, is at most half a unit away, and halves go up
    step = quantum(currency)
    assert rounded.as_tuple().exponent == -minor_units(currency)
    assert abs(rounded - value) <= step / 2
    if abs(rounded - value) == step / 2:
        assert abs(rounded) > abs(value)


@given(data=st.data(), currency=CURRENCIES)
def test_money_addition_is_exact_commutative_and_associative(data, currency) -> None:
    a, b, c = (Money(data.draw(amount_in(currency)), currency) for _ in range(3))
    assert a + b == b + a
    assert (a + b) + c == a + (b + c)
    assert (a + b) - b == a


@given(data=st.data(), first=CURRENCIES, second=CURRENCIES)
def test_money_never_combines_two_different_currencies(data, first, second) -> None:
    a = Money(data.draw(amount_in(first)), first)
    b = Money(data.draw(amount_in(second)), second)
    if first == second:
        assert (a + b).currency == first
    else:
        with pytest.raises(MoneyError):
            a + b
        with pytest.raises(MoneyError):
            a - b
