"""Request and response shapes of a company's deletion."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from smbfinance.web.schemas import StrictSchema

STATUSES = ("pending (waiting for the confirmation token), closed (confirmed; purged when "
            "the retention ends), cancelled")


class DeletionIn(StrictSchema):
    password = fields.String(required=True, validate=validate.Length(min=1, max=256),
                             metadata={"description": "Your password, re-entered"})
    confirm_name = fields.String(required=True, validate=validate.Length(min=1, max=200),
                                 metadata={"description": "The company's name, typed exactly"})


class ConfirmIn(StrictSchema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200),
                          metadata={"description": "The confirmation token from step 1"})


class ReopenIn(StrictSchema):
    tenant_id = fields.UUID(required=True)
    email = fields.String(required=True, validate=validate.Length(min=3, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256))


class DeletionOut(Schema):
    id = fields.UUID(required=True)
    object = fields.Constant("tenant_deletion", dump_only=True)
    status = fields.String(required=True, metadata={"description": STATUSES})
    requested_at = fields.DateTime(required=True)
    requested_by = fields.UUID(required=True)
    token_expires_at = fields.DateTime(allow_none=True, metadata={
        "description": "Until then the confirmation token can be used (once)"})
    confirmed_at = fields.DateTime(allow_none=True)
    confirmed_by = fields.UUID(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    cancelled_by = fields.UUID(allow_none=True)
    retention_ends_on = fields.Date(allow_none=True, metadata={
        "description": "End of the legal retention: 1 January of the 11th year after the "
                       "latest invoice date, booking date or audit entry; null when the "
                       "company holds none"})
    purge_after = fields.DateTime(allow_none=True, metadata={
        "description": "The earliest time the data may be purged"})


class RequestedOut(DeletionOut):
    confirmation_token = fields.String(required=True, metadata={
        "description": "Shown once: send it to /api/v1/tenant/deletion/confirm within 15 "
                       "minutes"})
    consequences = fields.List(fields.String(), required=True)
