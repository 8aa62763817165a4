"""Request and response shapes for reconciliation."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from smbfinance.web.schemas import DecimalString, ListArgs, StrictSchema

SIGNALS = fields.List(fields.String(), required=True, metadata={
    "description": "Evidence that matched: structured_reference, ogm_in_text, amount_exact, "
                   "amount_partial, number_in_text, contact_iban, contact_name, date_near_due"})


class AllocationIn(StrictSchema):
    invoice_id = fields.UUID(required=True)
    amount = DecimalString(required=True, metadata={
        "description": "Positive decimal string in the invoice's currency, at most what is "
                       "outstanding", "example": "121.00"})


class MatchIn(StrictSchema):
    transaction_id = fields.UUID(metadata={"description": "The bank transaction paying"})
    allocations = fields.List(fields.Nested(AllocationIn), validate=validate.Length(min=1, max=50),
                              metadata={"description": "Invoices it settles, with amounts"})
    suggestion_id = fields.UUID(metadata={
        "description": "Accept this suggestion as it stands (instead of transaction_id and "
                       "allocations)"})


class MatchListArgs(ListArgs):
    transaction_id = fields.UUID()
    invoice_id = fields.UUID()
    kind = fields.String(validate=validate.OneOf(["automatic", "manual"]))
    status = fields.String(validate=validate.OneOf(["active", "undone"]))


class SuggestionListArgs(ListArgs):
    transaction_id = fields.UUID()
    invoice_id = fields.UUID()


def _money(amount_of: str = "amount") -> fields.Function:
    def dump(value: Any) -> dict[str, str]:
        get = value.get if isinstance(value, dict) else lambda key: getattr(value, key)
        return {"amount": str(get(amount_of)), "currency": get("currency")}
    return fields.Function(dump, required=True, metadata={"description": "Money object"})


class AllocationOut(Schema):
    invoice_id = fields.UUID(required=True)
    amount = _money()
    invoice_payment_id = fields.UUID(required=True, metadata={
        "description": "The invoice payment this allocation recorded"})


class MatchOut(Schema):
    id = fields.UUID(required=True)
    object = fields.Constant("reconciliation_match", dump_only=True)
    transaction_id = fields.UUID(required=True)
    kind = fields.String(required=True, metadata={"description": "automatic or manual"})
    status = fields.String(required=True, metadata={"description": "active or undone"})
    certain = fields.Boolean(required=True, metadata={
        "description": "Made on a structured reference equal to the invoice's"})
    score = fields.String(allow_none=True, metadata={"description": "0 to 1; none for a "
                                                                    "manual match"})
    signals = SIGNALS
    amount = _money()
    allocations = fields.List(fields.Nested(AllocationOut), required=True)
    created_at = fields.DateTime(required=True)
    created_by = fields.UUID(allow_none=True)
    undone_at = fields.DateTime(allow_none=True)
    undone_by = fields.UUID(allow_none=True)


class MatchList(Schema):
    object = fields.Constant("list", dump_only=True)
    data = fields.List(fields.Nested(MatchOut), required=True)
    has_more = fields.Boolean(required=True)


class SuggestedAllocationOut(Schema):
    invoice_id = fields.UUID(required=True)
    amount = _money()


class SuggestionOut(Schema):
    id = fields.UUID(required=True)
    object = fields.Constant("reconciliation_suggestion", dump_only=True)
    transaction_id = fields.UUID(required=True)
    score = fields.String(required=True)
    signals = SIGNALS
    allocations = fields.List(fields.Nested(SuggestedAllocationOut), required=True)
    created_at = fields.DateTime(required=True)


class SuggestionList(Schema):
    object = fields.Constant("list", dump_only=True)
    data = fields.List(fields.Nested(SuggestionOut), required=True)
    has_more = fields.Boolean(required=True)


class RunOut(Schema):
    object = fields.Constant("reconciliation_run", dump_only=True)
    transactions = fields.Integer(required=True, metadata={
        "description": "Booked transactions with money left to allocate that were read"})
    matches = fields.Integer(required=True, metadata={"description": "Automatic matches made"})
    allocations = fields.Integer(required=True)
    suggestions = fields.Integer(required=True, metadata={"description": "Suggestions stored"})


class RunIn(StrictSchema):
    transaction_ids = fields.List(fields.UUID(), validate=validate.Length(min=1, max=1000),
                                  metadata={"description": "Only these (default: every booked "
                                                           "transaction not fully matched)"})
