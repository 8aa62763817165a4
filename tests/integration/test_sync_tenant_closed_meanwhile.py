"""Closing a company pauses its integrations (status `disconnected`, credentials kept) and
reopening it resumes them. A sync that ends after the company was closed under it writes
nothing it read but keeps the credentials, unlike a user's disconnect, so the reopened
company's integration syncs again. The closing runs between the provider read and the
run's closing transaction, by wrapping the engine's read step; no threads, no sleeps."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from smbfinance.db import transaction
from smbfinance.integrations.models import Integration
from smbfinance.invoices.models import Invoice
from smbfinance.tenancy import tenant_scope
from smbfinance.tenant_deletion import service as deletion
from tests.conftest import TenantFixture
from tests.integration import sync_fixtures as fx
from tests.integration.sync_fixtures import *  # noqa: F403  - the fixtures
from tests.integration.test_sync_disconnected_meanwhile import (
    count,
    disconnect_during,
    disconnect_from_another_request,
)

NAME = "Alpha Bakery"


def close_from_another_request(db_session: Any, tenant: TenantFixture) -> None:
    """The owner's two deletion steps, on a session of their own."""
    other = db_session.session_factory()
    try:
        with tenant_scope(other, tenant.tenant_id):
            asked = deletion.request_deletion(session=other, actor=fx.owner(tenant),
                                              password=tenant.password, confirm_name=NAME)
            deletion.confirm_deletion(session=other, actor=fx.owner(tenant),
                                      token=asked.token)
    finally:
        other.close()


def reopen(db_session: Any, tenant: TenantFixture) -> None:
    deletion.reopen(session=db_session, tenant_id=tenant.tenant_id, email=tenant.email,
                    password=tenant.password)


def test_a_yuki_run_that_ends_after_the_company_closed_keeps_the_credentials(
        client, db_session, tenant_a, box, connectors, yuki_sim, clock, monkeypatch):
    # given a connected Yuki integration whose company is closed once Yuki has answered
    integration = fx.connect_yuki(db_session, tenant_a, box)
    integration_id = integration.id  # the service's commits expire the object
    sealed = fx.integration_row(db_session, tenant_a, integration_id).credentials
    with monkeypatch.context() as patch:
        disconnect_during(patch, "_read_yuki", before=False,
                          disconnect=lambda: close_from_another_request(db_session, tenant_a))
        # when the run reaches its closing transaction
        outcome = fx.run(db_session, tenant_a, integration, connectors)
    # then nothing it read is written and the log says the company was closed
    assert (outcome.status, outcome.error_code) == ("failed", "Disconnected")
    assert count(db_session, tenant_a, Invoice) == 0
    (log,) = fx.logs(db_session, tenant_a, integration_id)
    assert (log.status, log.error_code) == ("failed", "Disconnected")
    assert "company was closed" in log.error
    # and the integration is paused with its credentials, not disconnected by a user
    row = fx.integration_row(db_session, tenant_a, integration_id)
    assert (row.status, row.next_sync_at, row.disconnected_at) == ("disconnected", None, None)
    assert row.credentials == sealed and row.credentials_key_id is not None
    # when the owner reopens the company
    clock.advance(timedelta(minutes=5))
    reopen(db_session, tenant_a)
    # then the integration is connected again, with its credentials, and due
    row = fx.integration_row(db_session, tenant_a, integration_id)
    assert row.status == "connected" and row.credentials == sealed
    assert row.next_sync_at is not None and row.last_error_code is None
    # and its next run reads Yuki and writes the invoices
    again = fx.run(db_session, tenant_a, row, connectors, trigger="manual")
    assert again.status == "success", again
    assert again.counts["invoices_created"] == count(db_session, tenant_a, Invoice) > 0


def test_closing_pauses_integrations_and_reopening_resumes_them(
        client, db_session, tenant_a, box, connectors, yuki_sim, ponto_sim, ponto_settings,
        clock):
    # given a connected Yuki and Ponto integration, and a Yuki one the owner disconnected
    yuki = fx.connect_yuki(db_session, tenant_a, box)
    bank = fx.connect_ponto(ponto_sim, ponto_settings, clock, db_session, tenant_a, box)
    gone = fx.connect_yuki(db_session, tenant_a, box, company="other").id
    disconnect_from_another_request(db_session, tenant_a, gone, box)
    paused = (yuki.id, bank.id)  # the service's commits expire the objects
    sealed = {i: fx.integration_row(db_session, tenant_a, i).credentials for i in paused}
    # when the company is closed
    close_from_another_request(db_session, tenant_a)
    # then both connected ones are paused: disconnected, unscheduled, credentials kept
    for integration_id in paused:
        row = fx.integration_row(db_session, tenant_a, integration_id)
        assert (row.status, row.next_sync_at) == ("disconnected", None)
        assert row.credentials == sealed[integration_id]
    # when the owner reopens it
    reopen(db_session, tenant_a)
    # then the paused ones are connected and due again, with the same credentials
    for integration_id in paused:
        row = fx.integration_row(db_session, tenant_a, integration_id)
        assert row.status == "connected" and row.next_sync_at is not None
        assert row.credentials == sealed[integration_id]
    # and the one its owner disconnected stays disconnected
    row = fx.integration_row(db_session, tenant_a, gone)
    assert (row.status, row.credentials) == ("disconnected", None)


def test_a_paused_integration_that_lost_its_credentials_stays_disconnected_on_reopen(
        client, db_session, tenant_a, box, connectors, yuki_sim):
    # given a closed company whose paused integration lost its credentials (as a sync
    # ending during the closing did before this was fixed)
    integration_id = fx.connect_yuki(db_session, tenant_a, box).id
    close_from_another_request(db_session, tenant_a)
    with tenant_scope(db_session, tenant_a.tenant_id), transaction(db_session):
        db_session.execute(update(Integration).where(Integration.id == integration_id)
                           .values(credentials=None, credentials_key_id=None))
    # when the owner reopens the company
    reopen(db_session, tenant_a)
    # then it is not connected without credentials: it waits to be connected again
    row = fx.integration_row(db_session, tenant_a, integration_id)
    assert (row.status, row.health, row.next_sync_at) == ("disconnected", "disconnected",
                                                          None)
    assert row.last_error_code == deletion.CREDENTIALS_LOST
    assert "connect it again" in row.last_error
