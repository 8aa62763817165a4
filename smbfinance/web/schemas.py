"""Shared marshmallow pieces for the REST door."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class MoneyOut(Schema):
    amount = fields.String(required=True, metadata={"example": "123.45"})
    currency = fields.String(required=True, metadata={"example": "EUR"})


class ListArgs(StrictSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    starting_after = fields.UUID(metadata={"description": "Id of the last object of the "
                                                          "previous page"})


DecimalString = fields.String  # decimals travel as strings; services check places
