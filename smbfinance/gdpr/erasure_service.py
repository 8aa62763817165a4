"""Erasure of a person (a contact, or a user of this company) by pseudonymisation, in one
transaction: their own record first, then every tenant table from the catalogue (text,
JSON and binary columns), then the audit log's before/after through the database's
redaction function. Amounts, dates and ids are never touched, so totals and the audit
chain still hold (ADR 0029)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY, BYTEA, JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.types import String

from smbfinance.audit import service as audit
from smbfinance.auth.models import Role
from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.db import transaction, utcnow
from smbfinance.errors import Conflict, NotFound
from smbfinance.gdpr.catalogue import Column, Table, quote, tenant_tables
from smbfinance.gdpr.export_service import SECRET_COLUMNS
from smbfinance.gdpr.models import GdprErasure
from smbfinance.gdpr.pseudonymise import Terms, erased_email, iban_forms, pseudonym_for
from smbfinance.pagination import Page, check_limit, page_of

# Not rewritten by the generic pass: the audit log has its own path, the GDPR tables hold
# no personal data of subjects (exports are purged instead).
SKIPPED_TABLES = frozenset({"audit_entries", "audit_chain_heads", "gdpr_erasures",
                            "gdpr_exports"})
UNUSABLE_PASSWORD = "!erased"  # not an argon2 hash: no password ever verifies against it


@dataclass(frozen=True)
class Subject:
    terms: Terms
    counts: dict[str, int]


def erase(*, session: Session, actor: Actor, subject_type: str,
          subject_id: uuid.UUID) -> GdprErasure:
    require(actor, Permission.GDPR)
    pseudonym = pseudonym_for(subject_id)
    with transaction(session):
        if subject_type == "contact":
            subject = _erase_contact(session, subject_id, pseudonym)
        elif subject_type == "user":
            subject = _erase_user(session, actor, subject_id)
        else:
            raise NotFound(f"no {subject_type} {subject_id}")
        counts = dict(subject.counts)
        try:
            for table, changed in _rewrite_everywhere(session, subject.terms, pseudonym).items():
                counts[table] = counts.get(table, 0) + changed
        except IntegrityError as error:
            raise Conflict("the erasure would break a constraint; nothing was changed: "
                           f"{error.orig}") from error
        counts["audit_entries"] = _redact_audit(session, subject.terms, pseudonym)
        counts["gdpr_exports"] = _purge_exports(session)
        counts["idempotency_keys"] = counts.get("idempotency_keys", 0) + \
            _forget_sealed_responses(session)
        erasure = GdprErasure(subject_type=subject_type, subject_id=subject_id,
                              pseudonym=pseudonym, requested_by=actor.id, created_at=utcnow(),
                              counts={k: v for k, v in sorted(counts.items()) if v})
        session.add(erasure)
        session.flush()
        audit.record(session, actor=actor, action="gdpr.erased", entity_type=subject_type,
                     entity_id=subject_id, after={"erasure_id": erasure.id,
                                                  "pseudonym": pseudonym,
                                                  "counts": erasure.counts})
    return erasure


def list_erasures(*, session: Session, actor: Actor, limit: int | None = None,
                  starting_after: uuid.UUID | None = None) -> Page[GdprErasure]:
    require(actor, Permission.GDPR)
    limit = check_limit(limit)
    query = select(GdprErasure).order_by(GdprErasure.id.desc()).limit(limit + 1)
    if starting_after is not None:
        query = query.where(GdprErasure.id < starting_after)
    with transaction(session):
        return page_of(list(session.execute(query).scalars()), limit)


# ------------------------------------------------------------------ the subject's own rows

_CONTACT = text("""
    SELECT name, email, phone, street, vat_number, enterprise_number, peppol_id
    FROM contacts WHERE id = :id FOR UPDATE
""")
_ERASE_CONTACT = text("""
    UPDATE contacts SET name = :pseudonym, email = NULL, phone = NULL, street = NULL,
      postal_code = NULL, city = NULL, notes = NULL, peppol_id = NULL, vat_number = NULL,
      enterprise_number = NULL, version = version + 1, updated_at = now()
    WHERE id = :id
""")
_ERASE_COUNTERPARTY = text("""
    UPDATE bank_transactions
    SET counterparty_name = CASE WHEN counterparty_name IS NULL THEN NULL ELSE :pseudonym END,
        counterparty_iban = NULL, counterparty_bic = NULL
    WHERE contact_id = :id OR replace(upper(counterparty_iban), ' ', '') = ANY(:ibans)
       OR lower(counterparty_name) = lower(:name)
