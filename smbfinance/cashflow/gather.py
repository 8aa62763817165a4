"""The forecast's inputs read with aggregated SQL: a handful of statements returning
tuples, never one ORM object per transaction. Every statement runs inside the caller's
tenant-scoped transaction, so RLS limits it to that tenant.

- accounts: active accounts with their latest balance;
- open invoices: one row per unpaid invoice (the only per-row input, bounded by what is owed);
- delays: a histogram (contact, days late, invoices) over paid sales invoices;
- recurring candidates: per counterparty and direction, the days and amounts summed per
  day, only for groups seen 3-80 times in the lookback (one-offs and daily card spend never
  leave PostgreSQL);
- month totals (burn), invoiced over a window (DSO/DPO), rates for the currencies seen."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.orm import Session

from smbfinance.cashflow.conversion import RateTable
from smbfinance.cashflow.delays import DelaySample

RECURRING_LOOKBACK_DAYS = 400
MAX_OCCURRENCES = 80
DELAY_LOOKBACK_DAYS = 730
RATE_LOOKBACK_DAYS = 10  # as smbfinance/rates: the latest ECB business day before


@dataclass(frozen=True)
class AccountRow:
    id: str
    name: str | None
    iban: str | None
    currency: str
    balance: Decimal | None
    balance_date: date | None
    synchronized_at: datetime | None


class InvoiceRow(NamedTuple):
    id: str
    number: str
    direction: str
    contact_id: str
    contact_name: str
    status: str
    due_date: date
    outstanding: Decimal
    currency: str
    exchange_rate: Decimal
    manual_urgency: int | None


@dataclass(frozen=True)
class CandidateRow:
    key: str
    label: str
    currency: str
    days: list[date]
    amounts: list[Decimal]


ACCOUNTS = text("""
    SELECT id::text, name, iban, currency, current_balance, balance_date, synchronized_at
    FROM bank_accounts WHERE deleted_at IS NULL AND is_active
    ORDER BY created_at, id""")

OPEN_INVOICES = text("""
    SELECT i.id::text, i.number, i.direction, i.contact_id::text, c.name, i.status,
           i.due_date, i.outstanding, i.currency, i.exchange_rate, i.manual_urgency
    FROM invoices i
    JOIN contacts c ON c.tenant_id = i.tenant_id AND c.id = i.contact_id
    WHERE i.deleted_at IS NULL AND i.kind = 'invoice'
      AND i.status IN ('open', 'partially_paid') AND i.outstanding > 0""")

# When a paid invoice was settled: its last payment that is not a credit note.
DELAYS = text("""
    SELECT i.contact_id::text, (p.settled_on - i.due_date) AS delay, count(*) AS invoices
    FROM invoices i
    JOIN (SELECT tenant_id, invoice_id, max(paid_on) AS settled_on FROM invoice_payments
          WHERE reversed_at IS NULL AND kind <> 'credit_note'
          GROUP BY tenant_id, invoice_id) p
      ON p.tenant_id = i.tenant_id AND p.invoice_id = i.id
    WHERE i.direction = 'receivable' AND i.kind = 'invoice' AND i.status = 'paid'
      AND i.deleted_at IS NULL AND p.settled_on <= :as_of AND p.settled_on > :since
    GROUP BY 1, 2""")

# A counterparty's key: its IBAN, else its name, else the bank's transaction code.
# Matched transactions pay invoices, which the forecast already has; flagged ones are out.
CANDIDATES = text("""
    WITH daily AS (
        SELECT CASE WHEN amount > 0 THEN 'in' ELSE 'out' END || ':' ||
               COALESCE('iban:' || upper(NULLIF(btrim(counterparty_iban), '')),
                        'name:' || lower(NULLIF(btrim(counterparty_name), '')),
                        'code:' || NULLIF(btrim(transaction_code), '')) AS key,
               currency, booking_date, sum(amount) AS amount,
               min(counterparty_name) AS label
        FROM bank_transactions
        WHERE status = 'booked' AND NOT ignore_for_forecast AND matched_amount = 0
          AND amount <> 0 AND booking_date > :since AND booking_date <= :as_of
        GROUP BY 1, 2, 3)
    SELECT key, COALESCE(min(label), key) AS label, currency,
           array_agg(booking_date ORDER BY booking_date) AS days,
           array_agg(amount ORDER BY booking_date) AS amounts
    FROM daily WHERE key IS NOT NULL
    GROUP BY key, currency
    HAVING count(*) BETWEEN 3 AND :max_occurrences""")

MONTHS = text("""
    SELECT date_trunc('month', booking_date)::date AS month, currency,
           COALESCE(sum(amount) FILTER (WHERE amount > 0), 0) AS inflows,
           COALESCE(-sum(amount) FILTER (WHERE amount < 0), 0) AS outflows
    FROM bank_transactions
    WHERE status = 'booked' AND NOT ignore_for_forecast
      AND booking_date >= :start AND booking_date < :stop
    GROUP BY 1, 2""")

INVOICED = text("""
    SELECT direction, COALESCE(sum(gross_total_base), 0) AS total
    FROM invoices
    WHERE deleted_at IS NULL AND kind = 'invoice' AND status NOT IN ('draft', 'cancelled')
      AND issue_date > :start AND issue_date <= :as_of
    GROUP BY direction""")

RATES = text("""
    SELECT DISTINCT ON (currency) currency, rate, day FROM exchange_rates
    WHERE currency = ANY(:currencies) AND day <= :on AND day >= :earliest
    ORDER BY currency, day DESC""")


def accounts(session: Session) -> list[AccountRow]:
    return [AccountRow(*row) for row in session.execute(ACCOUNTS)]


# A row as a named tuple, made in C (InvoiceRow._make is a Python method per row).
_invoice_row = partial(tuple.__new__, InvoiceRow)


def open_invoices(session: Session) -> list[InvoiceRow]:
    """Thousands of rows: read as plain tuples from the driver, in the session's (tenant-
    scoped) transaction, without a result object per row."""
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(OPEN_INVOICES.text)
        return list(map(_invoice_row, cursor.fetchall()))
    finally:
        cursor.close()


def delay_samples(session: Session, as_of: date) -> list[DelaySample]:
    rows = session.execute(DELAYS, {"as_of": as_of,
                                    "since": as_of - timedelta(days=DELAY_LOOKBACK_DAYS)})
    return [DelaySample(contact, int(delay), int(count)) for contact, delay, count in rows]


def candidates(session: Session, as_of: date) -> list[CandidateRow]:
    rows = session.execute(CANDIDATES, {
        "as_of": as_of, "since": as_of - timedelta(days=RECURRING_LOOKBACK_DAYS),
        "max_occurrences": MAX_OCCURRENCES})
    return [CandidateRow(*row) for row in rows]


def month_totals(session: Session, start: date, stop: date) -> list[tuple[date, str, Decimal,
                                                                          Decimal]]:
    return [tuple(row) for row in session.execute(MONTHS, {"start": start, "stop": stop})]  # type: ignore[misc]


def invoiced(session: Session, as_of: date, window_days: int) -> dict[str, Decimal]:
    rows = session.execute(INVOICED, {"as_of": as_of,
                                      "start": as_of - timedelta(days=window_days)})
    return {direction: total for direction, total in rows}


def rate_table(session: Session, base: str, on: date, currencies: Iterable[str]) -> RateTable:
    """The latest rate on or up to RATE_LOOKBACK_DAYS before `on` for each currency (and
    the base); currencies without one are simply absent (RateTable.has says so)."""
    wanted: Sequence[str] = sorted({*currencies, base} - {"EUR"})
    if not wanted:
        return RateTable(base, on, {})
    rows = session.execute(RATES, {"currencies": list(wanted), "on": on,
                                   "earliest": on - timedelta(days=RATE_LOOKBACK_DAYS)})
    return RateTable(base, on, {currency: (rate, day) for currency, rate, day in rows})

