"""Request and response shapes for bank accounts, transactions and imports."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from smbfinance.web.schemas import ListArgs, StrictSchema


class ImportIn(StrictSchema):
    bank_account_id = fields.UUID(metadata={
        "description": "Import into this account (default: found or created from the file)"})
    strict = fields.Boolean(load_default=False, metadata={
        "description": "Reject the file on any consistency warning"})


class ImportWarningOut(Schema):
    statement = fields.Integer(allow_none=True)
    code = fields.String(required=True)
    message = fields.String(required=True)
    line = fields.Integer(allow_none=True)
    path = fields.String(allow_none=True)


class StatementOut(Schema):
    index = fields.Integer(required=True)
    bank_account_id = fields.String(required=True)
    iban = fields.String(allow_none=True)
    account_number = fields.String(allow_none=True)
    statement_id = fields.String(allow_none=True)
    currency = fields.String(required=True)
    opening_balance = fields.String(allow_none=True)
    closing_balance = fields.String(allow_none=True)
    closing_date = fields.String(allow_none=True)
    read = fields.Integer(required=True)
    created = fields.Integer(required=True)
    duplicates = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    total = fields.String(required=True)
    warnings = fields.List(fields.Nested(ImportWarningOut), required=True)


class ImportErrorOut(Schema):
    line = fields.Integer(allow_none=True)
    path = fields.String(allow_none=True)
    message = fields.String(required=True)


class CountsOut(Schema):
    read = fields.Integer(attribute="read_count", required=True)
    created = fields.Integer(attribute="created_count", required=True)
    duplicates = fields.Integer(attribute="duplicate_count", required=True)
    updated = fields.Integer(attribute="updated_count", required=True)
    skipped = fields.Integer(attribute="skipped_count", required=True)


class ImportProgressOut(Schema):
    entries = fields.Integer(required=True, metadata={"description": "Entries read so far"})
    bytes = fields.Integer(required=True, metadata={"description": "File bytes read so far"})
    total_bytes = fields.Integer(required=True)


class ImportBatchOut(Schema):
    id = fields.UUID(required=True)
    object = fields.Constant("import", dump_only=True)
    format = fields.String(allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(
        ["queued", "processing", "completed", "rejected", "failed"]), metadata={
            "description": "queued → processing → completed, rejected (nothing written) or "
                           "failed (nothing written); small files answer completed at once"})
    file_name = fields.String(allow_none=True)
    file_size = fields.Integer(required=True)
    file_sha256 = fields.String(required=True)
    strict = fields.Boolean(required=True)
    bank_account_id = fields.UUID(allow_none=True)
    counts = fields.Function(lambda batch: CountsOut().dump(batch), required=True)
    statements = fields.List(fields.Nested(StatementOut), required=True)
    warnings = fields.List(fields.Nested(ImportWarningOut), required=True)
    errors = fields.List(fields.Nested(ImportErrorOut), required=True)
    progress = fields.Nested(ImportProgressOut, allow_none=True, metadata={
        "description": "For an import run by a worker: how far it got (null for files "
                       "imported in the request)"})
    created_at = fields.DateTime(required=True)
    completed_at = fields.DateTime(allow_none=True)


class BankAccountOut(Schema):
    id = fields.UUID(required=True)
    object = fields.Constant("bank_account", dump_only=True)
    iban = fields.String(allow_none=True)
    account_number = fields.String(allow_none=True)
    bic = fields.String(allow_none=True)
    currency = fields.String(required=True)
    holder = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    current_balance = fields.Function(
        lambda a: None if a.current_balance is None
        else {"amount": str(a.current_balance), "currency": a.currency},
        allow_none=True, metadata={"description": "Money object"})
    balance_date = fields.Date(allow_none=True)
    balance_source = fields.String(allow_none=True)
    synchronized_at = fields.DateTime(allow_none=True)
    is_active = fields.Boolean(required=True)
    version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)


class BankAccountList(Schema):
    object = fields.Constant("list", dump_only=True)
    data = fields.List(fields.Nested(BankAccountOut), required=True)
    has_more = fields.Boolean(required=True)


class TransactionOut(Schema):
    id = fields.UUID(required=True)
    object = fields.Constant("transaction", dump_only=True)
    bank_account_id = fields.UUID(required=True)
    amount = fields.Function(lambda t: {"amount": str(t.amount), "currency": t.currency},
                             required=True, metadata={"description": "Money object"})
    booking_date = fields.Date(required=True)
    value_date = fields.Date(allow_none=True)
    counterparty_name = fields.String(allow_none=True)
    counterparty_iban = fields.String(allow_none=True)
    remittance = fields.String(allow_none=True)
    structured_reference = fields.String(allow_none=True)
    bank_reference = fields.String(allow_none=True)
    status = fields.String(required=True)
    source = fields.String(required=True)
    category_id = fields.UUID(allow_none=True)
    contact_id = fields.UUID(allow_none=True)
    notes = fields.String(allow_none=True)
    ignore_for_forecast = fields.Boolean(required=True)
    matched_amount = fields.Function(
        lambda t: {"amount": str(t.matched_amount), "currency": t.currency}, required=True,
        metadata={"description": "Money object: how much of the amount is allocated to "
                                 "invoices (never negative)"})
    unallocated = fields.Function(
        lambda t: {"amount": str(abs(t.amount) - t.matched_amount), "currency": t.currency},
        required=True, metadata={"description": "Money object: |amount| − matched_amount, "
                                                "what is left to reconcile"})
    categorised_by = fields.String(allow_none=True, validate=validate.OneOf(["rule", "user"]),
                                   metadata={"description": "Who categorised it: a rule, a "
                                                            "person (rules then keep off), "
                                                            "or nobody yet"})
    import_batch_id = fields.UUID(allow_none=True)
    sync_log_id = fields.UUID(allow_none=True, metadata={
        "description": "The provider sync run that created or last changed it"})
    version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)


class TransactionList(Schema):
    object = fields.Constant("list", dump_only=True)
    data = fields.List(fields.Nested(TransactionOut), required=True)
    has_more = fields.Boolean(required=True)


# The largest amount a transaction can hold (numeric(18, 2)).
_MAX_AMOUNT = Decimal("9999999999999999.99")


def _amount_bound(value: Decimal) -> None:
    # Checked here, not with Range: its bounds would reach OpenAPI as strings (the field
    # is a Decimal string), which is not a valid `minimum` / `maximum`.
    if value < 0:
        raise ValidationError("must not be negative: it bounds the absolute amount")
    if value > _MAX_AMOUNT:
        raise ValidationError(f"must be at most {_MAX_AMOUNT}")
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise ValidationError("at most 2 decimals")


def _no_nul(value: str) -> None:
    if "\x00" in value:  # PostgreSQL text cannot hold it: refuse instead of failing later
        raise ValidationError("must not contain a NUL character")


class AmountBound(fields.Decimal):
    """A non-negative decimal string bounding the absolute amount."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(places=None, as_string=True, allow_nan=False, validate=_amount_bound,
                         **kwargs)


