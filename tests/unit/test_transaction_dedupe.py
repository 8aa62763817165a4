"""Dedupe keys: the same movement gets the same key whatever file it comes from."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from smbfinance.transactions.dedupe import FileKeys, provider_key

D = date(2026, 3, 2)


def test_equal_date_and_amount_are_counted_apart() -> None:
    keys = FileKeys()
    assert keys.key(D, Decimal("-12.50")) == "fp:2026-03-02:-12.50:1"
    assert keys.key(D, Decimal("-12.5")) == "fp:2026-03-02:-12.50:2"
    assert keys.key(D, Decimal("12.50")) == "fp:2026-03-02:12.50:1"


def test_provider_keys_name_the_provider() -> None:
    assert provider_key("ponto", "abc") == "ponto:abc"


movements = st.lists(st.tuples(st.integers(0, 5), st.integers(-500, 500)), max_size=40)


@given(movements)
def test_the_same_day_read_twice_gives_the_same_keys(rows: list[tuple[int, int]]) -> None:
    # given the movements of some days, read by two independent statements in one order
    entries = [(date(2026, 3, 1 + day), Decimal(cents) / 100) for day, cents in sorted(rows)]
    first, second = FileKeys(), FileKeys()
    # then each gets identical keys, and keys are unique within a statement
    a = [first.key(d, amount) for d, amount in entries]
    b = [second.key(d, amount) for d, amount in entries]
    assert a == b
    assert len(set(a)) == len(a)


@given(movements)
def test_an_overlapping_statement_repeats_only_the_shared_days(rows: list[tuple[int, int]]) -> None:
    entries = [(date(2026, 3, 1 + day), Decimal(cents) / 100) for day, cents in sorted(rows)]
    whole = FileKeys()
    all_keys = {whole.key(d, a) for d, a in entries}
    later = FileKeys()  # a statement starting on day 3 holds days 3.. whole
    later_keys = {later.key(d, a) for d, a in entries if d.day >= 3}
    assert later_keys <= all_keys


def test_amounts_with_more_places_round_half_away_from_zero_as_the_database_stores_them():
    # given a statement with three-decimal amounts (CODA, camt.053 allow them)
    keys = FileKeys()
    # then their keys round half away from zero, both signs
    assert keys.key(date(2026, 3, 2), Decimal("12.505")) == "fp:2026-03-02:12.51:1"
    assert keys.key(date(2026, 3, 2), Decimal("-12.505")) == "fp:2026-03-02:-12.51:1"
