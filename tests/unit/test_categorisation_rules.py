"""The rule engine alone: conditions, order, outcomes and the checks on what a rule says."""

from __future__ import annotations

import random
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from smbfinance.categorisation import rules as engine
from smbfinance.categorisation.rules import (
    Actions,
    Conditions,
    Outcome,
    RuleSpec,
    TransactionFacts,
)
from smbfinance.errors import ErrorList

T0 = datetime(2026, 1, 1, tzinfo=UTC)
IBAN = "BE68539007547034"
CATEGORY = uuid.UUID("01900000-0000-7000-8000-000000000001")
CONTACT = uuid.UUID("01900000-0000-7000-8000-000000000002")

amounts = st.decimals(min_value=Decimal("-99999.99"), max_value=Decimal("99999.99"), places=2)
words = st.text(alphabet=st.characters(categories=("L", "Nd")), min_size=1, max_size=12)


def facts(amount: str = "-10.00", **kwargs: str | None) -> TransactionFacts:
    return TransactionFacts(amount=Decimal(amount), **kwargs)  # type: ignore[arg-type]


def rule(priority: int = 10, seconds: int = 0, **conditions: object) -> RuleSpec:
    return RuleSpec(id=uuid.uuid4(), priority=priority, created_at=T0 + timedelta(seconds=seconds),
                    conditions=Conditions(**conditions),  # type: ignore[arg-type]
                    actions=Actions(category_id=CATEGORY))


# ------------------------------------------------------------------ matching

def test_name_contains_ignores_case_accents_and_spacing() -> None:
    conditions = Conditions(counterparty_name_contains="societe  generale")
    assert engine.matches(conditions, facts(counterparty_name="SOCIÉTÉ\tGénérale SA"))
    assert not engine.matches(conditions, facts(counterparty_name="Société Anonyme"))
    assert not engine.matches(conditions, facts(counterparty_name=None))


@given(prefix=words, needle=words, suffix=words, data=st.data())
def test_name_contains_finds_any_part_however_it_is_written(
        prefix: str, needle: str, suffix: str, data: st.DataObject) -> None:
    # given a name that holds the needle, with the needle's letters cased at random and
    # accents added (case changed only where it maps back: Turkish dotless ı upper-cases
    # to I, a different letter)
    accents = ("\u0301", "\u0300", "\u0308", "")

    def recased(ch: str) -> str:
        other = ch.upper() if data.draw(st.booleans()) else ch.lower()
        return other if engine.fold(other) == engine.fold(ch) else ch

    written = "".join(
        unicodedata.normalize("NFC", recased(ch) + data.draw(st.sampled_from(accents)))
        for ch in needle)
    assume(engine.fold(needle))
    name = f"{prefix} {written} {suffix}"
    # when a rule looks for the plain needle / then it is found
    assert engine.matches(Conditions(counterparty_name_contains=needle), facts(
        counterparty_name=name))


def test_iban_equals_compact() -> None:
    conditions = Conditions(counterparty_iban=IBAN)
    assert engine.matches(conditions, facts(counterparty_iban="be68 5390 0754 7034"))
    assert not engine.matches(conditions, facts(counterparty_iban="BE68539007547035"))
    assert not engine.matches(conditions, facts(counterparty_iban="XBE68539007547034"))
    assert not engine.matches(conditions, facts(counterparty_iban=None))


def test_text_is_found_in_remittance_or_structured_reference() -> None:
    conditions = Conditions(text_contains="loyer  janvier")
    assert engine.matches(conditions, facts(remittance="LOYER Janvier 2026"))
    assert not engine.matches(conditions, facts(remittance="loyer février"))
    # a structured communication as people write it finds the stored 12 digits
    ogm = Conditions(text_contains="+++090/9337/55493+++")
    assert engine.matches(ogm, facts(structured_reference="090933755493"))
    assert not engine.matches(ogm, facts(structured_reference="090933755494"))
    assert engine.matches(Conditions(text_contains="rf18 5390"),
                          facts(structured_reference="RF18539007547034"))
    assert not engine.matches(conditions, facts())


@given(amount=amounts, low=amounts, high=amounts)
def test_amount_bounds_are_inclusive_on_the_absolute_amount(amount: Decimal, low: Decimal,
                                                            high: Decimal) -> None:
    low, high = abs(low), abs(high)
    conditions = Conditions(amount_min=low, amount_max=high)
    assert engine.matches(conditions, facts(str(amount))) == (low <= abs(amount) <= high)


@given(amount=amounts)
def test_direction_follows_the_sign(amount: Decimal) -> None:
    assert engine.matches(Conditions(direction="in"), facts(str(amount))) == (amount > 0)
    assert engine.matches(Conditions(direction="out"), facts(str(amount))) == (amount < 0)


def test_every_condition_must_hold() -> None:
    conditions = Conditions(counterparty_name_contains="proximus", direction="out",
                            amount_max=Decimal("100.00"))
    assert engine.matches(conditions, facts("-59.99", counterparty_name="PROXIMUS NV"))
    assert not engine.matches(conditions, facts("59.99", counterparty_name="PROXIMUS NV"))
    assert not engine.matches(conditions, facts("-159.99", counterparty_name="PROXIMUS NV"))
    assert not engine.matches(conditions, facts("-59.99", counterparty_name="Orange"))


def test_no_condition_matches_nothing() -> None:
    assert not engine.matches(Conditions(), facts())


# ------------------------------------------------------------------ order

def test_lowest_priority_wins_then_earliest_created() -> None:
    late_first = rule(priority=5, seconds=9, direction="out")
    early_second = rule(priority=5, seconds=1, direction="out")
    urgent = rule(priority=1, seconds=99, direction="in")
    assert engine.first_match([late_first, early_second, urgent], facts("-1.00")) == early_second
    assert engine.first_match([late_first, early_second, urgent], facts("1.00")) == urgent
    assert engine.first_match([urgent], facts("-1.00")) is None


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.booleans()),
                min_size=1, max_size=12), st.randoms())
