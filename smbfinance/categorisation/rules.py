"""The rule engine, pure: parse and check a rule's conditions and actions, decide whether
they match one transaction, and pick the rule that wins. No database, no web.

Conditions (all given ones must hold; at least one):
- `counterparty_name_contains`: text found in the counterparty's name, ignoring case,
  accents and runs of white space ("societe generale" finds "SOCIÉTÉ  Générale").
- `counterparty_iban`: the counterparty's account equals this one, compared compact
  (no spaces, upper case): "be68 5390 0754 7034" equals "BE68539007547034".
- `text_contains`: text found (as above) in the remittance information, or in the
  structured reference compared without its punctuation ("+++090/9337/55493+++" finds
  the stored "090933755493").
- `amount_min`, `amount_max`: bounds, both inclusive, on the absolute amount.
- `direction`: "in" (amount > 0) or "out" (amount < 0).

Actions (at least one): `category_id`, `contact_id`, `ignore_for_forecast` (a boolean).

Order: the lowest `priority` first, then the earliest created; the first enabled rule
whose conditions hold decides, alone.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from smbfinance.errors import ErrorList

CONDITION_KEYS = ("counterparty_name_contains", "counterparty_iban", "text_contains",
                  "amount_min", "amount_max", "direction")
ACTION_KEYS = ("category_id", "contact_id", "ignore_for_forecast")
DIRECTIONS = ("in", "out")
MAX_TEXT = 200
MAX_ACCOUNT = 64
_MAX_AMOUNT = Decimal("9999999999999999.99")  # NUMERIC(18, 2)
_SPACES = re.compile(r"\s+")
_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_ACCOUNT = re.compile(r"^[0-9A-Z]+$")


@dataclass(frozen=True)
class Conditions:
    counterparty_name_contains: str | None = None
    counterparty_iban: str | None = None
    text_contains: str | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    direction: str | None = None


@dataclass(frozen=True)
class Actions:
    category_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    ignore_for_forecast: bool | None = None

    def is_empty(self) -> bool:
        return (self.category_id is None and self.contact_id is None
                and self.ignore_for_forecast is None)


@dataclass(frozen=True)
class RuleSpec:
    """A rule as the engine sees it."""

    id: uuid.UUID
    priority: int
    created_at: datetime
    conditions: Conditions
    actions: Actions

    @property
    def order(self) -> tuple[int, datetime, uuid.UUID]:
        return self.priority, self.created_at, self.id


@dataclass(frozen=True)
class TransactionFacts:
    """What a rule may look at: the bank's facts of one transaction (amount signed)."""

    amount: Decimal
    counterparty_name: str | None = None
    counterparty_iban: str | None = None
    remittance: str | None = None
    structured_reference: str | None = None


# -- text ---------------------------------------------------------------------------------

@lru_cache(maxsize=8192)  # the same names and needles come back row after row
def fold(text: str) -> str:
    """Case-, accent- and spacing-insensitive form: "  Société\tGÉNÉRALE " → "societe generale"."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", bare.casefold()).strip()


def compact_account(text: str) -> str:
    """An account number or IBAN without spaces, in upper case."""
    return "".join(text.split()).upper()


def _compact_reference(text: str) -> str:
    return _NOT_ALNUM.sub("", text.upper())


# -- matching -----------------------------------------------------------------------------

def matches(conditions: Conditions, facts: TransactionFacts) -> bool:
    """Whether every condition given holds for the transaction (no condition: False)."""
    if conditions == Conditions():
        return False
    size = abs(facts.amount)
    if conditions.direction == "in" and not facts.amount > 0:
        return False
    if conditions.direction == "out" and not facts.amount < 0:
        return False
    if conditions.amount_min is not None and size < conditions.amount_min:
        return False
    if conditions.amount_max is not None and size > conditions.amount_max:
        return False
    if conditions.counterparty_iban is not None and (
            facts.counterparty_iban is None
            or compact_account(facts.counterparty_iban) != conditions.counterparty_iban):
        return False
    if conditions.counterparty_name_contains is not None and (
            facts.counterparty_name is None
            or fold(conditions.counterparty_name_contains) not in fold(facts.counterparty_name)):
        return False
    return conditions.text_contains is None or _text_found(conditions.text_contains, facts)


def _text_found(needle: str, facts: TransactionFacts) -> bool:
    if facts.remittance is not None and fold(needle) in fold(facts.remittance):
        return True
    if facts.structured_reference is None:
        return False
    reference = facts.structured_reference
    compact = _compact_reference(needle)
    return fold(needle) in fold(reference) or (
        bool(compact) and compact in _compact_reference(reference))


def ordered(rules: Iterable[RuleSpec]) -> list[RuleSpec]:
    return sorted(rules, key=lambda rule: rule.order)


def first_match(rules: Iterable[RuleSpec], facts: TransactionFacts) -> RuleSpec | None:
    """The rule that decides for this transaction: the first, in rule order, that matches."""
    return next((rule for rule in ordered(rules) if matches(rule.conditions, facts)), None)


@dataclass(frozen=True)
class Outcome:
    """A transaction's categorisation fields."""

    category_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    ignore_for_forecast: bool


