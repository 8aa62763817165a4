"""GraphQL face of the audit log: `auditLog` (the REST filters, newest first) and
`auditLogVerification` (the hash chain recomputed) — the same services and permission
(audit:read: owner, admin, accountant) as REST."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from smbfinance.audit import schemas
from smbfinance.audit import service as audit
from smbfinance.graphql.context import actor_of
from smbfinance.graphql.inputs import given, graphql_errors, load
from smbfinance.graphql.relay import Connection, connection, encode_id, page_args


def _hex(value: bytes | None) -> str | None:
    return None if value is None else value.hex()


@strawberry.type(name="AuditEntry",
                 description="One financial change: who, what, before and after. Entries are "
                             "append-only and hash-chained per company.")
class AuditEntryType:
    id: strawberry.ID = strawberry.field(description="Global id; pass as `after` to page on")
    seq: int = strawberry.field(description="Position in the company's chain")
    actor_type: str = strawberry.field(description="user, api_key or system")
    actor_id: uuid.UUID | None = strawberry.field(description="The user's or API key's id")
    action: str = strawberry.field(description="e.g. invoice.opened")
    entity_type: str = strawberry.field(description="e.g. invoice, bank_account")
    entity_id: uuid.UUID | None = strawberry.field(
        description="The changed object's uuid (not a global id: entityType names its kind)")
    before: JSON | None = strawberry.field(description="The object before the change")
    after: JSON | None = strawberry.field(description="The object after the change")
    request_id: str | None = strawberry.field(description="The request that made the change")
    created_at: datetime
    hash: str | None = strawberry.field(description="SHA-256 of this entry, hex")
    prev_hash: str | None = strawberry.field(description="SHA-256 of the entry before, hex")
    redacted_at: datetime | None = strawberry.field(
        description="Set when personal data in before/after was pseudonymised (GDPR)")

    @classmethod
    def of(cls, entry: Any) -> AuditEntryType:
        return cls(id=strawberry.ID(encode_id("AuditEntry", entry.id)), seq=entry.seq,
                   actor_type=entry.actor_type, actor_id=entry.actor_id, action=entry.action,
                   entity_type=entry.entity_type, entity_id=entry.entity_id,
                   before=entry.before, after=entry.after, request_id=entry.request_id,
                   created_at=entry.created_at, hash=_hex(entry.hash),
                   prev_hash=_hex(entry.prev_hash), redacted_at=entry.redacted_at)


@strawberry.type(name="AuditBrokenEntry", description="The first entry that does not hold.")
class BrokenType:
    id: uuid.UUID | None
    seq: int | None
    problem: str = strawberry.field(description="sequence_gap, broken_link, hash_mismatch, "
                                                "content_changed or tail_missing")
    message: str


@strawberry.type(name="AuditVerification", description="The hash chain recomputed.")
class VerificationType:
    ok: bool
    entries_checked: int
    head_seq: int
    head_hash: str | None = strawberry.field(
        description="Hash of the last entry: keep it outside to prove later that nothing "
                    "was rewritten since")
    first_broken: BrokenType | None = strawberry.field(description="Null when ok")

    @classmethod
    def of(cls, found: audit.Verification) -> VerificationType:
        broken = None if found.first_broken is None else BrokenType(**found.first_broken)
        return cls(ok=found.ok, entries_checked=found.entries_checked, head_seq=found.head_seq,
                   head_hash=found.head_hash, first_broken=broken)


@strawberry.type
class Query:
    @strawberry.field(description="Audit entries, newest first; filter by entity, action, "
                                  "actor and time (createdAfter inclusive, createdBefore "
                                  "exclusive, both with an offset). Owner, admin, accountant.")
    def audit_log(self, info: Info, first: int | None = 50, after: str | None = None,
                  entity_type: str | None = None, entity_id: uuid.UUID | None = None,
                  action: str | None = None, actor_id: uuid.UUID | None = None,
                  created_after: datetime | None = None,
                  created_before: datetime | None = None) -> Connection[AuditEntryType]:
        with graphql_errors():
            args = load(schemas.AuditListArgs(), {
                **page_args(first, after, "AuditEntry"),
                **given(entity_type=entity_type, entity_id=entity_id, action=action,
                        actor_id=actor_id, created_after=created_after,
                        created_before=created_before)})
            page = audit.list_entries(session=info.context.session, actor=actor_of(info),
                                      **args)
        return connection(page, AuditEntryType.of)

    @strawberry.field(description="Recompute the company's hash chain; ok false names the "
                                  "first entry that does not hold. Owner, admin, accountant.")
    def audit_log_verification(self, info: Info) -> VerificationType:
        with graphql_errors():
            return VerificationType.of(audit.verify_chain(session=info.context.session,
                                                          actor=actor_of(info)))
