"""Categories and rules use cases, and applying the rules to bank transactions.

Applying: the rules are read once; the transactions are read in chunks of plain rows
(never ORM objects), each is decided by the pure engine (rules.py) and only the rows whose
fields change are written back, a chunk per `UPDATE … FROM unnest(…)` statement. A row a
person categorised (`categorised_by = 'user'`) is never touched; a row changed since it was
read (its version moved) is left for the next run. Running it twice changes nothing the
second time.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, text, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from smbfinance.audit import service as audit
from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.categorisation import rules as engine
from smbfinance.categorisation.models import Category, Rule
from smbfinance.concurrency import check_version
from smbfinance.contacts import service as contacts
from smbfinance.db import transaction, utcnow
from smbfinance.errors import Conflict, ErrorList, Invalid, NotFound
from smbfinance.pagination import Page, check_limit, page_of
from smbfinance.transactions.models import BankTransaction

CATEGORY_FIELDS = ("name", "kind", "color")
CATEGORY_KINDS = ("income", "expense", "transfer")
RULE_FIELDS = ("name", "priority", "enabled", "conditions", "actions")
PRIORITY_STEP = 10
MAX_PRIORITY = 1_000_000
MAX_APPLY_IDS = 1000
CHUNK = 2000


# ------------------------------------------------------------------ categories

def _clean_category(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    errors = ErrorList()
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if key not in CATEGORY_FIELDS:
            errors.add(key, "unknown field", "unknown_field")
            continue
        if isinstance(value, str):
            value = " ".join(value.split()) or None
        if key == "name":
            if not value:
                errors.add("name", "must not be blank", "required")
            elif len(value) > 100:
                errors.add("name", "at most 100 characters")
        elif key == "kind" and value is not None and value not in CATEGORY_KINDS:
            errors.add("kind", "must be one of " + ", ".join(CATEGORY_KINDS))
        elif key == "color" and value is not None:
            value = value.lower()
            if len(value) != 7 or value[0] != "#" or any(
                    ch not in "0123456789abcdef" for ch in value[1:]):
                errors.add("color", 'must be a hex colour such as "#1a7f37"')
        clean[key] = value
    if not partial and "name" not in clean:
        errors.add("name", "is required", "required")
    errors.raise_if_any()
    return clean


def _category_state(category: Category) -> dict[str, Any]:
    return {key: getattr(category, key) for key in CATEGORY_FIELDS}


def create_category(*, session: Session, actor: Actor, data: dict[str, Any]) -> Category:
    require(actor, Permission.FINANCE_WRITE)
    clean = _clean_category(data, partial=False)
    with transaction(session):
        category = Category(**clean)
        session.add(category)
        _flush_unique_name(session)
        audit.record(session, actor=actor, action="category.created", entity_type="category",
                     entity_id=category.id, after=_category_state(category))
    return category


def get_category(*, session: Session, actor: Actor, category_id: uuid.UUID) -> Category:
    require(actor, Permission.FINANCE_READ)
    with transaction(session):
        return _get_category(session, category_id)


def live_category_ids(*, session: Session, actor: Actor,
                      category_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    """The ids among `category_ids` that are categories of this tenant, not deleted."""
    require(actor, Permission.FINANCE_READ)
    with transaction(session):
        return _live_categories(session, category_ids)


def _live_categories(session: Session, category_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    if not category_ids:
        return set()
    return set(session.execute(select(Category.id).where(
        Category.id.in_(list(category_ids)), Category.deleted_at.is_(None))).scalars())


def _get_category(session: Session, category_id: uuid.UUID, *,
                  for_update: bool = False) -> Category:
    query = select(Category).where(Category.id == category_id, Category.deleted_at.is_(None))
    if for_update:
        query = query.with_for_update()
    category = session.execute(query).scalar_one_or_none()
    if category is None:
        raise NotFound(f"no category {category_id}")
    return category


def list_categories(
    *, session: Session, actor: Actor, kind: str | None = None, limit: int | None = None,
    starting_after: uuid.UUID | None = None,
) -> Page[Category]:
    """Categories not deleted, by name (case-insensitive) then id."""
    require(actor, Permission.FINANCE_READ)
    limit = check_limit(limit)
    query: Select[tuple[Category]] = select(Category).where(Category.deleted_at.is_(None))
    if kind:
        query = query.where(Category.kind == kind)
    order = (func.lower(Category.name), Category.id)
    with transaction(session):
        if starting_after is not None:
            anchor = session.execute(select(*order).where(
                Category.id == starting_after, Category.deleted_at.is_(None))).one_or_none()
            if anchor is None:
                raise NotFound(f"starting_after: no category {starting_after}")
            query = query.where(tuple_(*order) > tuple_(*anchor))
        rows = session.execute(query.order_by(*order).limit(limit + 1)).scalars().all()
    return page_of(list(rows), limit)


def update_category(
    *, session: Session, actor: Actor, category_id: uuid.UUID, changes: dict[str, Any],
    expected_version: int | None = None,
) -> Category:
    require(actor, Permission.FINANCE_WRITE)
    clean = _clean_category(changes, partial=True)
    with transaction(session):
        category = _get_category(session, category_id, for_update=True)
        check_version("category", category.version, expected_version)
        before = _category_state(category)
        for key, value in clean.items():
            setattr(category, key, value)
        category.updated_at = utcnow()
        _flush_unique_name(session)
        audit.record(session, actor=actor, action="category.updated", entity_type="category",
                     entity_id=category.id, before=before, after=_category_state(category))
    return category


def delete_category(
    *, session: Session, actor: Actor, category_id: uuid.UUID,
    expected_version: int | None = None,
) -> None:
    """Soft delete: transactions keep the category; lists and rules stop using it."""
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        category = _get_category(session, category_id, for_update=True)
        check_version("category", category.version, expected_version)
        category.deleted_at = utcnow()
        audit.record(session, actor=actor, action="category.deleted", entity_type="category",
                     entity_id=category.id, before=_category_state(category))


def _flush_unique_name(session: Session) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", "") or ""
        if "name" in constraint:
            raise Conflict("a category with this name already exists",
                           extra={"field": "name"}) from None
        raise


# ------------------------------------------------------------------ rules

def _clean_rule(
    session: Session, actor: Actor, data: dict[str, Any], *, partial: bool
) -> dict[str, Any]:
    errors = ErrorList()
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if key not in RULE_FIELDS:
            errors.add(key, "unknown field", "unknown_field")
        elif key == "name":
            name = " ".join(value.split()) if isinstance(value, str) else ""
            if not name:
                errors.add("name", "must not be blank", "required")
            elif len(name) > 200:
                errors.add("name", "at most 200 characters")
            clean["name"] = name
        elif key == "priority":
            if value is None and not partial:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not (
                    0 <= value <= MAX_PRIORITY):
                errors.add("priority", f"must be a whole number from 0 to {MAX_PRIORITY}")
            clean["priority"] = value
        elif key == "enabled":
            if not isinstance(value, bool):
                errors.add("enabled", "must be true or false")
            clean["enabled"] = value
        elif key == "conditions":
            clean["conditions"] = engine.conditions_json(engine.parse_conditions(value, errors))
        elif key == "actions":
            actions = engine.parse_actions(value, errors)
            _check_targets(session, actor, actions, errors)
            clean["actions"] = engine.actions_json(actions)
    if not partial:
        for key in ("name", "conditions", "actions"):
            if key not in data:
                errors.add(key, "is required", "required")
    errors.raise_if_any()
    return clean


def _check_targets(session: Session, actor: Actor, actions: engine.Actions,
                   errors: ErrorList) -> None:
    """A rule may only point at this tenant's live category and contact: another tenant's
    id is reported exactly like an id that exists nowhere."""
    if actions.category_id is not None and not _live_categories(session, [actions.category_id]):
        errors.add("actions.category_id", f"no category {actions.category_id}", "not_found")
    if actions.contact_id is not None and not contacts.get_contacts(
            session=session, actor=actor, contact_ids=[actions.contact_id]):
        errors.add("actions.contact_id", f"no contact {actions.contact_id}", "not_found")


def _rule_state(rule: Rule) -> dict[str, Any]:
    return {key: getattr(rule, key) for key in RULE_FIELDS}


def create_rule(*, session: Session, actor: Actor, data: dict[str, Any]) -> Rule:
    """A new rule; without a priority it goes last (after the highest priority so far)."""
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        clean = _clean_rule(session, actor, data, partial=False)
        if clean.get("priority") is None:
            highest = session.execute(select(func.max(Rule.priority)).where(
                Rule.deleted_at.is_(None))).scalar_one_or_none()
            clean["priority"] = min(MAX_PRIORITY, PRIORITY_STEP + (highest or 0))
        rule = Rule(**clean)
        session.add(rule)
        session.flush()
        audit.record(session, actor=actor, action="rule.created", entity_type="rule",
                     entity_id=rule.id, after=_rule_state(rule))
    return rule


def get_rule(*, session: Session, actor: Actor, rule_id: uuid.UUID) -> Rule:
    require(actor, Permission.FINANCE_READ)
    with transaction(session):
        return _get_rule(session, rule_id)


def _get_rule(session: Session, rule_id: uuid.UUID, *, for_update: bool = False) -> Rule:
    query = select(Rule).where(Rule.id == rule_id, Rule.deleted_at.is_(None))
    if for_update:
        query = query.with_for_update()
    rule = session.execute(query).scalar_one_or_none()
    if rule is None:
        raise NotFound(f"no rule {rule_id}")
    return rule


def list_rules(
    *, session: Session, actor: Actor, enabled: bool | None = None, limit: int | None = None,
    starting_after: uuid.UUID | None = None,
) -> Page[Rule]:
    """Rules in the order they run: priority, then creation."""
    require(actor, Permission.FINANCE_READ)
    limit = check_limit(limit)
    query: Select[tuple[Rule]] = select(Rule).where(Rule.deleted_at.is_(None))
    if enabled is not None:
        query = query.where(Rule.enabled.is_(enabled))
    order = (Rule.priority, Rule.created_at, Rule.id)
    with transaction(session):
        if starting_after is not None:
            anchor = session.execute(select(*order).where(
                Rule.id == starting_after, Rule.deleted_at.is_(None))).one_or_none()
            if anchor is None:
                raise NotFound(f"starting_after: no rule {starting_after}")
            query = query.where(tuple_(*order) > tuple_(*anchor))
        rows = session.execute(query.order_by(*order).limit(limit + 1)).scalars().all()
    return page_of(list(rows), limit)


def update_rule(
    *, session: Session, actor: Actor, rule_id: uuid.UUID, changes: dict[str, Any],
    expected_version: int | None = None,
) -> Rule:
    """Change a rule; `conditions` and `actions`, when sent, replace the old ones whole.
    Transactions already categorised keep their fields until the rules are applied again."""
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        rule = _get_rule(session, rule_id, for_update=True)
        check_version("rule", rule.version, expected_version)
        clean = _clean_rule(session, actor, changes, partial=True)
        before = _rule_state(rule)
        for key, value in clean.items():
            setattr(rule, key, value)
        rule.updated_at = utcnow()
        session.flush()
        audit.record(session, actor=actor, action="rule.updated", entity_type="rule",
                     entity_id=rule.id, before=before, after=_rule_state(rule))
    return rule


def delete_rule(
    *, session: Session, actor: Actor, rule_id: uuid.UUID, expected_version: int | None = None
) -> None:
    """Soft delete: the rule stops running; what it categorised stays as it is."""
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        rule = _get_rule(session, rule_id, for_update=True)
        check_version("rule", rule.version, expected_version)
        rule.deleted_at = utcnow()
        audit.record(session, actor=actor, action="rule.deleted", entity_type="rule",
                     entity_id=rule.id, before=_rule_state(rule))


@dataclass(frozen=True)
class ApplyResult:
    """examined: transactions the rules looked at (those a person categorised are not);
    matched: of those, how many a rule matched; updated: how many rows changed;
    kept_by_user: transactions in scope left alone because a person categorised them."""

    examined: int = 0
    matched: int = 0
    updated: int = 0
    kept_by_user: int = 0

    def __add__(self, other: ApplyResult) -> ApplyResult:
        return ApplyResult(*(a + b for a, b in zip(asdict(self).values(),
                                                   asdict(other).values(), strict=True)))


def apply_rules(
    *, session: Session, actor: Actor, transaction_ids: Collection[uuid.UUID] | None = None
) -> ApplyResult:
    """Apply the enabled rules to the given transactions, or to all. Ids that are no
    transaction of this tenant are ignored (they are counted nowhere)."""
    require(actor, Permission.FINANCE_WRITE)
    if transaction_ids is not None and len(transaction_ids) > MAX_APPLY_IDS:
        raise Invalid.field("transaction_ids", f"at most {MAX_APPLY_IDS} ids per call; "
                                               "leave it out to apply to every transaction")
    scope: ColumnElement[bool] | None = None
    if transaction_ids is not None:
        scope = BankTransaction.id.in_(list(transaction_ids))
    with transaction(session):
        result = _apply(session, actor, scope)
        audit.record(session, actor=actor, action="rules.applied", entity_type="rule",
                     entity_id=None, after={
                         **asdict(result),
                         "transaction_ids": None if transaction_ids is None
                         else len(transaction_ids)})
    return result


def apply_to_import_batch(
    *, session: Session, actor: Actor, import_batch_id: uuid.UUID
) -> ApplyResult:
    """Apply the rules to the transactions an import just wrote (created, or turned from
    pending to booked); joins the importer's transaction."""
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        return _apply(session, actor, BankTransaction.import_batch_id == import_batch_id)


