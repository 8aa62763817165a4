"""Request and response shapes for categories and rules."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from smbfinance.web.schemas import DecimalString, ListArgs, StrictSchema

KINDS = ["income", "expense", "transfer"]


class CategoryIn(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100),
                         metadata={"example": "Rent"})
    kind = fields.String(allow_none=True, validate=validate.OneOf(KINDS))
    color = fields.String(allow_none=True, validate=validate.Length(equal=7),
                          metadata={"example": "#1a7f37"})


class CategoryPatch(CategoryIn):
    name = fields.String(validate=validate.Length(min=1, max=100))


class CategoryOut(Schema):
    id = fields.UUID(required=True)
    object = fields.Constant("category", dump_only=True)
    name = fields.String(required=True)
    kind = fields.String(allow_none=True)
    color = fields.String(allow_none=True)
    version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class CategoryList(Schema):
    object = fields.Constant("list", dump_only=True)
    data = fields.List(fields.Nested(CategoryOut), required=True)
    has_more = fields.Boolean(required=True)


class CategoryListArgs(ListArgs):
    kind = fields.String(validate=validate.OneOf(KINDS))


class Conditions(StrictSchema):
    """All given conditions must hold; give at least one."""

    counterparty_name_contains = fields.String(
        allow_none=True, validate=validate.Length(min=1, max=200),
        metadata={"description": "Found in the counterparty name, ignoring case and accents",
                  "example": "proximus"})
    counterparty_iban = fields.String(
        allow_none=True, validate=validate.Length(min=1, max=80),
        metadata={"description": "Equals the counterparty account (spaces and case ignored)",
                  "example": "BE68539007547034"})
    text_contains = fields.String(
        allow_none=True, validate=validate.Length(min=1, max=200),
        metadata={"description": "Found in the remittance text or structured reference"})
    amount_min = DecimalString(allow_none=True, metadata={
        "description": "Lowest absolute amount (inclusive)", "example": "10.00"})
    amount_max = DecimalString(allow_none=True, metadata={
        "description": "Highest absolute amount (inclusive)", "example": "250.00"})
    direction = fields.String(allow_none=True, validate=validate.OneOf(["in", "out"]))


class Actions(StrictSchema):
    """What a matching rule sets; give at least one."""

    category_id = fields.UUID(allow_none=True)
    contact_id = fields.UUID(allow_none=True)
    ignore_for_forecast = fields.Boolean(allow_none=True)


class RuleIn(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    priority = fields.Integer(validate=validate.Range(min=0, max=1_000_000), metadata={
        "description": "Lower runs first; default: after the last rule"})
    enabled = fields.Boolean()
    conditions = fields.Nested(Conditions, required=True)
    actions = fields.Nested(Actions, required=True)


class RulePatch(RuleIn):
    name = fields.String(validate=validate.Length(min=1, max=200))
    conditions = fields.Nested(Conditions, metadata={"description": "Replaces them whole"})
    actions = fields.Nested(Actions, metadata={"description": "Replaces them whole"})


class ConditionsOut(Schema):
    counterparty_name_contains = fields.String()
    counterparty_iban = fields.String()
    text_contains = fields.String()
    amount_min = fields.String()
    amount_max = fields.String()
    direction = fields.String()


class ActionsOut(Schema):
    category_id = fields.String()
    contact_id = fields.String()
    ignore_for_forecast = fields.Boolean()


class RuleOut(Schema):
    id = fields.UUID(required=True)
    object = fields.Constant("rule", dump_only=True)
    name = fields.String(required=True)
    priority = fields.Integer(required=True)
    enabled = fields.Boolean(required=True)
    conditions = fields.Nested(ConditionsOut, required=True)
    actions = fields.Nested(ActionsOut, required=True)
    version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class RuleList(Schema):
    object = fields.Constant("list", dump_only=True)
    data = fields.List(fields.Nested(RuleOut), required=True)
    has_more = fields.Boolean(required=True)


class RuleListArgs(ListArgs):
    enabled = fields.Boolean()


class ApplyIn(StrictSchema):
    transaction_ids = fields.List(fields.UUID(), validate=validate.Length(min=1, max=1000),
                                  metadata={"description": "Only these (default: every "
                                                           "transaction)"})


class ApplyOut(Schema):
    object = fields.Constant("rules_applied", dump_only=True)
    examined = fields.Integer(required=True, metadata={
        "description": "Transactions the rules looked at"})
    matched = fields.Integer(required=True, metadata={"description": "Of those, matched"})
    updated = fields.Integer(required=True, metadata={"description": "Rows that changed"})
    kept_by_user = fields.Integer(required=True, metadata={
        "description": "Left alone: a person categorised them"})
