"""Request and response shapes for invoices. Decimals travel as strings; the service
checks their places against the currency (never silently rounding what was sent)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from smbfinance.web.schemas import ListArgs, MoneyOut, StrictSchema

DECIMAL = {"description": "A decimal string", "example": "12.50"}


class LineIn(StrictSchema):
    description = fields.String(required=True, validate=validate.Length(min=1, max=500))
    quantity = fields.String(load_default="1", metadata=DECIMAL)
    unit_price = fields.String(required=True, metadata=DECIMAL)
    vat_rate = fields.String(load_default="21", metadata={"description": "Percent",
                                                          "example": "21"})
    vat_category = fields.String(load_default="S", validate=validate.OneOf(
        ["S", "Z", "E", "AE", "K", "G", "O", "L", "M"]))
    unit_code = fields.String(allow_none=True, validate=validate.Length(max=10))
    allowance = fields.String(load_default="0", metadata=DECIMAL)
    charge = fields.String(load_default="0", metadata=DECIMAL)


class AdjustmentIn(StrictSchema):
    is_charge = fields.Boolean(load_default=False)
    amount = fields.String(required=True, metadata=DECIMAL)
    vat_rate = fields.String(load_default="21", metadata={"example": "21"})
    vat_category = fields.String(load_default="S", validate=validate.Length(max=3))
    reason = fields.String(allow_none=True, validate=validate.Length(max=200))


class InvoiceIn(StrictSchema):
    direction = fields.String(required=True, validate=validate.OneOf(["receivable", "payable"]))
    kind = fields.String(load_default="invoice", validate=validate.OneOf(
        ["invoice", "credit_note"]))
    number = fields.String(validate=validate.Length(min=1, max=64), metadata={
        "description": "Required for payables; generated (INV-<year>-<n>) for receivables"})
    contact_id = fields.UUID(required=True)
    issue_date = fields.Date(metadata={"description": "Default: today (tenant time zone)"})
    due_date = fields.Date(metadata={"description": "Default: issue date + 30 days"})
    currency = fields.String(validate=validate.Length(equal=3), metadata={
        "description": "Default: the tenant's base currency"})
    payment_reference = fields.String(allow_none=True, validate=validate.Length(max=140),
                                      metadata={"example": "+++090/9337/55493+++"})
    payment_iban = fields.String(allow_none=True, validate=validate.Length(max=42))
    payment_bic = fields.String(allow_none=True, validate=validate.Length(max=11))
    corrects_invoice_id = fields.UUID(allow_none=True)
    notes = fields.String(allow_none=True, validate=validate.Length(max=5000))
    lines = fields.List(fields.Nested(LineIn), required=True,
                        validate=validate.Length(min=1, max=1000))
    adjustments = fields.List(fields.Nested(AdjustmentIn), validate=validate.Length(max=100))
    open = fields.Boolean(load_default=False, metadata={"description": "Open it at once"})


class InvoicePatch(StrictSchema):
    number = fields.String(validate=validate.Length(min=1, max=64))
    contact_id = fields.UUID()
    issue_date = fields.Date()
    due_date = fields.Date()
    currency = fields.String(validate=validate.Length(equal=3))
    payment_reference = fields.String(allow_none=True, validate=validate.Length(max=140))
    payment_iban = fields.String(allow_none=True, validate=validate.Length(max=42))
    payment_bic = fields.String(allow_none=True, validate=validate.Length(max=11))
    notes = fields.String(allow_none=True, validate=validate.Length(max=5000))
    lines = fields.List(fields.Nested(LineIn), validate=validate.Length(min=1, max=1000))
    adjustments = fields.List(fields.Nested(AdjustmentIn), validate=validate.Length(max=100))


class PaymentIn(StrictSchema):
    amount = fields.String(required=True, metadata=DECIMAL)
    paid_on = fields.Date(required=True)
    reference = fields.String(allow_none=True, validate=validate.Length(max=140))
    note = fields.String(allow_none=True, validate=validate.Length(max=1000))


class UrgencyIn(StrictSchema):
    urgency = fields.Integer(required=True, allow_none=True, validate=validate.Range(1, 5),
                             metadata={"description": "1 overdue … 5 low; null clears"})


class ContactRef(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)


class LineOut(Schema):
    position = fields.Integer(required=True)
    description = fields.String(required=True)
    quantity = fields.String(required=True)
    unit_code = fields.String(allow_none=True)
    unit_price = fields.String(required=True)
    vat_rate = fields.String(required=True)
    vat_category = fields.String(required=True)
    allowance = fields.Nested(MoneyOut, required=True)
    charge = fields.Nested(MoneyOut, required=True)
    net_amount = fields.Nested(MoneyOut, required=True)


class AdjustmentOut(Schema):
    is_charge = fields.Boolean(required=True)
    amount = fields.Nested(MoneyOut, required=True)
    vat_rate = fields.String(required=True)
    vat_category = fields.String(required=True)
    reason = fields.String(allow_none=True)


class InvoiceSummaryOut(Schema):
    id = fields.String(required=True)
    object = fields.String(required=True, metadata={"example": "invoice"})
    direction = fields.String(required=True, validate=validate.OneOf(["receivable", "payable"]))
    kind = fields.String(required=True)
    number = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(
        ["draft", "open", "partially_paid", "paid", "cancelled"]))
    overdue = fields.Boolean(required=True)
    urgency = fields.Integer(allow_none=True, required=True)
    urgency_source = fields.String(allow_none=True, required=True)
    contact = fields.Nested(ContactRef, required=True)
    issue_date = fields.String(required=True)
    due_date = fields.String(required=True)
    currency = fields.String(required=True)
    payment_reference = fields.String(allow_none=True, required=True)
    net_total = fields.Nested(MoneyOut, required=True)
    vat_total = fields.Nested(MoneyOut, required=True)
    gross_total = fields.Nested(MoneyOut, required=True)
    amount_paid = fields.Nested(MoneyOut, required=True)
    amount_credited = fields.Nested(MoneyOut, required=True)
    outstanding = fields.Nested(MoneyOut, required=True)
    gross_total_base = fields.Nested(MoneyOut, required=True)
    exchange_rate = fields.String(required=True)
    version = fields.Integer(required=True)
    created_at = fields.String(required=True)
    updated_at = fields.String(required=True)


class InvoiceOut(InvoiceSummaryOut):
    contact_id = fields.String(required=True)
    corrects_invoice_id = fields.String(allow_none=True)
    payment_iban = fields.String(allow_none=True)
    payment_bic = fields.String(allow_none=True)
    exchange_rate_date = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    source = fields.String(required=True)
    external_ids = fields.Dict(required=True)
    opened_at = fields.String(allow_none=True)
    paid_at = fields.String(allow_none=True)
    cancelled_at = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(LineOut), required=True)
    adjustments = fields.List(fields.Nested(AdjustmentOut), required=True)


class InvoiceList(Schema):
    object = fields.String(required=True, metadata={"example": "list"})
    data = fields.List(fields.Nested(InvoiceSummaryOut), required=True)
    has_more = fields.Boolean(required=True)


class InvoiceListArgs(ListArgs):
    direction = fields.String(validate=validate.OneOf(["receivable", "payable"]))
    status = fields.String(validate=validate.OneOf(
        ["draft", "open", "partially_paid", "paid", "cancelled", "overdue"]))
    urgency = fields.Integer(validate=validate.Range(1, 5))
    contact_id = fields.UUID()
    due_before = fields.Date()
    due_after = fields.Date()
    issued_before = fields.Date()
    issued_after = fields.Date()
    min_amount = fields.Decimal(places=None, as_string=True, allow_nan=False, metadata={
        "description": "Gross total at least this, in the company's base currency"})
    max_amount = fields.Decimal(places=None, as_string=True, allow_nan=False, metadata={
        "description": "Gross total at most this, in the company's base currency"})
    currency = fields.String(validate=validate.Length(equal=3))
    q = fields.String(validate=validate.Length(max=200))
    sort = fields.String(load_default="-created_at", validate=validate.OneOf(
        [f"{sign}{key}" for key in ("created_at", "issue_date", "due_date", "gross_total",
                                    "number") for sign in ("", "-")]))


class ImportResult(Schema):
    invoice = fields.Nested(InvoiceOut, required=True)
    created = fields.Boolean(required=True)