""").bindparams(bindparam("ibans", type_=ARRAY(String)))


def _erase_contact(session: Session, contact_id: uuid.UUID, pseudonym: str) -> Subject:
    contact = session.execute(_CONTACT, {"id": contact_id}).mappings().one_or_none()
    if contact is None:
        raise NotFound(f"no contact {contact_id}")
    already = session.execute(select(GdprErasure.id).where(
        GdprErasure.subject_type == "contact", GdprErasure.subject_id == contact_id)).first()
    if already is not None:
        raise Conflict(f"contact {contact_id} was already erased (erasure {already.id})")
    ibans = list(session.execute(
        text("DELETE FROM contact_ibans WHERE contact_id = :id RETURNING iban"),
        {"id": contact_id}).scalars())
    session.execute(_ERASE_CONTACT, {"id": contact_id, "pseudonym": pseudonym})
    compact = [form for iban in ibans for form in iban_forms(iban)[:1]]
    transactions = session.execute(_ERASE_COUNTERPARTY, {
        "id": contact_id, "pseudonym": pseudonym, "ibans": compact,
        "name": contact["name"]}).rowcount
    terms = Terms.of([contact["name"], contact["email"], contact["phone"], contact["street"],
                      contact["vat_number"], contact["enterprise_number"], contact["peppol_id"],
                      *(form for iban in ibans for form in iban_forms(iban))])
    return Subject(terms=terms, counts={"contacts": 1, "contact_ibans": len(ibans),
                                        "bank_transactions": transactions})


_MEMBER = text("""
    SELECT m.role, u.email, u.full_name FROM memberships m JOIN users u ON u.id = m.user_id
    WHERE m.user_id = :id FOR UPDATE OF m, u
""")


def _erase_user(session: Session, actor: Actor, user_id: uuid.UUID) -> Subject:
    # Locking the user row also waits for (and then blocks) a membership being added in
    # another company: that insert takes a key-share lock on it through its foreign key.
    member = session.execute(_MEMBER, {"id": user_id}).mappings().one_or_none()
    if member is None:
        raise NotFound(f"no member {user_id}")
    if user_id == actor.user_id:
        raise Conflict("you cannot erase yourself: ask another owner or admin")
    role = Role(member["role"])
    if role is Role.OWNER:
        others = session.execute(text(
            "SELECT count(*) FROM memberships WHERE role = 'owner' AND user_id <> :id"),
            {"id": user_id}).scalar_one()
        if others == 0:
            raise Conflict("the last owner cannot be erased: make someone else owner first")
        require(actor, Permission.OWNERSHIP)  # as for removing an owner
    elsewhere = session.execute(text("SELECT gdpr_user_other_memberships(:id)"),
                                {"id": user_id}).scalar_one()
    if elsewhere:
        raise Conflict(f"this person also belongs to {elsewhere} other "
                       f"compan{'y' if elsewhere == 1 else 'ies'}: they must leave "
                       "the other companies first (their account is shared)")
    families = session.execute(text(
        "UPDATE refresh_token_families SET revoked_at = coalesce(revoked_at, now()),"
        " revoked_reason = coalesce(revoked_reason, 'erased') WHERE user_id = :id"),
        {"id": user_id}).rowcount
    session.execute(text("DELETE FROM memberships WHERE user_id = :id"), {"id": user_id})
    session.execute(text(
        "UPDATE users SET email = :email, full_name = NULL, password_hash = :unusable,"
        " updated_at = now() WHERE id = :id"),
        {"id": user_id, "email": erased_email(user_id), "unusable": UNUSABLE_PASSWORD})
    return Subject(terms=Terms.of([member["email"], member["full_name"]]),
                   counts={"users": 1, "memberships": 1, "refresh_token_families": families})


# ------------------------------------------------------------------ everywhere else

def _rewrite_everywhere(session: Session, terms: Terms, pseudonym: str) -> dict[str, int]:
    if not terms:
        return {}
    counts: dict[str, int] = {}
    for table in tenant_tables(session):
        if table.name in SKIPPED_TABLES:
            continue
        changed = _rewrite_text(session, table, terms, pseudonym)
        changed += _rewrite_documents(session, table, terms, pseudonym)
        if changed:
            counts[table.name] = changed
    return counts


def _rewritable(table: Table, column: Column) -> bool:
    name = column.name
    return not (column.generated or name == "id" or name.endswith("_id")
                or name == "currency" or name.endswith("_currency")
                or name == "country_code"
                or name in SECRET_COLUMNS.get(table.name, frozenset()))


def _rewrite_text(session: Session, table: Table, terms: Terms, pseudonym: str) -> int:
    """One UPDATE per table for its text columns: only rows holding a personal string,
    each replaced whole-word, cut to the column's length."""
    columns = [c for c in table.columns if c.is_text and _rewritable(table, c)]
    if not columns:
        return 0
    assignments = []
    for c in columns:
        replaced = f"regexp_replace({quote(c.name)}, :pattern, :pseudonym, 'gi')"
        if c.max_length is not None:
            replaced = f"left({replaced}, {int(c.max_length)})"
        assignments.append(f"{quote(c.name)} = CASE WHEN {quote(c.name)} ~* :pattern "
                           f"THEN {replaced} ELSE {quote(c.name)} END")
    where = " OR ".join(f"{quote(c.name)} ~* :pattern" for c in columns)
    # Names come from the catalogue, quoted; values are bound.
    statement = text(f"UPDATE {quote(table.name)} SET {', '.join(assignments)} "  # noqa: S608
                     f"WHERE {where}")
    return int(session.execute(statement, {"pattern": terms.postgres_pattern,
                                           "pseudonym": pseudonym}).rowcount or 0)


