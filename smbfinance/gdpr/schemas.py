"""Request and response shapes of GDPR exports and erasures."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from smbfinance.web.schemas import ListArgs, StrictSchema

STATUSES = "queued, running, ready, failed, or expired (content purged)"


class ExportOut(Schema):
    id = fields.UUID(required=True)
    object = fields.Constant("gdpr_export", dump_only=True)
    status = fields.String(required=True, metadata={"description": STATUSES})
    created_at = fields.DateTime(required=True)
    completed_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True, metadata={
        "description": "After this the ZIP is deleted and the link stops working"})
    size = fields.Integer(allow_none=True, metadata={"description": "Bytes of the ZIP"})
    sha256 = fields.String(allow_none=True, metadata={"description": "SHA-256 of the ZIP, hex"})
    download_url = fields.String(allow_none=True, metadata={
        "description": "While ready: a signed link that needs no bearer token; keep it "
                       "private (anyone holding it can download until it expires)"})
    error = fields.String(allow_none=True)


class ExportList(Schema):
    object = fields.Constant("list", dump_only=True)
    data = fields.List(fields.Nested(ExportOut), required=True)
    has_more = fields.Boolean(required=True)


class DownloadArgs(StrictSchema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class ErasureIn(StrictSchema):
    subject_type = fields.String(required=True,
                                 validate=validate.OneOf(["contact", "user"]))
    subject_id = fields.UUID(required=True)


class ErasureOut(Schema):
    id = fields.UUID(required=True)
    object = fields.Constant("gdpr_erasure", dump_only=True)
    subject_type = fields.String(required=True)
    subject_id = fields.UUID(required=True)
    pseudonym = fields.String(required=True, metadata={
        "description": "What now stands where the person's name, email, … stood"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                         metadata={"description": "Rows changed per table"})
    created_at = fields.DateTime(required=True)
    requested_by = fields.UUID(allow_none=True)


class ErasureList(Schema):
    object = fields.Constant("list", dump_only=True)
    data = fields.List(fields.Nested(ErasureOut), required=True)
    has_more = fields.Boolean(required=True)


class ExportListArgs(ListArgs):
    pass
