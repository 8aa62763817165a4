"""Request and response shapes for partner API keys."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from smbfinance.auth.scopes import SCOPES
from smbfinance.web.schemas import ListArgs, StrictSchema, Timestamp


class ApiKeyIn(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100),
                         metadata={"example": "Accounting sync"})
    scopes = fields.List(fields.String(validate=validate.OneOf(SCOPES)), required=True,
                         validate=validate.Length(min=1, max=len(SCOPES)),
                         metadata={"description": f"Any of: {', '.join(SCOPES)}",
                                   "example": ["invoices:read", "events:read"]})
    expires_at = Timestamp(allow_none=True, metadata={
        "description": "Optional: the key stops working then (with an offset)"})


class ApiKeyPatch(StrictSchema):
    error_messages = {"unknown": "cannot be changed: only name can (create a new key for "
                                 "other scopes)"}
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


class ApiKeyOut(Schema):
    id = fields.UUID(required=True)
    object = fields.Constant("api_key", dump_only=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True, metadata={
        "description": "The key's first characters, to recognise it (never the key)"})
    scopes = fields.List(fields.String(), required=True)
    status = fields.String(required=True, metadata={"description": "active, expired or "
                                                                   "revoked"})
    created_at = fields.DateTime(required=True)
    created_by = fields.UUID(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True, metadata={
        "description": "Last request made with it (to the minute)"})
    expires_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class ApiKeyCreatedOut(ApiKeyOut):
    secret = fields.String(required=True, metadata={
        "description": "The key itself, shown this once: send it as "
                       "`Authorization: Bearer sk_...`"})


class ApiKeyList(Schema):
    object = fields.Constant("list", dump_only=True)
    data = fields.List(fields.Nested(ApiKeyOut), required=True)
    has_more = fields.Boolean(required=True)


ApiKeyListArgs = ListArgs
