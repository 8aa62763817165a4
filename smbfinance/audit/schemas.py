"""Response and query shapes for the audit log."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from smbfinance.web.schemas import ListArgs, Timestamp


def _hex(name: str) -> fields.Function:
    def dump(entry: Any) -> str | None:
        value = getattr(entry, name)
        return value.hex() if value is not None else None
    return fields.Function(dump, metadata={"description": "SHA-256, hex"})


class AuditListArgs(ListArgs):
    entity_type = fields.String(metadata={"example": "invoice"})
    entity_id = fields.UUID()
    action = fields.String(metadata={"example": "invoice.opened"})
    actor_id = fields.UUID()
    created_after = Timestamp(metadata={"description": "Inclusive, with an offset"})
    created_before = Timestamp(metadata={"description": "Exclusive"})


class ActorOut(Schema):
    type = fields.String(attribute="actor_type", required=True,
                         metadata={"description": "user, api_key or system"})
    id = fields.UUID(attribute="actor_id", allow_none=True)


class AuditEntryOut(Schema):
    id = fields.UUID(required=True)
    object = fields.Constant("audit_entry", dump_only=True)
    seq = fields.Integer(required=True, metadata={"description": "Position in the chain"})
    actor = fields.Function(lambda entry: ActorOut().dump(entry), required=True)
    action = fields.String(required=True)
    entity_type = fields.String(required=True)
    entity_id = fields.UUID(allow_none=True)
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    request_id = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    hash = _hex("hash")
    prev_hash = _hex("prev_hash")
    redacted_at = fields.DateTime(allow_none=True, metadata={
        "description": "Set when personal data in before/after was pseudonymised (GDPR)"})


class AuditList(Schema):
    object = fields.Constant("list", dump_only=True)
    data = fields.List(fields.Nested(AuditEntryOut), required=True)
    has_more = fields.Boolean(required=True)


class BrokenOut(Schema):
    id = fields.UUID(allow_none=True)
    seq = fields.Integer(allow_none=True)
    problem = fields.String(required=True, metadata={
        "description": "sequence_gap, broken_link, hash_mismatch, content_changed or "
                       "tail_missing"})
    message = fields.String(required=True)


class VerificationOut(Schema):
    object = fields.Constant("audit_verification", dump_only=True)
    ok = fields.Boolean(required=True)
    entries_checked = fields.Integer(required=True)
    head_seq = fields.Integer(required=True)
    head_hash = fields.String(allow_none=True, metadata={
        "description": "Hash of the last entry: keep it outside to prove later that "
                       "nothing was rewritten since"})
    first_broken = fields.Nested(BrokenOut, allow_none=True)
