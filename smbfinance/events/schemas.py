"""Request and response shapes of the event feed."""

from __future__ import annotations

from marshmallow import Schema, fields, validate
from webargs.fields import DelimitedList

from smbfinance.web.schemas import StrictSchema


class EventListArgs(StrictSchema):
    cursor = fields.String(validate=validate.Length(min=1, max=100), metadata={
        "description": "`next_cursor` of the previous page; absent: from the oldest event kept"})
    types = DelimitedList(fields.String(validate=validate.Length(min=1, max=64)),
                          validate=validate.Length(max=30),
                          metadata={"description": "Comma-separated event types",
                                    "example": "invoice.paid,invoice.updated"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class EventOut(Schema):
    id = fields.UUID(required=True)
    object = fields.Constant("event", dump_only=True)
    type = fields.String(required=True, metadata={"example": "invoice.paid"})
    created_at = fields.String(required=True, metadata={"description": "ISO 8601, UTC"})
    object_id = fields.UUID(allow_none=True)
    data = fields.Dict(required=True, metadata={
        "description": "The object as GET showed it when the event happened"})


class EventList(Schema):
    object = fields.Constant("list", dump_only=True)
    data = fields.List(fields.Nested(EventOut), required=True)
    has_more = fields.Boolean(required=True)
    next_cursor = fields.String(required=True, metadata={
        "description": "Pass as `cursor` to read on; poll with it to wait for new events"})
