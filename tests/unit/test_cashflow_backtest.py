"""The backtest replays history with only what was known each evening: a hand-built case,
and the generated company (known payment delays, recurring costs, card noise) where our
forecast must beat the flat and the due-dates-only baselines."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from bench.forecast import CUSTOMER_DELAYS, company
from smbfinance.cashflow import backtest
from smbfinance.cashflow.model import Direction

D = Decimal
TODAY = date(2026, 11, 22)


def history_of_company(made) -> backtest.History:
    names = {c["id"]: c["name"] for c in made.contacts}
    moves = [backtest.HistoryMove(
        m["booking_date"], m["amount"],
        f"iban:{m['counterparty_iban']}" if m["counterparty_iban"]
        else f"name:{m['counterparty_name'].lower()}",
        m["counterparty_name"], m["matched_amount"] == 0) for m in made.moves]
    paid = {p["invoice_id"]: p["paid_on"] for p in made.payments}
    invoices = [backtest.HistoryInvoice(
        i["id"], i["number"], Direction(i["direction"]), i["contact_id"],
        names[i["contact_id"]], i["issue_date"], i["due_date"], i["gross_total_base"],
        paid.get(i["id"])) for i in made.invoices]
    return backtest.history_of(moves, invoices, today=made.today, currency="EUR",
                               balance_today=made.balance)


def test_a_hand_built_replay():
    # given 100 today; a customer paid 50 ten days ago (an invoice due that day), and an
    # invoice of 30 issued 10 days ago, due 5 days ago, still open
    moves = [backtest.HistoryMove(TODAY - timedelta(days=10), D(50), "name:a", "A", False)]
    invoices = [
        backtest.HistoryInvoice("1", "S1", Direction.RECEIVABLE, "a", "A",
                                TODAY - timedelta(days=40), TODAY - timedelta(days=10), D(50),
                                TODAY - timedelta(days=10)),
        backtest.HistoryInvoice("2", "S2", Direction.RECEIVABLE, "a", "A",
                                TODAY - timedelta(days=10), TODAY - timedelta(days=5), D(30),
                                None)]
    history = backtest.history_of(moves, invoices, today=TODAY, currency="EUR",
                                  balance_today=D(100))
    # when the evening 15 days ago is replayed 15 days ahead
    result = backtest.run(history, days=1, horizon_days=15)
    (score,) = result.days
    # then it was 50 then, 100 now; flat says 50; due dates say 50 + 50 (S1, due in
    # the window) = 100; ours: S1 expected on its due date (no history: default delay 0)
    # so 100 as well; S2 was not issued yet
    assert score.day == TODAY - timedelta(days=15)
    assert (score.actual, score.flat, score.due_dates, score.ours) == (D(100), D(50), D(100),
                                                                       D(100))
    assert result.mae("flat") == D("50.00") and result.mae("ours") == D("0.00")
    assert "ours            MAE 0.00" in backtest.report(result, "EUR")


def test_known_inputs_see_only_the_past():
    made = company(TODAY, days=200, noise_per_day=0)
    history = history_of_company(made)
    evening = TODAY - timedelta(days=60)
    inputs = backtest.known_inputs(history, evening, D(0))
    # every open invoice was issued by then, and none was settled by then
    by_id = {i["id"]: i for i in made.invoices}
    paid = {p["invoice_id"]: p["paid_on"] for p in made.payments}
    for invoice in inputs.invoices:
        assert by_id[invoice.id]["issue_date"] <= evening
        assert invoice.id not in paid or paid[invoice.id] > evening
    # and the customers' delays were learnt: Tardy Tom about 50 days late
    tom = next(c["id"] for c in made.contacts if c["name"] == "Tardy Tom NV")
    assert abs(inputs.delays.for_contact(tom).median - CUSTOMER_DELAYS["Tardy Tom NV"]) <= 2
    # and the rent was found as a monthly series
    assert any(flow.label == "Landlord BV" and flow.amount == D("-4000.00")
               for flow in inputs.flows)


def test_our_forecast_beats_both_baselines_on_the_generated_company():
    history = history_of_company(company(TODAY))
    result = backtest.run(history, days=30, horizon_days=30)
    ours, flat, due = (result.mae(name) for name in ("ours", "flat", "due_dates"))
    assert len(result.days) == 30
    assert ours < flat and ours < due, (ours, flat, due)