def _apply(session: Session, actor: Actor, scope: ColumnElement[bool] | None) -> ApplyResult:
    specs = _rule_specs(session, actor)
    kept = select(func.count()).select_from(BankTransaction).where(
        BankTransaction.categorised_by == "user")
    if scope is not None:
        kept = kept.where(scope)
    result = ApplyResult(kept_by_user=session.execute(kept).scalar_one())
    if not specs:
        return result
    for rows in _chunks(session, scope):
        result += _apply_chunk(session, specs, rows)
    return result


def _rule_specs(session: Session, actor: Actor) -> list[engine.RuleSpec]:
    """The enabled rules in order, as the engine sees them; an action pointing at a
    category or contact deleted since is dropped (the rest of the rule still runs)."""
    stored = session.execute(select(Rule).where(
        Rule.enabled.is_(True), Rule.deleted_at.is_(None))
        .order_by(Rule.priority, Rule.created_at, Rule.id)).scalars().all()
    specs = []
    for rule in stored:
        errors = ErrorList()
        conditions = engine.parse_conditions(rule.conditions, errors)
        actions = engine.parse_actions(rule.actions, errors)
        if not errors.errors:
            specs.append(engine.RuleSpec(id=rule.id, priority=rule.priority,
                                         created_at=rule.created_at, conditions=conditions,
                                         actions=actions))
    categories = _live_categories(
        session, {s.actions.category_id for s in specs if s.actions.category_id})
    contact_ids = {s.actions.contact_id for s in specs if s.actions.contact_id}
    live_contacts = set(contacts.get_contacts(session=session, actor=actor,
                                              contact_ids=contact_ids)) if contact_ids else set()
    live = []
    for spec in specs:
        actions = spec.actions
        if actions.category_id is not None and actions.category_id not in categories:
            actions = engine.Actions(None, actions.contact_id, actions.ignore_for_forecast)
        if actions.contact_id is not None and actions.contact_id not in live_contacts:
            actions = engine.Actions(actions.category_id, None, actions.ignore_for_forecast)
        if not actions.is_empty():
            live.append(engine.RuleSpec(spec.id, spec.priority, spec.created_at,
                                        spec.conditions, actions))
    return live


