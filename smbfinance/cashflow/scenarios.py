"""What-if scenarios: adjustments applied to a copy of the forecast inputs, never to data.

Adjustments (the JSON a scenario stores, validated by `parse_adjustments`):
- {"type": "delay_invoice", "invoice_id": ID, "days": N} — expect that invoice N days later
  (negative: earlier);
- {"type": "add_item", "label": ..., "amount": "-1200.00", "date": D} — a one-off; with
  "period" (weekly|monthly|quarterly) and optionally "end_date", a recurring item from D;
- {"type": "remove_item", "source": KEY} — drop an invoice ("invoice:ID"), a recurring
  series ("recurring:ID") or a planned item ("planned:ID");
- {"type": "change_amount", "source": KEY, "amount": "-950.00"} — a new amount (signed for
  flows; what is still owed, positive, for an invoice).
An adjustment naming something no longer in the inputs (paid since, dismissed) is skipped
with a warning: the scenario stays usable."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from smbfinance.cashflow.model import ForecastInputs, PlannedItem, RecurringFlow
from smbfinance.cashflow.periods import Period
from smbfinance.errors import ErrorList
from smbfinance.money import MoneyError, parse_amount

MAX_ADJUSTMENTS = 100
# Dates a forecast can use: far-away ones only make projections loop or overflow.
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
MAX_DELAY_DAYS = 730


class AdjustmentType(StrEnum):
    DELAY_INVOICE = "delay_invoice"
    ADD_ITEM = "add_item"
    REMOVE_ITEM = "remove_item"
    CHANGE_AMOUNT = "change_amount"


@dataclass(frozen=True)
class Adjustment:
    type: AdjustmentType
    invoice_id: str | None = None
    days: int = 0
    source: str | None = None
    label: str | None = None
    amount: Decimal | None = None
    day: date | None = None
    period: Period | None = None
    end_date: date | None = None


def check_day(day: date | None, field: str, errors: ErrorList) -> date | None:
    if day is not None and not EARLIEST <= day <= LATEST:
        errors.add(field, f"must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}")
        return None
    return day


def _date(raw: Any, field: str, errors: ErrorList) -> date | None:
    if isinstance(raw, date):
        return check_day(raw, field, errors)
    try:
        day = date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        day = None
    if day is None:
        errors.add(field, "must be a date such as 2026-12-31")
        return None
    return check_day(day, field, errors)


def parse_adjustments(raw: Sequence[dict[str, Any]], currency: str) -> list[Adjustment]:
    """Validate stored or submitted adjustments; raises Invalid naming `adjustments.N.field`."""
    errors = ErrorList()
    if len(raw) > MAX_ADJUSTMENTS:
        errors.add("adjustments", f"at most {MAX_ADJUSTMENTS} adjustments")
        errors.raise_if_any()
    parsed = []
    for n, item in enumerate(raw):
        at = f"adjustments.{n}"
        if not isinstance(item, dict):
            errors.add(at, "must be an object")
            continue
        try:
            kind = AdjustmentType(item.get("type"))
        except ValueError:
            errors.add(f"{at}.type", "must be one of " + ", ".join(t.value for t in AdjustmentType))
            continue
        allowed = {
            AdjustmentType.DELAY_INVOICE: {"invoice_id", "days"},
            AdjustmentType.ADD_ITEM: {"label", "amount", "date", "period", "end_date"},
            AdjustmentType.REMOVE_ITEM: {"source"},
            AdjustmentType.CHANGE_AMOUNT: {"source", "amount"},
        }[kind]
        for key in item:
            if key != "type" and key not in allowed:
                errors.add(f"{at}.{key}", f"unknown field for {kind.value}", "unknown_field")
        parsed_item = _parse_one(kind, item, at, currency, errors)
        if parsed_item is not None:
            parsed.append(parsed_item)
    errors.raise_if_any()
    return parsed


def _parse_one(kind: AdjustmentType, item: dict[str, Any], at: str, currency: str,
               errors: ErrorList) -> Adjustment | None:
    before = len(errors.errors)
    result: dict[str, Any] = {"type": kind}
    if kind is AdjustmentType.DELAY_INVOICE:
        invoice_id, days = item.get("invoice_id"), item.get("days")
        if not isinstance(invoice_id, str) or not invoice_id:
            errors.add(f"{at}.invoice_id", "required: the id of an open invoice")
        if not isinstance(days, int) or isinstance(days, bool) or abs(days) > MAX_DELAY_DAYS:
            errors.add(f"{at}.days", f"must be a whole number of days, ±{MAX_DELAY_DAYS}")
        result.update(invoice_id=invoice_id, days=days)
    if kind in (AdjustmentType.REMOVE_ITEM, AdjustmentType.CHANGE_AMOUNT):
        source = item.get("source")
        if not isinstance(source, str) or source.split(":", 1)[0] not in (
                "invoice", "recurring", "planned") or ":" not in source:
            errors.add(f"{at}.source",
                       "must name an input: invoice:ID, recurring:ID or planned:ID")
        result["source"] = source
    if kind in (AdjustmentType.ADD_ITEM, AdjustmentType.CHANGE_AMOUNT):
        try:
            result["amount"] = parse_amount(item.get("amount"), currency)
        except MoneyError as exc:
            errors.add(f"{at}.amount", str(exc))
        if result.get("amount") == 0:
            errors.add(f"{at}.amount", "must not be zero")
    if kind is AdjustmentType.ADD_ITEM:
        label = item.get("label")
        if not isinstance(label, str) or not label.strip() or len(label) > 200:
            errors.add(f"{at}.label", "required, 1-200 characters")
        result["label"] = label.strip() if isinstance(label, str) else label
        result["day"] = _date(item.get("date"), f"{at}.date", errors)
        if item.get("period") is not None:
            try:
                result["period"] = Period(item["period"])
            except ValueError:
                errors.add(f"{at}.period", "must be weekly, monthly or quarterly")
        if item.get("end_date") is not None:
            result["end_date"] = _date(item["end_date"], f"{at}.end_date", errors)
            if result.get("period") is None:
                errors.add(f"{at}.end_date", "only for a recurring item (with a period)")
    if len(errors.errors) > before:
        return None
    return Adjustment(**result)


def apply(inputs: ForecastInputs, adjustments: Sequence[Adjustment]) -> ForecastInputs:
    """A new ForecastInputs with the adjustments applied in order; `inputs` is unchanged."""
    invoices = list(inputs.invoices)
    flows = list(inputs.flows)
    planned = list(inputs.planned)
    warnings = list(inputs.warnings)
    for n, adjustment in enumerate(adjustments):
        kind = adjustment.type
        if kind is AdjustmentType.DELAY_INVOICE:
            key = f"invoice:{adjustment.invoice_id}"
            hit = [i for i, inv in enumerate(invoices) if inv.key == key]
            for i in hit:
                invoices[i] = invoices[i]._replace(
                    extra_delay_days=invoices[i].extra_delay_days + adjustment.days)
        elif kind is AdjustmentType.ADD_ITEM:
            hit = [0]
            assert adjustment.day is not None and adjustment.amount is not None
            key, label = f"scenario:{n + 1}", adjustment.label or ""
            if adjustment.period is None:
                planned.append(PlannedItem(key, label, adjustment.day, adjustment.amount))
            else:
                flows.append(RecurringFlow(
                    key=key, kind="planned", label=label, period=adjustment.period,
                    next_date=adjustment.day, amount=adjustment.amount,
                    end_date=adjustment.end_date,
                    reason=f"Added by the scenario: {label} ({adjustment.period.value})"))
        elif kind is AdjustmentType.REMOVE_ITEM:
            source = adjustment.source
            before = len(invoices) + len(flows) + len(planned)
            invoices = [i for i in invoices if i.key != source]
            flows = [f for f in flows if f.key != source]
            planned = [p for p in planned if p.key != source]
            hit = [0] if len(invoices) + len(flows) + len(planned) < before else []
        else:
            hit = _change_amount(invoices, flows, planned, adjustment)
        if not hit:
            warnings.append(f"adjustment {n + 1} ({kind.value}) names nothing in the current "
                            f"inputs ({adjustment.source or adjustment.invoice_id}): skipped")
    return dataclasses.replace(inputs, invoices=tuple(invoices), flows=tuple(flows),
                               planned=tuple(planned), warnings=tuple(warnings))


def _change_amount(invoices: list[Any], flows: list[Any], planned: list[Any],
                   adjustment: Adjustment) -> list[int]:
    hit = []
    for collection, field in ((invoices, "outstanding"), (flows, "amount"),
                              (planned, "amount")):
        for i, item in enumerate(collection):
            if item.key == adjustment.source:
                amount = abs(adjustment.amount) if field == "outstanding" else adjustment.amount
                collection[i] = (item._replace(**{field: amount}) if hasattr(item, "_replace")
                                 else dataclasses.replace(item, **{field: amount}))
                hit.append(i)
    return hit
