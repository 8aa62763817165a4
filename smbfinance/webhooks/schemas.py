"""Request and response shapes of webhook endpoints and deliveries."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from smbfinance.web.schemas import ListArgs, StrictSchema


class EndpointIn(StrictSchema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2048),
                        metadata={"example": "https://partner.example.com/webhooks/smb"})
    event_types = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                              required=True, validate=validate.Length(min=1, max=50),
                              metadata={"example": ["invoice.paid", "invoice.updated"],
                                        "description": 'Event types, or ["*"] for all'})
    filter = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=300)),
                         allow_none=True, metadata={
                             "example": {"direction": "receivable"},
                             "description": "Field path → value (or list of values) the "
                                            "event's object must have"})
    description = fields.String(allow_none=True, validate=validate.Length(max=500))
    enabled = fields.Boolean()


class EndpointPatch(EndpointIn):
    url = fields.String(validate=validate.Length(min=1, max=2048))
    event_types = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                              validate=validate.Length(min=1, max=50))


class EndpointOut(Schema):
    id = fields.UUID(required=True)
    object = fields.Constant("webhook_endpoint", dump_only=True)
    url = fields.String(required=True)
    description = fields.String(allow_none=True)
    event_types = fields.List(fields.String(), required=True)
    filter = fields.Dict(required=True)
    enabled = fields.Boolean(required=True)
    disabled_reason = fields.String(allow_none=True)
    disabled_at = fields.DateTime(allow_none=True)
    failing_since = fields.DateTime(allow_none=True)
    previous_secret_expires_at = fields.DateTime(allow_none=True, metadata={
        "description": "Until then deliveries are also signed with the previous secret"})
    version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class EndpointWithSecret(EndpointOut):
    secret = fields.String(required=True, metadata={
        "description": "Shown only now: store it to verify signatures",
        "example": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})


class EndpointList(Schema):
    object = fields.Constant("list", dump_only=True)
    data = fields.List(fields.Nested(EndpointOut), required=True)
    has_more = fields.Boolean(required=True)


class EndpointListArgs(ListArgs):
    pass


class RotateIn(StrictSchema):
    overlap_seconds = fields.Integer(validate=validate.Range(min=0, max=7 * 24 * 3600),
                                     metadata={"description": "How long the previous secret "
                                                              "keeps signing (default 86400)"})


class AttemptOut(Schema):
    at = fields.String(required=True)
    status_code = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    duration_ms = fields.Integer(required=True)
    response = fields.String(allow_none=True, metadata={"description": "First 500 bytes"})


class DeliveryOut(Schema):
    id = fields.UUID(required=True)
    object = fields.Constant("webhook_delivery", dump_only=True)
    endpoint_id = fields.UUID(required=True)
    event_id = fields.UUID(allow_none=True)
    webhook_id = fields.String(required=True, attribute="message_id",
                               metadata={"description": "The webhook-id header"})
    event_type = fields.String(required=True)
    object_id = fields.UUID(allow_none=True)
    status = fields.String(required=True, metadata={"enum": ["pending", "delivered",
                                                             "failed"]})
    attempt_count = fields.Integer(required=True)
    next_attempt_at = fields.DateTime(allow_none=True)
    last_attempt_at = fields.DateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    attempts = fields.List(fields.Nested(AttemptOut), required=True)
    created_at = fields.DateTime(required=True)


class DeliveryList(Schema):
    object = fields.Constant("list", dump_only=True)
    data = fields.List(fields.Nested(DeliveryOut), required=True)
    has_more = fields.Boolean(required=True)


class DeliveryListArgs(ListArgs):
    status = fields.String(validate=validate.OneOf(["pending", "delivered", "failed"]))