class TransactionListArgs(ListArgs):
    bank_account_id = fields.UUID()
    booked_after = fields.Date()
    booked_before = fields.Date()
    direction = fields.String(validate=validate.OneOf(["in", "out"]))
    status = fields.String(validate=validate.OneOf(["pending", "booked"]))
    min_amount = AmountBound(metadata={
        "description": "Absolute amount at least this (decimal string; the sign is "
                       "`direction`)"})
    max_amount = AmountBound(metadata={
        "description": "Absolute amount at most this (decimal string)"})
    category_id = fields.UUID()
    contact_id = fields.UUID()
    matched = fields.Boolean(metadata={
        "description": "true: at least part allocated to invoices (matched_amount > 0); "
                       "false: nothing allocated"})
    q = fields.String(validate=[validate.Length(max=200), _no_nul], metadata={
        "description": "Contains, ignoring case: counterparty name, remittance, structured "
                       "reference, bank reference or notes"})
    import_id = fields.UUID(metadata={
        "description": "Only what this statement import created or updated (the id of "
                       "`import.completed`)"})
    sync_log_id = fields.UUID(metadata={
        "description": "Only what this provider sync run created or changed (the id of "
                       "`sync.succeeded`)"})

    @validates_schema
    def _amount_range(self, data: dict[str, object], **_: object) -> None:
        low, high = data.get("min_amount"), data.get("max_amount")
        if low is not None and high is not None and low > high:  # type: ignore[operator]
            raise ValidationError("must not be below min_amount", "max_amount")


class TransactionPatch(StrictSchema):
    """Only these can change: the bank's facts (amount, dates, counterparty, texts, …) are
    refused, by name."""

    error_messages = {"unknown": "cannot be changed: only category_id, contact_id, notes and "
                                 "ignore_for_forecast can"}

    category_id = fields.UUID(allow_none=True)
    contact_id = fields.UUID(allow_none=True)
    notes = fields.String(allow_none=True, validate=validate.Length(max=5000))
    ignore_for_forecast = fields.Boolean()


