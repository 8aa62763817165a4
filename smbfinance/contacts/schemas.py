"""Request and response shapes for contacts."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from smbfinance.web.schemas import ListArgs, StrictSchema


class ContactIn(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    vat_number = fields.String(allow_none=True, validate=validate.Length(max=30),
                               metadata={"example": "BE0123456749"})
    enterprise_number = fields.String(allow_none=True, validate=validate.Length(max=30),
                                      metadata={"example": "0123.456.749"})
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    phone = fields.String(allow_none=True, validate=validate.Length(max=40))
    street = fields.String(allow_none=True, validate=validate.Length(max=200))
    postal_code = fields.String(allow_none=True, validate=validate.Length(max=20))
    city = fields.String(allow_none=True, validate=validate.Length(max=100))
    country_code = fields.String(allow_none=True, validate=validate.Length(equal=2))
    peppol_id = fields.String(allow_none=True, validate=validate.Length(max=100),
                              metadata={"example": "0208:0123456749"})
    notes = fields.String(allow_none=True, validate=validate.Length(max=5000))
    ibans = fields.List(fields.String(validate=validate.Length(max=42)),
                        validate=validate.Length(max=20))


class ContactPatch(ContactIn):
    name = fields.String(validate=validate.Length(min=1, max=200))


class ContactOut(Schema):
    id = fields.UUID(required=True)
    object = fields.Constant("contact", dump_only=True)
    name = fields.String(required=True)
    vat_number = fields.String(allow_none=True)
    enterprise_number = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    street = fields.String(allow_none=True)
    postal_code = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    country_code = fields.String(allow_none=True)
    peppol_id = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    ibans = fields.List(fields.String(), attribute="iban_list", required=True)
    version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class ContactList(Schema):
    object = fields.Constant("list", dump_only=True)
    data = fields.List(fields.Nested(ContactOut), required=True)
    has_more = fields.Boolean(required=True)


class ContactListArgs(ListArgs):
    q = fields.String(validate=validate.Length(max=200),
                      metadata={"description": "Name, VAT number, enterprise number or IBAN"})
    vat_number = fields.String(validate=validate.Length(max=30))
    iban = fields.String(validate=validate.Length(max=42))
