"""Belgian structured communication (OGM/VCS): check digits, forms, generation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smbfinance.invoices.ogm import (
    MAX_BASE,
    InvalidOgm,
    check_digits,
    format_ogm,
    from_base,
    generate,
    is_valid,
    normalise,
)

bases = st.integers(min_value=0, max_value=MAX_BASE)


@pytest.mark.parametrize("text", [
    "+++123/4567/89002+++",
    "***123/4567/89002***",
    "123/4567/89002",
    "123456789002",
    " +++ 123 / 4567 / 89002 +++ ",
    "123 4567 89002",
    "\t123456789002\n",
])
def test_normalise_accepts_the_usual_forms(text: str) -> None:
    assert normalise(text) == "123456789002"


def test_known_references() -> None:
    # 1234567890 mod 97 = 2
    assert from_base(1_234_567_890) == "123456789002"
    # a remainder of 0 is written 97
    assert from_base(0) == "000000000097"
    assert from_base(97) == "000000009797"
    assert from_base(MAX_BASE) == "9999999999" + f"{MAX_BASE % 97:02d}"
    assert is_valid("+++000/0000/00097+++")
    assert not is_valid("+++000/0000/00000+++")


@pytest.mark.parametrize(("text", "words"), [
    ("+++123/4567/89003+++", "check digits are 03, expected 02"),
    ("123456789000", "expected 02"),
    ("12345678900", "12 digits, found 11"),
    ("1234567890022", "12 digits, found 13"),
    ("", "12 digits, found 0"),
    ("+++123/4567/8900A+++", "12 digits, found 11"),
    ("+++123-4567-89002+++", "write it as"),
    ("+++1234/567/89002+++", "write it as"),
    ("123/456789002", "write it as"),
    ("+++123/4567/89002***", "do not match"),
    ("+++123/4567/89002", "do not match"),
    ("123/4567/89002+++", "do not match"),
    ("++123/4567/89002++", "write it as"),
    ("+++", "do not match"),
    # full-width digits (U+FF10..) are digits to str.isdigit but not to any bank
    ("".join(chr(0xFF10 + int(d)) for d in "123456789002"), "write it as"),
])
def test_normalise_refuses_with_a_clear_message(text: str, words: str) -> None:
    with pytest.raises(InvalidOgm) as error:
        normalise(text)
    assert words in str(error.value)
    assert isinstance(error.value, ValueError)
    assert not is_valid(text)


def test_wrong_check_digits_are_an_error_not_a_strip() -> None:
    # a careless implementation would keep the first ten digits and recompute
    with pytest.raises(InvalidOgm):
        format_ogm("123456789099")


def test_non_text_is_refused() -> None:
    with pytest.raises(InvalidOgm):
        normalise(123456789002)  # type: ignore[arg-type]
    assert not is_valid(None)  # type: ignore[arg-type]


def test_format() -> None:
    assert format_ogm("123456789002") == "+++123/4567/89002+++"
    assert format_ogm("***123/4567/89002***") == "+++123/4567/89002+++"


@pytest.mark.parametrize("number", [-1, MAX_BASE + 1, 10**12])
def test_base_out_of_range(number: int) -> None:
    with pytest.raises(InvalidOgm, match="10 digits"):
        from_base(number)
    with pytest.raises(InvalidOgm):
        check_digits(number)


@pytest.mark.parametrize("number", [True, 1.0, "12"])
def test_base_must_be_an_int(number: object) -> None:
    with pytest.raises(InvalidOgm, match="integer"):
        from_base(number)  # type: ignore[arg-type]


def test_generate_is_deterministic_and_distinct() -> None:
    assert generate(1) == generate(1) == "000000000101"
    assert len({generate(n) for n in range(10_000)}) == 10_000
    assert generate(0) == "000000000097" and generate(MAX_BASE) == from_base(MAX_BASE)


@given(bases)
def test_every_generated_value_validates(number: int) -> None:
    digits = generate(number)
    assert len(digits) == 12 and digits.isdigit()
    assert normalise(digits) == digits
    assert is_valid(format_ogm(digits))
    assert int(digits[:10]) == number


@given(bases, st.integers(min_value=0, max_value=9), st.integers(min_value=1, max_value=9))
def test_any_single_digit_change_in_the_base_invalidates(
        number: int, position: int, delta: int) -> None:
    digits = from_base(number)
    changed_digit = str((int(digits[position]) + delta) % 10)
    tampered = digits[:position] + changed_digit + digits[position + 1:]
    assert tampered != digits
    assert not is_valid(tampered)


@given(bases, st.integers(min_value=0, max_value=8))
def test_swapping_two_adjacent_different_digits_invalidates(number: int, position: int) -> None:
    digits = from_base(number)
    a, b = digits[position], digits[position + 1]
    swapped = digits[:position] + b + a + digits[position + 2:]
    assert is_valid(swapped) == (a == b)


@given(bases, st.sampled_from(["+++", "***", ""]), st.booleans())
def test_format_and_normalise_round_trip(number: int, delimiter: str, spaced: bool) -> None:
    digits = from_base(number)
    formatted = format_ogm(digits)
    assert formatted == f"+++{digits[:3]}/{digits[3:7]}/{digits[7:]}+++"
    assert normalise(formatted) == digits
    body = formatted.strip("+")
    written = f"{delimiter}{body}{delimiter}"
    if spaced:
        written = " ".join(written)
    assert normalise(written) == digits
    assert format_ogm(written) == formatted