def outcome(actions: Actions, current: Outcome, *, contact_is_ours: bool) -> Outcome:
    """The fields after applying `actions` to `current`. A rule fills in, it never clears:
    fields it does not name stay. It sets a contact only where there is none yet or where
    the contact came from a rule (`contact_is_ours`), so a contact that reconciliation or
    a person found is kept."""
    contact = current.contact_id
    if actions.contact_id is not None and (contact is None or contact_is_ours):
        contact = actions.contact_id
    return Outcome(
        category_id=actions.category_id if actions.category_id is not None
        else current.category_id,
        contact_id=contact,
        ignore_for_forecast=actions.ignore_for_forecast
        if actions.ignore_for_forecast is not None else current.ignore_for_forecast,
    )


# -- parsing and checking -----------------------------------------------------------------

def parse_conditions(raw: Any, errors: ErrorList, *, field: str = "conditions") -> Conditions:
    """Conditions from their JSON form; problems go to `errors` with dotted field names."""
    if not isinstance(raw, Mapping):
        errors.add(field, "must be an object of conditions", "invalid")
        return Conditions()
    already = len(errors.errors)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"{field}.{key}"
        if key not in CONDITION_KEYS:
            errors.add(name, "unknown condition: use one of " + ", ".join(CONDITION_KEYS),
                       "unknown_field")
        elif value is None:
            continue
        elif key in ("counterparty_name_contains", "text_contains"):
            values[key] = _text(value, name, errors)
        elif key == "counterparty_iban":
            values[key] = _account(value, name, errors)
        elif key in ("amount_min", "amount_max"):
            values[key] = _amount(value, name, errors)
        elif key == "direction":
            if value not in DIRECTIONS:
                errors.add(name, 'must be "in" or "out"')
            values[key] = value
    conditions = Conditions(**{k: v for k, v in values.items() if v is not None})
    if not values and len(errors.errors) == already:
        errors.add(field, "give at least one condition: " + ", ".join(CONDITION_KEYS),
                   "required")
    low, high = conditions.amount_min, conditions.amount_max
    if low is not None and high is not None and low > high:
        errors.add(f"{field}.amount_max", "must not be below amount_min")
    return conditions


def parse_actions(raw: Any, errors: ErrorList, *, field: str = "actions") -> Actions:
    if not isinstance(raw, Mapping):
        errors.add(field, "must be an object of actions", "invalid")
        return Actions()
    already = len(errors.errors)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"{field}.{key}"
        if key not in ACTION_KEYS:
            errors.add(name, "unknown action: use one of " + ", ".join(ACTION_KEYS),
                       "unknown_field")
        elif value is None:
            continue
        elif key == "ignore_for_forecast":
            if not isinstance(value, bool):
                errors.add(name, "must be true or false")
            else:
                values[key] = value
        else:
            try:
                values[key] = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
            except ValueError:
                errors.add(name, "must be an id")
    actions = Actions(**values)
    if actions.is_empty() and len(errors.errors) == already:
        errors.add(field, "give at least one action: " + ", ".join(ACTION_KEYS), "required")
    return actions


def conditions_json(conditions: Conditions) -> dict[str, Any]:
    """The stored (and shown) form: only the conditions given, amounts as strings."""
    return {f.name: str(value) if isinstance(value, Decimal) else value
            for f in fields(conditions) if (value := getattr(conditions, f.name)) is not None}


def actions_json(actions: Actions) -> dict[str, Any]:
    return {f.name: str(value) if isinstance(value, uuid.UUID) else value
            for f in fields(actions) if (value := getattr(actions, f.name)) is not None}


def _text(value: Any, name: str, errors: ErrorList) -> str | None:
    if not isinstance(value, str):
        errors.add(name, "must be text")
        return None
    text = _SPACES.sub(" ", value).strip()
    if not fold(text):
        errors.add(name, "must not be blank", "required")
        return None
    if len(text) > MAX_TEXT:
        errors.add(name, f"at most {MAX_TEXT} characters")
        return None
    return text


def _account(value: Any, name: str, errors: ErrorList) -> str | None:
    if not isinstance(value, str):
        errors.add(name, "must be text")
        return None
    compact = compact_account(value)
    if not compact or len(compact) > MAX_ACCOUNT or not _ACCOUNT.match(compact):
        errors.add(name, "must be an IBAN or account number (letters and digits)")
        return None
    if compact[:2].isalpha() and compact[2:4].isdigit() and not _iban_checks(compact):
        errors.add(name, "not a valid IBAN (check digits)")
        return None
    return compact


def _iban_checks(compact: str) -> bool:
    digits = "".join(str(int(ch, 36)) for ch in compact[4:] + compact[:4])
    return len(compact) >= 15 and int(digits) % 97 == 1


def _amount(value: Any, name: str, errors: ErrorList) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        errors.add(name, 'send the amount as a string, e.g. "12.50"')
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        errors.add(name, 'must be a decimal amount, e.g. "12.50"')
        return None
    if not amount.is_finite() or amount < 0:
        errors.add(name, "must be zero or more (it bounds the absolute amount)")
        return None
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        errors.add(name, "at most 2 decimals")
        return None
    if amount > _MAX_AMOUNT:
        errors.add(name, "too large")
        return None
    return amount.quantize(Decimal("0.01"))
