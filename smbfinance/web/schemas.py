"""Shared marshmallow pieces for the REST door."""

from __future__ import annotations

import datetime as dt

from marshmallow import RAISE, Schema, ValidationError, fields, validate


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


class Timestamp(fields.AwareDateTime):
    """A timestamp with an offset, within years 1900–2999 once in UTC: PostgreSQL and
    Python's datetime cannot hold every value an offset can push past year 1 or 9999.
    Handed on in UTC, the same instant: PostgreSQL refuses offsets beyond ±15:59, which
    ISO 8601 (and so this field) accepts up to ±23:59."""

    def _deserialize(self, value: object, attr: str | None, data: object,
                     **kwargs: object) -> dt.datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        try:
            in_utc = parsed.astimezone(dt.UTC)
        except OverflowError:
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE) from None
        if not 1900 <= in_utc.year <= 2999:
            raise ValidationError("must be between the years 1900 and 2999")
        return in_utc
