"""Read a tenant's history for the backtest: every booked movement (day, amount, key) and
every issued invoice with the day it was settled, as tuples in one statement each."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from smbfinance.cashflow import backtest, gather
from smbfinance.cashflow.conversion import RateMissing
from smbfinance.cashflow.model import Direction
from smbfinance.cashflow.service import _context, _position
from smbfinance.db import transaction

MOVES = text("""
    SELECT booking_date, amount, currency,
           COALESCE('iban:' || upper(NULLIF(btrim(counterparty_iban), '')),
                    'name:' || lower(NULLIF(btrim(counterparty_name), '')),
                    'code:' || NULLIF(btrim(transaction_code), '')) AS key,
           COALESCE(counterparty_name, '') AS label,
           matched_amount = 0 AND NOT ignore_for_forecast AS for_forecast
    FROM bank_transactions
    WHERE status = 'booked' AND booking_date > :since""")

INVOICES = text("""
    SELECT i.id::text, i.number, i.direction, i.contact_id::text, c.name, i.issue_date,
           i.due_date, i.gross_total_base,
           CASE WHEN i.status = 'paid' THEN p.settled_on END AS settled_on
    FROM invoices i
    JOIN contacts c ON c.tenant_id = i.tenant_id AND c.id = i.contact_id
    LEFT JOIN (SELECT tenant_id, invoice_id, max(paid_on) AS settled_on FROM invoice_payments
               WHERE reversed_at IS NULL GROUP BY tenant_id, invoice_id) p
      ON p.tenant_id = i.tenant_id AND p.invoice_id = i.id
    WHERE i.deleted_at IS NULL AND i.kind = 'invoice'
      AND i.status IN ('open', 'partially_paid', 'paid')""")


def load_history(*, session: Session, tenant_id: uuid.UUID, days: int, horizon_days: int,
                 now: datetime | None = None) -> backtest.History:
    """Everything the replay needs, in the tenant's scope (the caller sets it)."""
    with transaction(session):
        ctx = _context(session, tenant_id, now)
        position = _position(session, ctx)
        since = ctx.today - timedelta(days=days + horizon_days + backtest.LOOKBACK_DAYS + 1)
        rows = session.execute(MOVES, {"since": since}).all()
        rates = gather.rate_table(session, ctx.base, ctx.today, {r.currency for r in rows})
        moves = []
        for day, amount, currency, key, label, for_forecast in rows:
            try:
                converted = rates.to_base(amount, currency)
            except RateMissing:
                continue
            moves.append(backtest.HistoryMove(day, converted, key, label, bool(for_forecast)))
        invoices = [backtest.HistoryInvoice(i, n, Direction(d), c, name, issued, due, amount,
                                            settled)
                    for i, n, d, c, name, issued, due, amount, settled
                    in session.execute(INVOICES)]
    return backtest.history_of(moves, invoices, today=ctx.today, currency=ctx.base,
                               balance_today=position.total)