def _rewrite_documents(session: Session, table: Table, terms: Terms, pseudonym: str) -> int:
    """JSON and binary columns, rewritten in Python: JSON is walked (never edited as
    text); bytes are rewritten as JSON when they are JSON, as text when they are UTF-8,
    else byte for byte."""
    columns = [c for c in table.columns if c.base_type in ("jsonb", "json", "bytea")
               and _rewritable(table, c)]
    if not columns:
        return 0
    conditions = []
    params: dict[str, Any] = {"json_pattern": terms.postgres_json_pattern,
                              "pattern": terms.postgres_pattern}
    for c in columns:
        if c.base_type == "bytea":
            conditions.append(f"encode({quote(c.name)}, 'escape') ~* :pattern")
            for i, term in enumerate(terms.strings):
                params[f"b{i}"] = term.encode()
                conditions.append(f"position(:b{i} in {quote(c.name)}) > 0")
        else:
            conditions.append(f"{quote(c.name)}::text ~* :json_pattern")
    names = ", ".join(quote(c.name) for c in columns)
    rows = session.execute(text(
        f"SELECT ctid::text AS row_ctid, {names} FROM {quote(table.name)} "  # noqa: S608
        f"WHERE {' OR '.join(conditions)} FOR UPDATE"), params).mappings().all()
    changed = 0
    for row in rows:
        values = {c.name: _rewrite_value(c, row[c.name], terms, pseudonym) for c in columns}
        values = {name: value for name, value in values.items() if value != row[name]}
        if not values:
            continue
        binds = [bindparam(name, type_=BYTEA if _column(columns, name).base_type == "bytea"
                           else JSONB(none_as_null=True)) for name in values]
        assignments = ", ".join(f"{quote(name)} = :{name}" for name in values)
        session.execute(text(f"UPDATE {quote(table.name)} SET {assignments} "  # noqa: S608
                             "WHERE ctid = CAST(:row_ctid AS tid)").bindparams(*binds),
                        {**values, "row_ctid": row["row_ctid"]})
        changed += 1
    return changed


def _column(columns: list[Column], name: str) -> Column:
    return next(c for c in columns if c.name == name)


def _rewrite_value(column: Column, value: Any, terms: Terms, pseudonym: str) -> Any:
    if value is None:
        return None
    if column.base_type != "bytea":
        return terms.walk(value, pseudonym)
    raw = bytes(value)
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        for term in terms.strings:
            raw = raw.replace(term.encode(), pseudonym.encode())
        return raw
    try:
        document = json.loads(decoded)
    except ValueError:
        return terms.replace(decoded, pseudonym).encode()
    if not terms.found_in(decoded) and terms.walk(document, pseudonym) == document:
        return raw
    return json.dumps(terms.walk(document, pseudonym), ensure_ascii=False,
                      separators=(",", ":")).encode()


# ------------------------------------------------------------------ audit log and exports

def _redact_audit(session: Session, terms: Terms, pseudonym: str) -> int:
    if not terms:
        return 0
    rows = session.execute(text(
        "SELECT id, before, after FROM audit_entries"
        " WHERE before::text ~* :p OR after::text ~* :p"),
        {"p": terms.postgres_json_pattern}).mappings().all()
    redact = text("SELECT gdpr_redact_audit_entry(:id, :before, :after)").bindparams(
        bindparam("before", type_=JSONB(none_as_null=True)),
        bindparam("after", type_=JSONB(none_as_null=True)))
    changed = 0
    for row in rows:
        before, after = terms.walk(row["before"], pseudonym), terms.walk(row["after"], pseudonym)
        if (before, after) == (row["before"], row["after"]):
            continue
        if session.execute(redact, {"id": row["id"], "before": before,
                                    "after": after}).scalar_one():
            changed += 1
    return changed


def _purge_exports(session: Session) -> int:
    """Exports made before the erasure hold the person's data: they stop being
    downloadable now instead of in up to 24 hours."""
    return int(session.execute(text(
        "UPDATE gdpr_exports SET content = NULL, status = 'expired'"
        " WHERE status = 'ready'")).rowcount or 0)


def _forget_sealed_responses(session: Session) -> int:
    """Stored responses sealed because they carry a secret (ADR 0044) cannot be searched or
    rewritten: their bodies are dropped (at most a day's worth; the keys stay, so a retry
    is told the response was not kept instead of creating twice)."""
    return int(session.execute(text(
        "UPDATE idempotency_keys SET response_body = NULL "
        "WHERE response_sealed AND response_body IS NOT NULL")).rowcount or 0)