class BankAccountIn(StrictSchema):
    iban = fields.String(allow_none=True, validate=validate.Length(max=42),
                         metadata={"example": "BE68 5390 0754 7034"})
    account_number = fields.String(allow_none=True, validate=validate.Length(max=64),
                                   metadata={"description": "For accounts without an IBAN "
                                                            "(a cash box)"})
    currency = fields.String(load_default="EUR", validate=validate.Length(equal=3))
    name = fields.String(allow_none=True, validate=validate.Length(max=200))
    holder = fields.String(allow_none=True, validate=validate.Length(max=200))
    bic = fields.String(allow_none=True, validate=validate.Length(max=11))


class BankAccountPatch(StrictSchema):
    error_messages = {"unknown": "cannot be changed: only name, holder, bic and is_active can"}

    name = fields.String(allow_none=True, validate=validate.Length(max=200))
    holder = fields.String(allow_none=True, validate=validate.Length(max=200))
    bic = fields.String(allow_none=True, validate=validate.Length(max=11))
    is_active = fields.Boolean()


class ManualTransactionIn(StrictSchema):
    bank_account_id = fields.UUID(required=True)
    amount = fields.String(required=True, metadata={
        "description": "Signed decimal string: + money in, − money out", "example": "-12.50"})
    booking_date = fields.Date(required=True)
    value_date = fields.Date()
    counterparty_name = fields.String(allow_none=True, validate=validate.Length(max=200))
    remittance = fields.String(allow_none=True, validate=validate.Length(max=1000))
    notes = fields.String(allow_none=True, validate=validate.Length(max=5000))


_COLUMN = {"allow_none": True, "validate": validate.Length(min=1, max=200)}


class CsvMappingIn(StrictSchema):
    """How to read the account's CSV exports: columns by their header text. Give
    amount_column (signed) or debit_column + credit_column (money out / money in)."""

    date_column = fields.String(required=True, validate=validate.Length(min=1, max=200),
                                metadata={"example": "Datum"})
    amount_column = fields.String(**_COLUMN, metadata={"example": "Bedrag"})
    debit_column = fields.String(**_COLUMN)
    credit_column = fields.String(**_COLUMN)
    value_date_column = fields.String(**_COLUMN)
    description_column = fields.String(**_COLUMN, metadata={"example": "Omschrijving"})
    counterparty_column = fields.String(**_COLUMN)
    iban_column = fields.String(**_COLUMN)
    reference_column = fields.String(**_COLUMN, metadata={
        "description": "Payment reference (OGM / RF, normalised)"})
    bank_reference_column = fields.String(**_COLUMN, metadata={
        "description": "The bank's own id of the movement"})
    date_format = fields.String(load_default="%Y-%m-%d", validate=validate.Length(min=2, max=40),
                                metadata={"description": "strptime format", "example": "%d/%m/%Y"})
    decimal_separator = fields.String(load_default=".", validate=validate.OneOf([",", "."]))
    thousands_separator = fields.String(load_default="", validate=validate.OneOf(
        ["", ".", ",", " ", "'"]))
    delimiter = fields.String(allow_none=True, validate=validate.Length(equal=1), metadata={
        "description": "null: detected from the file"})
    encoding = fields.String(allow_none=True, validate=validate.Length(min=1, max=40), metadata={
        "description": "null: UTF-8 (with or without BOM), else windows-1252"})


class CsvMappingOut(Schema):
    object = fields.Constant("csv_mapping", dump_only=True)
    bank_account_id = fields.UUID(required=True)
    version = fields.Integer(required=True, metadata={"description": "The account's version"})
    date_column = fields.String(required=True)
    amount_column = fields.String(allow_none=True)
    debit_column = fields.String(allow_none=True)
    credit_column = fields.String(allow_none=True)
    value_date_column = fields.String(allow_none=True)
    description_column = fields.String(allow_none=True)
    counterparty_column = fields.String(allow_none=True)
    iban_column = fields.String(allow_none=True)
    reference_column = fields.String(allow_none=True)
    bank_reference_column = fields.String(allow_none=True)
    date_format = fields.String(required=True)
    decimal_separator = fields.String(required=True)
    thousands_separator = fields.String(required=True)
    delimiter = fields.String(allow_none=True)
    encoding = fields.String(allow_none=True)
