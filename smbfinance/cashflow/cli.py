"""`smbfinance forecast ...`: the backtest from the command line."""

from __future__ import annotations

import uuid

import click

from smbfinance.cashflow import backtest
from smbfinance.cashflow.backtest_service import load_history


@click.group(help="Cash-flow forecast tools.")
def forecast() -> None:
    pass


@forecast.command("backtest", help="Replay history: for each of the last DAYS evenings whose "
                                   "horizon has passed, forecast with only what was known "
                                   "then and print the mean absolute error of the balance "
                                   "HORIZON days ahead, for ours and two baselines.")
@click.option("--tenant", "tenant_id", type=click.UUID, required=True)
@click.option("--days", type=click.IntRange(1, 365), default=30, show_default=True)
@click.option("--horizon", "horizon_days", type=click.IntRange(1, 365), default=30,
              show_default=True)
def backtest_command(tenant_id: uuid.UUID, days: int, horizon_days: int) -> None:
    from smbfinance import create_app
    from smbfinance.auth.models import Tenant
    from smbfinance.extensions import db
    from smbfinance.tenancy import tenant_scope

    app = create_app()
    with app.app_context(), tenant_scope(db.session, tenant_id) as session:
        if session.get(Tenant, tenant_id) is None:
            raise click.ClickException(f"no tenant {tenant_id}: see GET /api/v1/me for yours")
        session.rollback()
        history = load_history(session=session, tenant_id=tenant_id, days=days,
                               horizon_days=horizon_days)
        result = backtest.run(history, days=days, horizon_days=horizon_days)
    click.echo(backtest.report(result, history.currency))
