"""The API representation of invoices, shared by REST (encoded with orjson) and tests.
Pure: plain dicts from rows or views; money as {"amount": "123.45", "currency": "EUR"}."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from smbfinance.invoices import ogm
from smbfinance.money import minor_units, round_half_up

RATE_PLACES = Decimal("1e-10")


def money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": str(round_half_up(amount, currency)), "currency": currency}


def _stored_money(amount: Decimal, currency: str) -> dict[str, str]:
    """A NUMERIC(18, 2) value read from the database: already exact to the cent, so for
    two-decimal currencies its text is the answer (list pages format thousands of these)."""
    text = str(amount)
    if len(text) > 3 and text[-3] == "." and minor_units(currency) == 2:
        return {"amount": text, "currency": currency}
    return money(amount, currency)


def decimal_text(value: Decimal) -> str:
    """A quantity, price or rate without trailing zeros and never in exponent form:
    50.000000 → "50" (str(Decimal.normalize()) would give "5E+1"), 0.500 → "0.5"."""
    return f"{value.normalize():f}"


def reference(value: str | None, structured: bool) -> str | None:
    if not (value and structured):
        return value
    if len(value) == 12 and value.isdigit():
        # As stored: the 12 digits were checked when written, so only their layout is
        # left to do (the full check cost a tenth of a page of invoices).
        return f"+++{value[:3]}/{value[3:7]}/{value[7:]}+++"
    return ogm.format_ogm(value)


def summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """One list row (from queries.list_rows) as the API shows it."""
    currency = row["currency"]
    return {
        "id": str(row["id"]),
        "object": "invoice",
        "direction": row["direction"],
        "kind": row["kind"],
        "number": row["number"],
        "status": row["status"],
        "overdue": bool(row["overdue"]),
        "urgency": row["urgency"],
        "urgency_source": None if row["urgency"] is None
        else ("manual" if row["manual_urgency"] is not None else "computed"),
        "contact": {"id": str(row["contact_id"]), "name": row["contact_name"]},
        "issue_date": row["issue_date"].isoformat(),
        "due_date": row["due_date"].isoformat(),
        "currency": currency,
        "payment_reference": reference(row["payment_reference"],
                                       row["payment_reference_structured"]),
        "net_total": _stored_money(row["net_total"], currency),
        "vat_total": _stored_money(row["vat_total"], currency),
        "gross_total": _stored_money(row["gross_total"], currency),
        "amount_paid": _stored_money(row["amount_paid"], currency),
        "amount_credited": _stored_money(row["amount_credited"], currency),
        "outstanding": _stored_money(row["outstanding"], currency),
        "gross_total_base": _stored_money(row["gross_total_base"], row["base_currency"]),
        "exchange_rate": str(Decimal(row["exchange_rate"]).quantize(RATE_PLACES)),
        "version": row["version"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }


# Currencies known to have two decimals, filled as they are met (a plain dict: a list page
# asks it twice per row).
_TWO_PLACES: dict[str, bool] = {}


def _two_places(currency: str) -> bool:
    known = _TWO_PLACES.get(currency)
    if known is None:
        known = _TWO_PLACES[currency] = minor_units(str(currency)) == 2
    return known


def _text_money(amount: str, currency: str) -> dict[str, str]:
    if minor_units(currency) == 2:
        return {"amount": amount, "currency": currency}
    return money(Decimal(amount), currency)


def summary_from_text(row: Sequence[Any]) -> dict[str, Any]:
    """A row of queries.TEXT_COLUMNS as the API shows it (the list fast path: a page builds
    a hundred of these, so the common two-decimal case is written out inline)."""
    (id_, direction, kind, number, status, overdue, urgency, manual_urgency, contact_id,
     contact_name, issue_date, due_date, currency, payment_ref, structured, net, vat, gross,
     paid, credited, outstanding, base_currency, gross_base, rate, version, created,
     updated) = row
    two = _TWO_PLACES
    if (two.get(currency) or _two_places(currency)) and \
            (two.get(base_currency) or _two_places(base_currency)):
        amounts = ({"amount": net, "currency": currency}, {"amount": vat, "currency": currency},
                   {"amount": gross, "currency": currency}, {"amount": paid, "currency": currency},
                   {"amount": credited, "currency": currency},
                   {"amount": outstanding, "currency": currency},
                   {"amount": gross_base, "currency": base_currency})
    else:
        amounts = tuple(_text_money(a, c) for a, c in (
            (net, currency), (vat, currency), (gross, currency), (paid, currency),
            (credited, currency), (outstanding, currency), (gross_base, base_currency)))
    return {
        "id": id_, "object": "invoice", "direction": direction, "kind": kind,
        "number": number, "status": status, "overdue": overdue, "urgency": urgency,
        "urgency_source": None if urgency is None
        else ("manual" if manual_urgency is not None else "computed"),
        "contact": {"id": contact_id, "name": contact_name},
        "issue_date": issue_date, "due_date": due_date, "currency": currency,
        "payment_reference": reference(payment_ref, structured) if payment_ref else None,
        "net_total": amounts[0], "vat_total": amounts[1], "gross_total": amounts[2],
        "amount_paid": amounts[3], "amount_credited": amounts[4], "outstanding": amounts[5],
        "gross_total_base": amounts[6], "exchange_rate": rate, "version": version,
        "created_at": created, "updated_at": updated,  # isoformat() text from the query
    }


def detail(view: Any) -> dict[str, Any]:
    """A full invoice (service.InvoiceView) with lines and adjustments."""
    invoice = view.invoice
    currency = invoice.currency
    row = {column: getattr(invoice, column) for column in (
        "id", "direction", "kind", "number", "status", "contact_id", "issue_date", "due_date",
        "currency", "payment_reference", "payment_reference_structured", "net_total",
        "vat_total", "gross_total", "amount_paid", "amount_credited", "outstanding",
        "base_currency", "gross_total_base", "exchange_rate", "manual_urgency", "version",
        "created_at", "updated_at")}
    row.update(contact_name=view.contact_name, overdue=view.overdue,
               urgency=int(view.urgency) if view.urgency is not None else None)
    body = summary(row)
    body.update({
        "contact_id": str(invoice.contact_id),
        "corrects_invoice_id": str(invoice.corrects_invoice_id)
        if invoice.corrects_invoice_id else None,
        "payment_iban": invoice.payment_iban,
        "payment_bic": invoice.payment_bic,
        "exchange_rate_date": invoice.exchange_rate_date.isoformat()
        if invoice.exchange_rate_date else None,
        "notes": invoice.notes,
        "source": invoice.source,
        "external_ids": invoice.external_ids,
        "opened_at": _iso(invoice.opened_at),
        "paid_at": _iso(invoice.paid_at),
        "cancelled_at": _iso(invoice.cancelled_at),
        "lines": [invoice_line(line, currency) for line in invoice.lines],
        "adjustments": [{
            "is_charge": item.is_charge, "amount": money(item.amount, currency),
            "vat_rate": decimal_text(item.vat_rate), "vat_category": item.vat_category,
            "reason": item.reason,
        } for item in invoice.adjustments],
    })
    return body


def invoice_line(line: Any, currency: str) -> dict[str, Any]:
    """One invoice line (models.InvoiceLine) as the API shows it."""
    return {
        "position": line.position, "description": line.description,
        "quantity": decimal_text(line.quantity), "unit_code": line.unit_code,
        "unit_price": decimal_text(line.unit_price),
        "vat_rate": decimal_text(line.vat_rate), "vat_category": line.vat_category,
        "allowance": money(line.allowance, currency), "charge": money(line.charge, currency),
        "net_amount": money(line.net_amount, currency),
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
