"""Request and response shapes for cash flow and alerts. Amounts travel as strings."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from smbfinance.cashflow.forecast import MAX_HORIZON_DAYS
from smbfinance.web.schemas import DecimalString, StrictSchema

GRANULARITIES = ["day", "week", "month"]
PERIODS = ["weekly", "monthly", "quarterly"]


class AccountPositionOut(Schema):
    id = fields.String(required=True)
    name = fields.String(allow_none=True)
    iban = fields.String(allow_none=True)
    currency = fields.String(required=True)
    balance = fields.String(required=True)
    balance_base = fields.String(allow_none=True, metadata={
        "description": "In the base currency; null when no rate converts it"})
    rate = fields.String(allow_none=True)
    balance_date = fields.Date(allow_none=True)
    synchronized_at = fields.DateTime(allow_none=True)


class PositionOut(Schema):
    object = fields.Constant("cash_position", dump_only=True)
    as_of = fields.Date(required=True)
    currency = fields.String(required=True)
    total = fields.String(required=True)
    accounts = fields.List(fields.Nested(AccountPositionOut), required=True)
    oldest_synchronized_at = fields.DateTime(allow_none=True)
    warnings = fields.List(fields.String(), required=True)


class PositionsArgs(StrictSchema):
    start = fields.Date(data_key="from", metadata={"description": "First day (default: 29 "
                                                                  "days before to)"})
    stop = fields.Date(data_key="to", metadata={"description": "Last day (default: today)"})
    granularity = fields.String(load_default="day", validate=validate.OneOf(GRANULARITIES))


class PositionPointOut(Schema):
    day = fields.Date(required=True)
    currency = fields.String(required=True)
    total = fields.String(required=True)


class PositionList(Schema):
    object = fields.Constant("list", dump_only=True)
    data = fields.List(fields.Nested(PositionPointOut), required=True)


class ForecastArgs(StrictSchema):
    horizon_days = fields.Integer(validate=validate.Range(min=1, max=MAX_HORIZON_DAYS),
                                  metadata={"description": "Default: the tenant's setting "
                                                           "(90)"})
    granularity = fields.String(load_default="week", validate=validate.OneOf(GRANULARITIES))
    scenario_id = fields.UUID(metadata={"description": "Apply this scenario's adjustments"})


class ContributionOut(Schema):
    key = fields.String(required=True)
    source = fields.String(required=True, metadata={
        "description": "The input (invoice:ID, recurring:ID, planned:ID) scenarios can name"})
    kind = fields.String(required=True)
    label = fields.String(required=True)
    date = fields.Date(attribute="day", required=True)
    amount = fields.String(required=True)
    low_date = fields.Date(attribute="low_day", allow_none=True)
    low_amount = fields.String(required=True)
    high_date = fields.Date(attribute="high_day", allow_none=True)
    high_amount = fields.String(required=True)
    reason = fields.String(required=True)


class BucketOut(Schema):
    start = fields.Date(required=True)
    end = fields.Date(required=True)
    opening = fields.String(required=True)
    inflows = fields.String(required=True)
    outflows = fields.String(required=True)
    closing = fields.String(required=True)
    low = fields.String(required=True, metadata={"description": "P10 closing"})
    high = fields.String(required=True, metadata={"description": "P90 closing"})
    items = fields.List(fields.Nested(ContributionOut), required=True)


class ForecastOut(Schema):
    object = fields.Constant("forecast", dump_only=True)
    as_of = fields.Date(required=True)
    horizon_days = fields.Integer(required=True)
    granularity = fields.String(required=True)
    currency = fields.String(required=True)
    opening = fields.String(required=True)
    buckets = fields.List(fields.Nested(BucketOut), required=True)
    warnings = fields.List(fields.String(), required=True)


class SeriesOut(Schema):
    id = fields.UUID(required=True)
    object = fields.Constant("recurring_series", dump_only=True)
    source = fields.String(required=True)
    key = fields.String(required=True)
    label = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(
        ["detected", "confirmed", "dismissed"]))
    period = fields.String(required=True)
    amount = fields.String(required=True)
    drift = fields.String(required=True)
    amount_spread = fields.String(required=True)
    day_spread = fields.Integer(required=True)
    next_date = fields.Date(required=True)
    end_date = fields.Date(allow_none=True)
    currency = fields.String(required=True)
    first_seen = fields.Date(allow_none=True)
    last_seen = fields.Date(allow_none=True)
    occurrences = fields.Integer(required=True)
    missed = fields.Integer(required=True)
    active = fields.Boolean(required=True)
    version = fields.Integer(allow_none=True)


class SeriesList(Schema):
    object = fields.Constant("list", dump_only=True)
    data = fields.List(fields.Nested(SeriesOut), required=True)


class SeriesDecision(StrictSchema):
    status = fields.String(required=True, validate=validate.OneOf(["confirmed", "dismissed"]))
    label = fields.String(validate=validate.Length(min=1, max=200))
    amount = DecimalString(metadata={"description": "Signed, base currency", "example": "-1500.00"})
    period = fields.String(validate=validate.OneOf(PERIODS))
    next_date = fields.Date()
    end_date = fields.Date(allow_none=True)


class PlannedIn(StrictSchema):
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))
    amount = DecimalString(required=True, metadata={"description": "Signed: + in, − out",
                                                    "example": "-2500.00"})
    currency = fields.String(validate=validate.Length(equal=3), metadata={
        "description": "Default: the base currency"})
    day = fields.Date(required=True, data_key="date")
    period = fields.String(allow_none=True, validate=validate.OneOf(PERIODS), metadata={
        "description": "Repeat from date; omit for a one-off"})
    end_date = fields.Date(allow_none=True)
    notes = fields.String(allow_none=True, validate=validate.Length(max=2000))


class PlannedPatch(PlannedIn):
    label = fields.String(validate=validate.Length(min=1, max=200))
    amount = DecimalString()
    day = fields.Date(data_key="date")


class PlannedOut(Schema):
    id = fields.UUID(required=True)
    object = fields.Constant("planned_item", dump_only=True)
    label = fields.String(required=True)
    amount = fields.String(required=True)
    currency = fields.String(required=True)
    day = fields.Date(data_key="date", required=True)
    period = fields.String(allow_none=True)
    end_date = fields.Date(allow_none=True)
    notes = fields.String(allow_none=True)
    version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class PlannedList(Schema):
    object = fields.Constant("list", dump_only=True)
    data = fields.List(fields.Nested(PlannedOut), required=True)


class ScenarioIn(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(allow_none=True, validate=validate.Length(max=2000))
    adjustments = fields.List(fields.Dict(keys=fields.String()), load_default=list, metadata={
        "description": "delay_invoice {invoice_id, days}; add_item {label, amount, date, "
                       "period?, end_date?}; remove_item {source}; change_amount {source, "
                       "amount} — see docs/cashflow.md"})


class ScenarioPatch(ScenarioIn):
    name = fields.String(validate=validate.Length(min=1, max=200))
    adjustments = fields.List(fields.Dict(keys=fields.String()))


class ScenarioOut(Schema):
    id = fields.UUID(required=True)
    object = fields.Constant("scenario", dump_only=True)
    name = fields.String(required=True)
    description = fields.String(allow_none=True)
    adjustments = fields.List(fields.Dict(), required=True)
    version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class ScenarioList(Schema):
    object = fields.Constant("list", dump_only=True)
    data = fields.List(fields.Nested(ScenarioOut), required=True)


class RunwayOut(Schema):
    below_zero = fields.Date(allow_none=True)
    below_threshold = fields.Date(allow_none=True)
    days_to_zero = fields.Integer(allow_none=True)
    days_to_threshold = fields.Integer(allow_none=True)


class PartyOut(Schema):
    contact_id = fields.String(allow_none=True)
    name = fields.String(required=True)
    outstanding = fields.String(required=True)
    invoices = fields.Integer(required=True)


class KpisOut(Schema):
    object = fields.Constant("cashflow_kpis", dump_only=True)
    as_of = fields.Date(required=True)
    currency = fields.String(required=True)
    threshold = fields.String(required=True)
    runway = fields.Nested(RunwayOut, required=True)
    runway_p10 = fields.Nested(RunwayOut, required=True)
    monthly_burn_gross = fields.String(required=True)
    monthly_burn_net = fields.String(required=True)
    burn_months = fields.Integer(required=True)
    dso_days = fields.String(allow_none=True)
    dpo_days = fields.String(allow_none=True)
    receivable_by_urgency = fields.Dict(keys=fields.String(),
                                        values=fields.String(), required=True)
    payable_by_urgency = fields.Dict(keys=fields.String(),
                                     values=fields.String(), required=True)
    largest_debtors = fields.List(fields.Nested(PartyOut), required=True)
    largest_creditors = fields.List(fields.Nested(PartyOut), required=True)


class AlertOut(Schema):
    id = fields.UUID(required=True)
    object = fields.Constant("alert", dump_only=True)
    kind = fields.String(required=True, metadata={
        "description": "low_cash, webhook_endpoint_disabled or integration_consent_expiring"})
    line = fields.String(allow_none=True, metadata={"description": "expected or p10 "
                                                                   "(low_cash only)"})
    status = fields.String(required=True)
    crossing_date = fields.Date(allow_none=True, metadata={
        "description": "low_cash: the day the line crosses; integration_consent_expiring: "
                       "the day the consent ends"})
    balance = fields.String(allow_none=True)
    threshold = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)
    subject_id = fields.UUID(allow_none=True, metadata={
        "description": "The webhook endpoint or integration the alert is about"})
    message = fields.String(allow_none=True)
    raised_at = fields.DateTime(required=True)
    acknowledged_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    cleared_at = fields.DateTime(allow_none=True)


class AlertList(Schema):
    object = fields.Constant("list", dump_only=True)
    data = fields.List(fields.Nested(AlertOut), required=True)


class AlertListArgs(StrictSchema):
    status = fields.String(validate=validate.OneOf(["open", "acknowledged", "resolved",
                                                    "cleared"]))
