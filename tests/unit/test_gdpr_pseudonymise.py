"""Replacing a person's strings: whole words, any case, inside JSON values and keys, never
editing serialised JSON; the pseudonym comes from the id's random part."""

from __future__ import annotations

import re
import uuid

from hypothesis import given
from hypothesis import strategies as st

from smbfinance.db import new_id
from smbfinance.gdpr.pseudonymise import Terms, iban_forms, pseudonym_for

TERMS = Terms.of(["Jan Peeters", "jan@example.org", "Kerkstraat 1", "BE71096123456769"])
P = "erased-0000abcd"


def test_short_and_empty_strings_are_not_terms() -> None:
    # given strings shorter than three characters, blanks and None
    terms = Terms.of(["Al", "  ", None, "Bo ", "Ann"])
    # then only the long enough one remains
    assert terms.strings == ("Ann",)
    assert not Terms.of([None, "x"])


def test_terms_are_deduplicated_ignoring_case_and_longest_first() -> None:
    terms = Terms.of(["Jan", "JAN", "Jan Peeters"])
    assert terms.strings == ("Jan Peeters", "Jan")
    # a longer term containing a shorter one is replaced whole
    assert terms.replace("Dear Jan Peeters,", P) == f"Dear {P},"


def test_replacement_is_case_insensitive_and_whole_word() -> None:
    terms = Terms.of(["Jan"])
    assert terms.replace("JAN paid in January; jan.", P) == f"{P} paid in January; {P}."
    assert terms.replace("Janssens", P) == "Janssens"


def test_special_characters_are_literal() -> None:
    terms = Terms.of(["a.b+c@x.io", "(Ann)"])
    assert terms.replace("mail a.b+c@x.io or aXb+c@x.io", P) == f"mail {P} or aXb+c@x.io"
    assert terms.replace("see (Ann) there", P) == f"see {P} there"


def test_replacement_is_cut_to_the_column_length() -> None:
    assert TERMS.replace("Jan Peeters", "erased-0123456789", max_length=10) == "erased-012"


def test_json_is_walked_values_and_keys() -> None:
    document = {"name": "Jan Peeters", "lines": [{"text": "IBAN BE71096123456769"}, 3, None],
                "Jan Peeters": True, "amount": "121.00", "nested": {"email": "JAN@example.org"}}
    assert TERMS.walk(document, P) == {
        "name": P, "lines": [{"text": f"IBAN {P}"}, 3, None], P: True, "amount": "121.00",
        "nested": {"email": P}}


def test_the_walk_does_not_touch_numbers_booleans_or_other_strings() -> None:
    document = {"a": 1, "b": 1.5, "c": False, "d": "Kerkstraat 10"}
    assert TERMS.walk(document, P) == document


def test_ibans_are_matched_compact_and_grouped() -> None:
    assert iban_forms("be71 0961 2345 6769") == ["BE71096123456769", "BE71 0961 2345 6769"]
    terms = Terms.of(iban_forms("BE71096123456769"))
    assert terms.replace("to BE71 0961 2345 6769 or be71096123456769", P) == f"to {P} or {P}"


def test_the_pseudonym_uses_the_random_part_of_the_id() -> None:
    # given two UUIDv7 ids made within the same millisecond range (same leading digits)
    first, second = new_id(), new_id()
    assert first.hex[:8] == second.hex[:8]
    # then their pseudonyms still differ (the last 8 hex digits are random)
    assert pseudonym_for(first) != pseudonym_for(second)
    assert re.fullmatch(r"erased-[0-9a-f]{8}", pseudonym_for(uuid.uuid4()))


def test_the_postgres_patterns_escape_everything_but_letters_and_digits() -> None:
    terms = Terms.of(['a.b "c"'])
    assert r"a\.b\ \"c\"" in terms.postgres_pattern
    # the JSON pattern also finds the escaped form jsonb::text prints
    assert r"a\.b\ \\\"c\\\"" in terms.postgres_json_pattern


words = st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Nd")),
                min_size=1, max_size=8)
separators = st.sampled_from([" ", ", ", "; ", "\n", " - ", "/"])


@given(st.lists(st.one_of(words, st.sampled_from(TERMS.strings)), max_size=12),
       st.lists(separators, min_size=12, max_size=12))
def test_no_term_survives_in_text_built_around_it(parts: list[str], seps: list[str]) -> None:
    # given text where terms stand as whole words between other words
    value = "".join(part + sep for part, sep in zip(parts, seps, strict=False))
    # when replaced
    replaced = TERMS.replace(value, P)
    # then no term is found any more, and text without a term is unchanged
    assert not TERMS.found_in(replaced)
    if not TERMS.found_in(value):
        assert replaced == value


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | words | st.sampled_from(TERMS.strings),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(words | st.sampled_from(TERMS.strings), children, max_size=4),
    max_leaves=20)


@given(json_values)
def test_no_term_survives_a_walk_and_walking_twice_changes_nothing(document: object) -> None:
    walked = TERMS.walk(document, P)
    assert not TERMS.found_in(repr(walked))
    assert TERMS.walk(walked, P) == walked
