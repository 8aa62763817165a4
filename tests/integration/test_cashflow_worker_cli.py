"""Cash flow in the background and from the shell: the tenant-scoped refresh task (snapshots
and alerts, raised once), the tick's due check finding stale tenants, and
`smbfinance forecast backtest` on a generated company beating both baselines."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

from bench.forecast import company, insert_company
from smbfinance.cashflow.tasks import refresh, stale_tenants
from smbfinance.db import utcnow
from smbfinance.extensions import db
from smbfinance.tenancy import tenant_scope
from tests.conftest import ROOT, make_app, register_tenant
from tests.invoicing import today


@pytest.fixture()
def app(infrastructure):
    made = make_app(infrastructure)
    yield made
    with made.app_context():
        db.engine.dispose()


def _cli(infra, *args):
    env = {**os.environ, **infra.env(), "SMBFINANCE_ENV": "testing", "LOG_LEVEL": "WARNING"}
    return subprocess.run([sys.executable, "-m", "smbfinance.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_refresh_rebuilds_snapshots_and_raises_alerts_once(app):
    # given a company with 800 in the bank, a threshold of 1,000 (so already below)
    client = app.test_client()
    tenant = register_tenant(client, "Refresh BV")
    assert client.patch("/api/v1/tenant", headers=tenant.headers, json={
        "settings": {"low_cash_threshold": "1000.00"}}).status_code == 200
    account = client.post("/api/v1/bank-accounts", headers=tenant.headers, json={
        "account_number": "till-1", "currency": "EUR"}).get_json()
    with app.app_context(), tenant_scope(db.session, tenant.tenant_id) as session:
        session.execute(text("UPDATE bank_accounts SET current_balance = 800 WHERE id = :id"),
                        {"id": account["id"]})
        session.commit()
    with app.app_context():
        # then the tick sees it as stale: no snapshot today
        assert tenant.tenant_id in stale_tenants(utcnow())
        # when the refresh task runs twice
        first = refresh.apply(kwargs={"tenant_id": str(tenant.tenant_id)}, throw=True).get()
        second = refresh.apply(kwargs={"tenant_id": str(tenant.tenant_id)}, throw=True).get()
        # then a week of snapshots is written and each line raises one alert
        assert first == {"expected": "raised", "p10": "raised", "snapshots": "8"}
        assert second == {"expected": "unchanged", "p10": "unchanged", "snapshots": "8"}
        assert tenant.tenant_id not in stale_tenants(utcnow())
    alerts = client.get("/api/v1/alerts", headers=tenant.headers).get_json()["data"]
    assert sorted(a["line"] for a in alerts) == ["expected", "p10"]
    assert {a["crossing_date"] for a in alerts} == {today().isoformat()}
    history = client.get("/api/v1/cashflow/positions", headers=tenant.headers).get_json()
    assert history["data"][-1] == {"day": today().isoformat(), "currency": "EUR",
                                   "total": "800.00"}


def test_the_refresh_task_needs_a_tenant(app):
    with app.app_context(), pytest.raises(TypeError):
        refresh.apply(kwargs={}, throw=True)


def test_backtest_cli_beats_both_baselines_on_a_generated_company(app, infrastructure):
    # given a generated company (known delays, recurring costs) stored for real
    tenant = register_tenant(app.test_client(), "Backtest BV")
    made = company(today())
    with app.app_context(), tenant_scope(db.session, tenant.tenant_id) as session:
        insert_company(session, made)
        session.commit()
    # when the backtest runs from the shell
    result = _cli(infrastructure, "forecast", "backtest", "--tenant", str(tenant.tenant_id),
                  "--days", "30")
    # then it prints the three errors and ours is the smallest
    assert result.returncode == 0, result.stderr
    found = dict(re.findall(r"^\s+(ours|flat|due dates only)\s+MAE (\S+)$", result.stdout,
                            re.MULTILINE))
    assert set(found) == {"ours", "flat", "due dates only"}, result.stdout
    ours, flat, due = (Decimal(found[k]) for k in ("ours", "flat", "due dates only"))
    assert ours < flat and ours < due, result.stdout
    assert "Backtest: 30 days, balance 30 days ahead (EUR)" in result.stdout


def test_backtest_cli_refuses_an_unknown_tenant(infrastructure):
    result = _cli(infrastructure, "forecast", "backtest", "--tenant", str(uuid.uuid4()))
    assert result.returncode != 0 and "no tenant" in result.stderr
