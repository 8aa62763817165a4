"""Belgian structured communication (OGM / VCS): `+++123/4567/89002+++`. Pure.

Twelve digits: a 10-digit base and two check digits equal to the base modulo 97, where a
remainder of 0 is written 97. Banks reject a transfer whose check digits are wrong, so a
bad reference is a validation error here too, never silently repaired or stripped.
"""

from __future__ import annotations

import re

MAX_BASE = 9_999_999_999

# Bare 12 digits or the 3/4/5 grouping with slashes; ASCII because \d would also match
# digits of other scripts, which no bank accepts.
_BODY = re.compile(r"(?:\d{12}|\d{3}/\d{4}/\d{5})", re.ASCII)


class InvalidOgm(ValueError):
    """Not a valid structured communication; the message says what is wrong."""


def check_digits(base: int) -> int:
    if not 0 <= base <= MAX_BASE:
        raise InvalidOgm(f"the base of a structured communication has 10 digits, got {base}")
    remainder = base % 97
    return remainder or 97


def normalise(text: str) -> str:
    """The 12 digits of a structured communication written in any usual form.

    Accepts `+++123/4567/89002+++`, `***123/4567/89002***`, `123/4567/89002` and
    `123456789002`, with or without spaces anywhere."""
    if not isinstance(text, str):
        raise InvalidOgm("a structured communication must be text")
    compact = "".join(text.split())
    body = compact
    for delimiter in ("+++", "***"):
        if compact.startswith(delimiter) or compact.endswith(delimiter):
            if not (compact.startswith(delimiter) and compact.endswith(delimiter)
                    and len(compact) > 2 * len(delimiter)):
                raise InvalidOgm(f"{text!r}: opening and closing {delimiter} do not match")
            body = compact[len(delimiter):-len(delimiter)]
            break
    if not _BODY.fullmatch(body):
        digits = sum(ch.isdigit() for ch in body)
        if digits != 12:
            raise InvalidOgm(f"{text!r}: a structured communication has 12 digits, "
                             f"found {digits}")
        raise InvalidOgm(f"{text!r}: write it as +++123/4567/89012+++ or as 12 digits")
    digits12 = body.replace("/", "")
    expected = check_digits(int(digits12[:10]))
    if int(digits12[10:]) != expected:
        raise InvalidOgm(f"{text!r}: check digits are {digits12[10:]}, "
                         f"expected {expected:02d} (the first 10 digits modulo 97)")
    return digits12


def is_valid(text: str) -> bool:
    try:
        normalise(text)
    except InvalidOgm:
        return False
    return True


def format_ogm(digits12: str) -> str:
    digits = normalise(digits12)
    return f"+++{digits[:3]}/{digits[3:7]}/{digits[7:]}+++"


def from_base(number: int) -> str:
    """The 12 digits for a 10-digit base (0 .. 9 999 999 999), check digits appended."""
    if isinstance(number, bool) or not isinstance(number, int):
        raise InvalidOgm("the base of a structured communication must be an integer")
    return f"{number:010d}{check_digits(number):02d}"


def generate(sequence: int) -> str:
    """A structured communication for the n-th reference a tenant issues.

    Distinct sequence numbers give distinct references (the base is the number itself),
    so a per-tenant counter is enough; the database still enforces uniqueness."""
    return from_base(sequence)