def test_the_winner_is_the_first_matching_rule_whatever_the_input_order(
        shapes: list[tuple[int, int, bool]], rnd: random.Random) -> None:
    # given rules of which some match (direction out) and some do not (direction in)
    specs = [rule(priority=p, seconds=s, direction="out" if hit else "in")
             for p, s, hit in shapes]
    expected = min((s for s in specs if s.conditions.direction == "out"),
                   key=lambda s: s.order, default=None)
    # when they come in any order / then the same rule wins: the first that matches
    rnd.shuffle(specs)
    assert engine.first_match(specs, facts("-5.00")) == expected


# ------------------------------------------------------------------ outcome

def test_a_rule_fills_in_and_never_clears() -> None:
    current = Outcome(category_id=None, contact_id=CONTACT, ignore_for_forecast=False)
    assert engine.outcome(Actions(category_id=CATEGORY), current, contact_is_ours=False) == \
        Outcome(CATEGORY, CONTACT, False)
    assert engine.outcome(Actions(ignore_for_forecast=True), current, contact_is_ours=False) == \
        Outcome(None, CONTACT, True)


def test_a_contact_found_elsewhere_is_kept_but_a_rules_contact_is_replaced() -> None:
    other = uuid.uuid4()
    current = Outcome(category_id=None, contact_id=other, ignore_for_forecast=False)
    actions = Actions(contact_id=CONTACT)
    assert engine.outcome(actions, current, contact_is_ours=False).contact_id == other
    assert engine.outcome(actions, current, contact_is_ours=True).contact_id == CONTACT
    empty = Outcome(None, None, False)
    assert engine.outcome(actions, empty, contact_is_ours=False).contact_id == CONTACT


@given(st.sampled_from([None, CATEGORY]), st.sampled_from([None, CONTACT]),
       st.sampled_from([None, True, False]), st.booleans(), st.booleans())
def test_applying_an_outcome_twice_changes_nothing_more(category, contact, ignore, flag,
                                                        ours) -> None:
    actions = Actions(category, contact, ignore)
    once = engine.outcome(actions, Outcome(None, None, flag), contact_is_ours=ours)
    assert engine.outcome(actions, once, contact_is_ours=True) == once


# ------------------------------------------------------------------ parsing

def parsed(raw: object, parse=engine.parse_conditions) -> tuple[object, dict[str, str]]:
    errors = ErrorList()
    value = parse(raw, errors)
    return value, {e.field: e.code for e in errors.errors}


def test_conditions_are_normalised_for_storage() -> None:
    value, errors = parsed({"counterparty_name_contains": "  Proximus   NV ",
                            "counterparty_iban": "be68 5390 0754 7034", "amount_min": "10",
                            "amount_max": 250, "direction": "out", "text_contains": None})
    assert errors == {}
    assert engine.conditions_json(value) == {  # type: ignore[arg-type]
        "counterparty_name_contains": "Proximus NV", "counterparty_iban": IBAN,
        "amount_min": "10.00", "amount_max": "250.00", "direction": "out"}


@pytest.mark.parametrize(("raw", "fields"), [
    ({}, {"conditions"}),
    ({"text_contains": None}, {"conditions"}),
    ("text", {"conditions"}),
    ({"colour": "red"}, {"conditions.colour"}),
    ({"counterparty_name_contains": "   "}, {"conditions.counterparty_name_contains"}),
    ({"counterparty_name_contains": "x" * 201}, {"conditions.counterparty_name_contains"}),
    ({"counterparty_iban": "BE68539007547035"}, {"conditions.counterparty_iban"}),
    ({"counterparty_iban": "BE-68"}, {"conditions.counterparty_iban"}),
    ({"amount_min": "1.005"}, {"conditions.amount_min"}),
    ({"amount_min": "-1"}, {"conditions.amount_min"}),
    ({"amount_min": 1.5}, {"conditions.amount_min"}),
    ({"amount_max": "NaN"}, {"conditions.amount_max"}),
    ({"amount_max": "lots"}, {"conditions.amount_max"}),
    ({"amount_min": "10", "amount_max": "5"}, {"conditions.amount_max"}),
    ({"direction": "sideways"}, {"conditions.direction"}),
])
def test_bad_conditions_are_named(raw: object, fields: set[str]) -> None:
    assert set(parsed(raw)[1]) == fields


def test_a_non_iban_account_number_is_accepted_compact() -> None:
    value, errors = parsed({"counterparty_iban": "1234 5678 9"})
    assert errors == {}
    assert value.counterparty_iban == "123456789"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("raw", "fields"), [
    ({}, {"actions"}),
    ({"category_id": None}, {"actions"}),
    ({"category_id": "nope"}, {"actions.category_id"}),
    ({"ignore_for_forecast": "yes"}, {"actions.ignore_for_forecast"}),
    ({"rename_to": "x"}, {"actions.rename_to"}),
    ([], {"actions"}),
])
def test_bad_actions_are_named(raw: object, fields: set[str]) -> None:
    assert set(parsed(raw, engine.parse_actions)[1]) == fields


def test_actions_round_trip_through_json() -> None:
    value, errors = parsed({"category_id": str(CATEGORY), "ignore_for_forecast": False},
                           engine.parse_actions)
    assert errors == {}
    stored = engine.actions_json(value)  # type: ignore[arg-type]
    assert stored == {"category_id": str(CATEGORY), "ignore_for_forecast": False}
    assert parsed(stored, engine.parse_actions)[0] == value
