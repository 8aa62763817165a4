"""The audit log: entries recorded inside the caller's transaction (the database chains
them and refuses changes, migration 0009), listed, and proved intact (ADR 0016)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from smbfinance.audit.models import AuditChainHead, AuditEntry
from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.db import transaction
from smbfinance.errors import NotFound
from smbfinance.logs import log_context
from smbfinance.pagination import Page, check_limit, page_of


def snapshot(values: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe copy: Decimals and dates as strings, so nothing is lost or rounded."""
    return {key: _plain(value) for key, value in values.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal | uuid.UUID | date | datetime):
        return str(value) if not isinstance(value, date | datetime) else value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return snapshot(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor_type=actor.kind, actor_id=actor.id, action=action, entity_type=entity_type,
        entity_id=entity_id, before=snapshot(before) if before is not None else None,
        after=snapshot(after) if after is not None else None,
        request_id=log_context().get("request_id"),
    )
    session.add(entry)
    return entry


# ------------------------------------------------------------------ reading and proving

@dataclass(frozen=True)
class Verification:
    ok: bool
    entries_checked: int
    head_seq: int
    head_hash: str | None
    first_broken: dict[str, Any] | None


# The chain recomputed in one pass, with the same SQL functions the insert trigger used:
# the first entry whose sequence, link, hash or (unless redacted) content does not hold.
_VERIFY = text("""
    WITH chain AS (
      SELECT e.id, e.seq, e.hash, e.prev_hash, e.redacted_at,
             audit_entry_hash(e) AS recomputed,
             lag(e.hash) OVER (ORDER BY e.seq) AS previous_hash,
             row_number() OVER (ORDER BY e.seq) AS position,
             audit_document_digest(e.before) = e.before_digest
               AND audit_document_digest(e.after) = e.after_digest AS content_ok
      FROM audit_entries e
    ), checked AS (
      SELECT id, seq, CASE
          WHEN seq <> position THEN 'sequence_gap'
          WHEN prev_hash IS DISTINCT FROM previous_hash THEN 'broken_link'
          WHEN hash <> recomputed THEN 'hash_mismatch'
          WHEN redacted_at IS NULL AND NOT content_ok THEN 'content_changed'
        END AS problem
      FROM chain
    )
    SELECT (SELECT count(*) FROM chain) AS total,
           (SELECT max(seq) FROM chain) AS last_seq,
           b.id, b.seq, b.problem
    FROM (SELECT 1) one
    LEFT JOIN LATERAL (SELECT id, seq, problem FROM checked WHERE problem IS NOT NULL
                       ORDER BY seq LIMIT 1) b ON true
""")

_PROBLEMS = {
    "sequence_gap": "an entry before this one is missing",
    "broken_link": "its previous hash is not the hash of the entry before it",
    "hash_mismatch": "its facts no longer give its hash",
    "content_changed": "its before/after documents no longer give their digests",
    "tail_missing": "entries after this one are missing: the chain head is further on",
}


def verify_chain(*, session: Session, actor: Actor) -> Verification:
    """Recompute the tenant's chain and name the first entry that does not hold."""
    require(actor, Permission.AUDIT_READ)
    with transaction(session):
        row = session.execute(_VERIFY).one()
        head = session.execute(select(AuditChainHead.seq, AuditChainHead.hash)).one_or_none()
    broken = None
    if row.problem is not None:
        broken = {"id": row.id, "seq": row.seq, "problem": row.problem,
                  "message": _PROBLEMS[row.problem]}
    elif head is not None and head.seq != (row.last_seq or 0):
        broken = {"id": None, "seq": row.last_seq, "problem": "tail_missing",
                  "message": _PROBLEMS["tail_missing"]}
    return Verification(ok=broken is None, entries_checked=row.total,
                        head_seq=head.seq if head else 0,
                        head_hash=head.hash.hex() if head and head.hash else None,
                        first_broken=broken)


def list_entries(*, session: Session, actor: Actor, entity_type: str | None = None,
                 entity_id: uuid.UUID | None = None, action: str | None = None,
                 actor_id: uuid.UUID | None = None, created_after: datetime | None = None,
                 created_before: datetime | None = None, limit: int | None = None,
                 starting_after: uuid.UUID | None = None) -> Page[AuditEntry]:
    """Newest first (by position in the chain)."""
    require(actor, Permission.AUDIT_READ)
    limit = check_limit(limit)
    query = select(AuditEntry)
    for column, value in ((AuditEntry.entity_type, entity_type),
                          (AuditEntry.entity_id, entity_id), (AuditEntry.action, action),
                          (AuditEntry.actor_id, actor_id)):
        if value is not None:
            query = query.where(column == value)
    if created_after is not None:
        query = query.where(AuditEntry.created_at >= created_after)
    if created_before is not None:
        query = query.where(AuditEntry.created_at < created_before)
    with transaction(session):
        if starting_after is not None:
            anchor = session.execute(select(AuditEntry.seq).where(
                AuditEntry.id == starting_after)).scalar_one_or_none()
            if anchor is None:
                raise NotFound(f"starting_after: no audit entry {starting_after}")
            query = query.where(AuditEntry.seq < anchor)
        rows = session.execute(query.order_by(AuditEntry.seq.desc())
                               .limit(limit + 1)).scalars().all()
    return page_of(list(rows), limit)
