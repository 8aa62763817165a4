"""Cash flow through the REST door: position in base currency, daily history, forecast with
its band and reasons, recurring series decisions, planned items, scenarios that never touch
real data, KPIs, low-cash alerts raised once and cleared; another tenant's ids answered
exactly as unknown ids on every route, and lists that never leak."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from smbfinance.cashflow import service as cashflow
from smbfinance.tenancy import tenant_scope
from tests.conftest import TenantFixture
from tests.invoicing import create_contact, create_invoice, ecb_xml, error_fields, today

API = "/api/v1/cashflow"


def add_account(client: FlaskClient, db_session: Any, tenant: TenantFixture, balance: str,
                currency: str = "EUR", name: str = "Main") -> str:
    response = client.post("/api/v1/bank-accounts", headers=tenant.headers, json={
        "account_number": f"cash-{uuid.uuid4().hex[:8]}", "currency": currency, "name": name})
    assert response.status_code == 201, response.get_json()
    account_id = response.get_json()["id"]
    with tenant_scope(db_session, tenant.tenant_id) as session:
        session.execute(text("UPDATE bank_accounts SET current_balance = :b, balance_date = "
                             ":d, synchronized_at = now() WHERE id = :id"),
                        {"b": balance, "d": today(), "id": account_id})
        session.commit()
    return str(account_id)


def book(client: FlaskClient, tenant: TenantFixture, account_id: str, amount: str,
         days_ago: int, name: str) -> None:
    response = client.post("/api/v1/transactions", headers=tenant.headers, json={
        "bank_account_id": account_id, "amount": amount, "counterparty_name": name,
        "booking_date": (today() - timedelta(days=days_ago)).isoformat()})
    assert response.status_code == 201, response.get_json()


def open_receivable(client: FlaskClient, tenant: TenantFixture, due_in: int,
                    price: str = "1000.00") -> dict[str, Any]:
    contact = create_contact(client, tenant, "Client NV")
    due = today() + timedelta(days=due_in)
    invoice = create_invoice(client, tenant, contact["id"], due_date=due.isoformat(),
                             issue_date=min(due, today()).isoformat(),
                             lines=[{"description": "Work", "quantity": "1",
                                     "unit_price": price, "vat_rate": "0",
                                     "vat_category": "Z"}])
    response = client.post(f"/api/v1/invoices/{invoice['id']}/open", headers=tenant.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def forecast(client: FlaskClient, tenant: TenantFixture, **query: Any) -> dict[str, Any]:
    response = client.get(f"{API}/forecast", headers=tenant.headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def final(body: dict[str, Any]) -> Decimal:
    return Decimal(body["buckets"][-1]["closing"])


def test_position_converts_each_account_at_the_days_rate(client, db_session, tenant_a):
    # given 1,000 EUR and 110 USD, with 1 EUR = 1.10 USD imported for the last days
    rates = {(today() - timedelta(days=n)).isoformat(): {"USD": "1.10"} for n in range(3)}
    response = client.post("/api/v1/exchange-rates/import", headers=tenant_a.headers,
                           content_type="multipart/form-data",
                           data={"file": (io.BytesIO(ecb_xml(rates)), "rates.xml")})
    assert response.status_code == 200, response.get_json()
    add_account(client, db_session, tenant_a, "1000.00")
    add_account(client, db_session, tenant_a, "110.00", currency="USD", name="Dollars")
    # when the position is read
    body = client.get(f"{API}/position", headers=tenant_a.headers).get_json()
    # then 1,000 + 100 EUR, per account, with the oldest synchronisation
    assert (body["total"], body["currency"]) == ("1100.00", "EUR")
    assert sorted(a["balance_base"] for a in body["accounts"]) == ["100.00", "1000.00"]
    assert body["oldest_synchronized_at"] is not None and body["warnings"] == []


def test_an_account_without_a_rate_is_left_out_and_said(client, db_session, tenant_a):
    add_account(client, db_session, tenant_a, "50.00")
    add_account(client, db_session, tenant_a, "10.00", currency="CHF")
    body = client.get(f"{API}/position", headers=tenant_a.headers).get_json()
    assert body["total"] == "50.00"
    assert "no CHF rate" in body["warnings"][0]


def test_history_is_rebuilt_from_transactions(client, db_session, tenant_a):
    # given 500 today after +100 two days ago and −40 yesterday
    account = add_account(client, db_session, tenant_a, "500.00")
    book(client, tenant_a, account, "100.00", 2, "In")
    book(client, tenant_a, account, "-40.00", 1, "Out")
    # when the snapshots of the last 3 days are rebuilt (what the worker does after imports)
    with tenant_scope(db_session, tenant_a.tenant_id) as session:
        written = cashflow.rebuild_positions(session=session, tenant_id=tenant_a.tenant_id,
                                             start=today() - timedelta(days=3))
        session.commit()
    assert written == 4
    body = client.get(f"{API}/positions", headers=tenant_a.headers,
                      query_string={"from": (today() - timedelta(days=3)).isoformat()}).get_json()
    # then end-of-day balances walk back: 440, 540, 500, 500
    assert [p["total"] for p in body["data"]] == ["440.00", "540.00", "500.00", "500.00"]
    by_month = client.get(f"{API}/positions", headers=tenant_a.headers,
                          query_string={"granularity": "month"}).get_json()["data"]
    assert by_month[-1]["total"] == "500.00"
    bad = client.get(f"{API}/positions", headers=tenant_a.headers,
                     query_string={"from": today().isoformat(),
                                   "to": (today() - timedelta(days=1)).isoformat()})
    assert bad.status_code == 422 and "from" in error_fields(bad)
    far = client.get(f"{API}/positions", headers=tenant_a.headers,
                     query_string={"to": "0001-01-01"})
    assert far.status_code == 422 and "to" in error_fields(far)


def test_forecast_lists_items_with_reasons_and_a_band(client, db_session, tenant_a):
    # given 1,000 in the bank, 1,000 owed to us in 10 days (no history: P90 a month late)
    add_account(client, db_session, tenant_a, "1000.00")
    invoice = open_receivable(client, tenant_a, 10)
    planned = client.post(f"{API}/planned-items", headers=tenant_a.headers, json={
        "label": "Van", "amount": "-300.00",
        "date": (today() + timedelta(days=3)).isoformat()})
    assert planned.status_code == 201, planned.get_json()
    # when forecast over 30 days by day
    body = forecast(client, tenant_a, horizon_days=30, granularity="day")
    # then 1,000 − 300 + 1,000 at the end; the P10 never gets the invoice (due + 30 days)
    assert len(body["buckets"]) == 30 and final(body) == Decimal("1700.00")
    assert Decimal(body["buckets"][-1]["low"]) == Decimal("700.00")
    items = [item for bucket in body["buckets"] for item in bucket["items"]]
    assert {item["source"] for item in items} == {f"invoice:{invoice['id']}",
                                                  f"planned:{planned.get_json()['id']}"}
    assert any("no payment history" in item["reason"] for item in items)
    # and the default horizon is the tenant's 90 days, by week
    assert forecast(client, tenant_a)["horizon_days"] == 90


@pytest.mark.parametrize("query", [{"horizon_days": 0}, {"horizon_days": 9999},
                                   {"granularity": "year"}, {"scenario_id": "nope"},
                                   {"horizon": 5}])
def test_bad_forecast_queries_are_refused(client, tenant_a, query):
    response = client.get(f"{API}/forecast", headers=tenant_a.headers, query_string=query)
    assert response.status_code == 422


def test_recurring_series_detected_then_dismissed_or_confirmed(client, db_session, tenant_a):
    # given rent of 1,500 paid monthly for 6 months
    account = add_account(client, db_session, tenant_a, "10000.00")
    for month in range(6):
        book(client, tenant_a, account, "-1500.00", 10 + 30 * month, "Landlord BV")
    series = client.get(f"{API}/recurring", headers=tenant_a.headers).get_json()["data"]
    (rent,) = [s for s in series if s["label"] == "Landlord BV"]
    assert (rent["status"], rent["period"], rent["amount"]) == ("detected", "monthly",
                                                                "-1500.00")
    with_rent = final(forecast(client, tenant_a, horizon_days=60))
    # when dismissed, the forecast drops it
    response = client.patch(f"{API}/recurring/{rent['id']}", headers=tenant_a.headers,
                            json={"status": "dismissed"})
    assert response.status_code == 200 and response.get_json()["status"] == "dismissed"
    without = final(forecast(client, tenant_a, horizon_days=60))
    assert without == Decimal("10000.00") and with_rent < without
    # and confirmed at 1,600 it uses the person's amount
    response = client.patch(f"{API}/recurring/{rent['id']}", headers=tenant_a.headers,
                            json={"status": "confirmed", "amount": "-1600.00"})
    assert response.get_json()["amount"] == "-1600.00"
    assert response.get_json()["status"] == "confirmed"
    items = [i for b in forecast(client, tenant_a, horizon_days=60)["buckets"]
             for i in b["items"] if i["source"] == rent["source"]]
    assert items and {i["amount"] for i in items} == {"-1600.00"}
    stale = client.patch(f"{API}/recurring/{rent['id']}", headers={
        **tenant_a.headers, "If-Match": '"1"'}, json={"status": "dismissed"})
    assert stale.status_code == 412
    bad = client.patch(f"{API}/recurring/{rent['id']}", headers=tenant_a.headers,
                       json={"status": "confirmed", "amount": "1.234"})
    assert bad.status_code == 422 and "amount" in error_fields(bad)


def test_planned_items_crud_with_etag(client, tenant_a):
    created = client.post(f"{API}/planned-items", headers=tenant_a.headers, json={
        "label": "Insurance", "amount": "-120.00", "date": today().isoformat(),
        "period": "monthly", "end_date": (today() + timedelta(days=100)).isoformat()})
    assert created.status_code == 201
    item = created.get_json()
    url = f"{API}/planned-items/{item['id']}"
    changed = client.patch(url, headers={**tenant_a.headers, "If-Match": created.headers["ETag"]},
                           json={"amount": "-130.00"})
    assert changed.status_code == 200 and changed.get_json()["amount"] == "-130.00"
    stale = client.patch(url, headers={**tenant_a.headers, "If-Match": created.headers["ETag"]},
                         json={"amount": "-1.00"})
    assert stale.status_code == 412
    for body, field in (({"label": "x", "amount": "0", "date": "2026-01-01"}, "amount"),
                        ({"label": "x", "amount": "1.001", "date": "2026-01-01"}, "amount"),
                        ({"label": "x", "amount": "1", "date": "2026-01-01",
                          "end_date": "2026-02-01"}, "end_date"),
                        ({"label": "x", "amount": "1", "date": "2026-01-01",
                          "currency": "XXY"}, "currency"),
                        ({"label": "x", "amount": "1", "date": "0001-01-01",
                          "period": "weekly"}, "date"),
                        ({"label": "x", "amount": "1", "date": "2026-01-01",
                          "period": "monthly", "end_date": "9999-12-31"}, "end_date")):
        response = client.post(f"{API}/planned-items", headers=tenant_a.headers, json=body)
        assert response.status_code == 422 and field in error_fields(response), body
    assert client.delete(url, headers=tenant_a.headers).status_code == 204
    assert client.get(url, headers=tenant_a.headers).status_code == 404
    assert client.get(f"{API}/planned-items", headers=tenant_a.headers).get_json()["data"] == []


def test_a_scenario_changes_the_forecast_and_nothing_else(client, db_session, tenant_a):
    # given 1,000 in the bank and 1,000 owed to us in 10 days
    add_account(client, db_session, tenant_a, "1000.00")
    invoice = open_receivable(client, tenant_a, 10)
    before_invoice = client.get(f"/api/v1/invoices/{invoice['id']}",
                                headers=tenant_a.headers).get_json()
    real = forecast(client, tenant_a, horizon_days=30)
    # when a scenario delays it 60 days and adds a 2,500 expense
    response = client.post(f"{API}/scenarios", headers=tenant_a.headers, json={
        "name": "Bad month", "adjustments": [
            {"type": "delay_invoice", "invoice_id": invoice["id"], "days": 60},
            {"type": "add_item", "label": "Repair", "amount": "-2500.00",
             "date": (today() + timedelta(days=5)).isoformat()}]})
    assert response.status_code == 201, response.get_json()
    scenario = response.get_json()
    what_if = forecast(client, tenant_a, horizon_days=30, scenario_id=scenario["id"])
    # then its forecast is 1,000 − 2,500; the real one and the invoice are unchanged
    assert final(what_if) == Decimal("-1500.00") and final(real) == Decimal("2000.00")
    assert forecast(client, tenant_a, horizon_days=30) == real
    after_invoice = client.get(f"/api/v1/invoices/{invoice['id']}",
                               headers=tenant_a.headers).get_json()
    assert after_invoice == before_invoice
    # and a bad adjustment is refused naming it
    bad = client.patch(f"{API}/scenarios/{scenario['id']}", headers=tenant_a.headers,
                       json={"adjustments": [{"type": "delay_invoice", "days": 3}]})
    assert bad.status_code == 422 and "adjustments.0.invoice_id" in error_fields(bad)
    listed = client.get(f"{API}/scenarios", headers=tenant_a.headers).get_json()["data"]
    assert [s["id"] for s in listed] == [scenario["id"]]
    assert client.delete(f"{API}/scenarios/{scenario['id']}",
                         headers=tenant_a.headers).status_code == 204
    gone = client.get(f"{API}/forecast", headers=tenant_a.headers,
                      query_string={"scenario_id": scenario["id"]})
    assert gone.status_code == 404


def test_kpis(client, db_session, tenant_a):
    add_account(client, db_session, tenant_a, "500.00")
    open_receivable(client, tenant_a, -10, price="300.00")
    body = client.get(f"{API}/kpis", headers=tenant_a.headers).get_json()
    assert body["currency"] == "EUR" and body["threshold"] == "0.00"
    assert body["receivable_by_urgency"]["overdue"] == "300.00"
    assert [d["outstanding"] for d in body["largest_debtors"]] == ["300.00"]
    assert body["dso_days"] == "90.0"  # all invoiced in the window is still owed
    assert body["runway"]["below_zero"] is None


def test_low_cash_alert_raised_once_then_cleared(client, db_session, tenant_a):
    # given a threshold of 1,000 and 1,200 in the bank with 500 planned out in 5 days
    response = client.patch("/api/v1/tenant", headers=tenant_a.headers,
                            json={"settings": {"low_cash_threshold": "1000.00"}})
    assert response.status_code == 200, response.get_json()
    add_account(client, db_session, tenant_a, "1200.00")
    client.post(f"{API}/planned-items", headers=tenant_a.headers, json={
        "label": "Tax", "amount": "-500.00", "date": (today() + timedelta(days=5)).isoformat()})

    def recompute() -> dict[str, str]:
        with tenant_scope(db_session, tenant_a.tenant_id) as session:
            outcome = cashflow.recompute_alerts(session=session, tenant_id=tenant_a.tenant_id)
            session.commit()
        return outcome

    # when recomputed twice
    assert recompute() == {"expected": "raised", "p10": "raised"}
    assert recompute() == {"expected": "unchanged", "p10": "unchanged"}
    alerts = client.get("/api/v1/alerts", headers=tenant_a.headers).get_json()["data"]
    # then one alert per line, with the day and the balance
    assert len(alerts) == 2
    expected = next(a for a in alerts if a["line"] == "expected")
    assert expected["crossing_date"] == (today() + timedelta(days=5)).isoformat()
    assert (expected["balance"], expected["status"]) == ("700.00", "open")
    # and one cashflow.low_balance_forecast event per raise, carrying the alert
    with tenant_scope(db_session, tenant_a.tenant_id) as session:
        events = session.execute(text(
            "SELECT data->>'line', data->>'crossing_date' FROM outbox_events "
            "WHERE type = 'cashflow.low_balance_forecast' ORDER BY data->>'line'")).all()
        session.rollback()
    assert [tuple(e) for e in events] == [
        ("expected", expected["crossing_date"]),
        ("p10", next(a for a in alerts if a["line"] == "p10")["crossing_date"])]
    ack = client.post(f"/api/v1/alerts/{expected['id']}/acknowledge", headers=tenant_a.headers)
    assert ack.get_json()["status"] == "acknowledged"
    resolved = client.post(f"/api/v1/alerts/{expected['id']}/resolve",
                           headers=tenant_a.headers)
    assert resolved.get_json()["status"] == "resolved"
    assert recompute()["expected"] == "unchanged"  # resolved by hand: not raised again
    # and when money comes in, the forecast recovers and the alerts clear
    client.post(f"{API}/planned-items", headers=tenant_a.headers, json={
        "label": "Loan", "amount": "1000.00", "date": today().isoformat()})
    assert recompute() == {"expected": "cleared", "p10": "cleared"}
    statuses = {a["line"]: a["status"] for a in client.get(
        "/api/v1/alerts", headers=tenant_a.headers).get_json()["data"]}
    assert statuses == {"expected": "resolved", "p10": "cleared"}
    assert recompute() == {"expected": "ok", "p10": "ok"}


def test_a_viewer_reads_but_cannot_write(client, tenant_a):
    from tests.invoicing import add_member

    viewer = add_member(client, tenant_a, "viewer")
    assert client.get(f"{API}/forecast", headers=viewer.headers).status_code == 200
    response = client.post(f"{API}/scenarios", headers=viewer.headers, json={"name": "x"})
    assert response.status_code == 403


def test_another_tenants_ids_are_unknown_and_lists_never_leak(client, db_session, tenant_a,
                                                              tenant_b):
    # given tenant A with money, an invoice, rent history, a planned item, a scenario, alerts
    account = add_account(client, db_session, tenant_a, "100.00")
    invoice = open_receivable(client, tenant_a, 3)
    for month in range(4):
        book(client, tenant_a, account, "-50.00", 5 + 30 * month, "Landlord BV")
    planned = client.post(f"{API}/planned-items", headers=tenant_a.headers, json={
        "label": "X", "amount": "-500.00", "date": today().isoformat()}).get_json()
    scenario = client.post(f"{API}/scenarios", headers=tenant_a.headers, json={
        "name": "A", "adjustments": [{"type": "remove_item",
                                      "source": f"invoice:{invoice['id']}"}]}).get_json()
    with tenant_scope(db_session, tenant_a.tenant_id) as session:
        cashflow.recompute_alerts(session=session, tenant_id=tenant_a.tenant_id)
        session.commit()
    alert = client.get("/api/v1/alerts", headers=tenant_a.headers).get_json()["data"][0]
    (series,) = client.get(f"{API}/recurring", headers=tenant_a.headers).get_json()["data"]
    # when tenant B reaches for each of them
    b = tenant_b.headers
    for method, url, body in (
            ("get", f"{API}/planned-items/{planned['id']}", None),
            ("patch", f"{API}/planned-items/{planned['id']}", {"label": "mine"}),
            ("delete", f"{API}/planned-items/{planned['id']}", None),
            ("get", f"{API}/scenarios/{scenario['id']}", None),
            ("patch", f"{API}/scenarios/{scenario['id']}", {"name": "mine"}),
            ("delete", f"{API}/scenarios/{scenario['id']}", None),
            ("get", f"{API}/forecast?scenario_id={scenario['id']}", None),
            ("patch", f"{API}/recurring/{series['id']}", {"status": "dismissed"}),
            ("get", f"/api/v1/alerts/{alert['id']}", None),
            ("post", f"/api/v1/alerts/{alert['id']}/acknowledge", None),
            ("post", f"/api/v1/alerts/{alert['id']}/resolve", None)):
        response = getattr(client, method)(url, headers=b, json=body)
        # then each answers as an unknown id would
        assert response.status_code == 404, (method, url, response.get_json())
    # and B's lists and figures hold nothing of A's
    assert client.get(f"{API}/position", headers=b).get_json()["total"] == "0.00"
    assert client.get(f"{API}/planned-items", headers=b).get_json()["data"] == []
    assert client.get(f"{API}/scenarios", headers=b).get_json()["data"] == []
    assert client.get(f"{API}/recurring", headers=b).get_json()["data"] == []
    assert client.get("/api/v1/alerts", headers=b).get_json()["data"] == []
    assert client.get(f"{API}/positions", headers=b).get_json()["data"] == []
    b_forecast = forecast(client, tenant_b)
    assert all(bucket["items"] == [] for bucket in b_forecast["buckets"])
    kpis = client.get(f"{API}/kpis", headers=b).get_json()
    assert kpis["largest_debtors"] == [] and kpis["dso_days"] is None
    # and A's things are intact
    assert client.get(f"{API}/planned-items/{planned['id']}",
                      headers=tenant_a.headers).status_code == 200


def test_every_route_needs_a_token(client):
    for url in ("position", "positions", "forecast", "recurring", "planned-items",
                "scenarios", "kpis"):
        assert client.get(f"{API}/{url}").status_code == 401
    assert client.get("/api/v1/alerts").status_code == 401


def test_forecasts_read_todays_stored_detection_until_the_next_refresh(client, db_session,
                                                                     tenant_a):
    # given rent detected and stored by the refresh step
    account = add_account(client, db_session, tenant_a, "10000.00")
    for month in range(5):
        book(client, tenant_a, account, "-1500.00", 10 + 30 * month, "Landlord BV")
    with tenant_scope(db_session, tenant_a.tenant_id) as session:
        assert cashflow.refresh_detection(session=session, tenant_id=tenant_a.tenant_id) == 1
        session.commit()
    # when a new monthly cost appears in the bank
    for month in range(5):
        book(client, tenant_a, account, "-99.00", 3 + 30 * month, "Gym NV")

    def labels() -> list[str]:
        body = client.get(f"{API}/recurring", headers=tenant_a.headers).get_json()
        return sorted(s["label"] for s in body["data"])

    # then reads use the stored detection (one heavy grouping per refresh, not per request)
    assert labels() == ["Landlord BV"]
    # and the next refresh (after an import, or daily) sees it
    with tenant_scope(db_session, tenant_a.tenant_id) as session:
        assert cashflow.refresh_detection(session=session, tenant_id=tenant_a.tenant_id) == 2
        session.commit()
    assert labels() == ["Gym NV", "Landlord BV"]


@pytest.mark.parametrize(("path", "body"), [
    ("planned-items", {"label": "Van", "amount": "-300.00", "date": "2031-03-01"}),
    ("scenarios", {"name": "Quiet month", "adjustments": []}),
], ids=["planned-item", "scenario"])
def test_a_retried_create_with_an_idempotency_key_replays_the_first(client, tenant_a, tenant_b,
                                                                   path, body):
    # given a create sent with an Idempotency-Key
    headers = {**tenant_a.headers, "Idempotency-Key": f"{path}-1"}
    first = client.post(f"{API}/{path}", headers=headers, json=body)
    assert first.status_code == 201, first.get_json()
    # when it is retried with the same key
    again = client.post(f"{API}/{path}", headers=headers, json=body)
    # then the first response comes back and one object exists
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    listed = client.get(f"{API}/{path}", headers=tenant_a.headers).get_json()["data"]
    assert [item["id"] for item in listed] == [first.get_json()["id"]]
    # and the same key in another company is its own request
    other = client.post(f"{API}/{path}", headers={**tenant_b.headers,
                                                  "Idempotency-Key": f"{path}-1"}, json=body)
    assert other.status_code == 201 and "Idempotent-Replayed" not in other.headers