_T = BankTransaction
_READ = (_T.id, _T.version, _T.amount, _T.counterparty_name, _T.counterparty_iban,
         _T.remittance, _T.structured_reference, _T.category_id, _T.contact_id,
         _T.ignore_for_forecast, _T.categorised_by)


def _chunks(session: Session, scope: ColumnElement[bool] | None) -> Iterator[list[Any]]:
    """The transactions in scope that no person categorised, CHUNK rows at a time (keyset
    on id: the chunks stay correct while earlier ones are being updated)."""
    after: uuid.UUID | None = None
    while True:
        query = select(*_READ).where(_T.categorised_by.is_distinct_from("user"))
        if scope is not None:
            query = query.where(scope)
        if after is not None:
            query = query.where(_T.id > after)
        rows = session.execute(query.order_by(_T.id).limit(CHUNK)).all()
        if not rows:
            return
        yield list(rows)
        if len(rows) < CHUNK:
            return
        after = rows[-1].id


_WRITE = text(
    "UPDATE bank_transactions AS t SET category_id = v.category_id,"
    " contact_id = v.contact_id, ignore_for_forecast = v.ignore_for_forecast,"
    " categorised_by = 'rule', version = t.version + 1, updated_at = now()"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:versions AS integer[]),"
    "             CAST(:categories AS uuid[]), CAST(:contacts AS uuid[]),"
    "             CAST(:ignores AS boolean[]))"
    "   AS v(id, version, category_id, contact_id, ignore_for_forecast)"
    " WHERE t.id = v.id AND t.version = v.version"
    "   AND t.categorised_by IS DISTINCT FROM 'user'"
)


def _apply_chunk(session: Session, specs: list[engine.RuleSpec],
                 rows: list[Any]) -> ApplyResult:
    matched = 0
    changes: list[tuple[Any, ...]] = []
    for row in rows:
        facts = engine.TransactionFacts(
            amount=row.amount, counterparty_name=row.counterparty_name,
            counterparty_iban=row.counterparty_iban, remittance=row.remittance,
            structured_reference=row.structured_reference)
        rule = engine.first_match(specs, facts)
        if rule is None:
            continue
        matched += 1
        current = engine.Outcome(row.category_id, row.contact_id, row.ignore_for_forecast)
        after = engine.outcome(rule.actions, current, contact_is_ours=row.categorised_by == "rule")
        if after != current:
            changes.append((row.id, row.version, after))
    updated = 0
    if changes:
        updated = session.execute(_WRITE, {
            "ids": [str(c[0]) for c in changes],
            "versions": [c[1] for c in changes],
            "categories": [_text_id(c[2].category_id) for c in changes],
            "contacts": [_text_id(c[2].contact_id) for c in changes],
            "ignores": [c[2].ignore_for_forecast for c in changes],
        }).rowcount
    return ApplyResult(examined=len(rows), matched=matched, updated=updated)


def _text_id(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)
