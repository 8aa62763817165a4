"""A sync that finishes after its integration was disconnected (another request, while the
provider was being read) writes nothing it read and leaves the integration as disconnecting
left it: no health, schedule or error of its own, no credentials — the run's log says
why. The disconnect runs between the provider read and the closing transaction, by wrapping
the engine's read step; no threads, no sleeps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from smbfinance.db import transaction
from smbfinance.events.models import OutboxEvent
from smbfinance.integrations import disconnect_service, sync
from smbfinance.integrations.models import Integration
from smbfinance.invoices.models import Invoice
from smbfinance.tenancy import tenant_scope
from smbfinance.transactions.models import BankTransaction
from tests.conftest import TenantFixture
from tests.integration import sync_fixtures as fx
from tests.integration.sync_fixtures import *  # noqa: F403  - the fixtures


def disconnect_from_another_request(db_session: Any, tenant: TenantFixture,
                                    integration_id: Any, box: Any,
                                    ponto_settings: Any = None) -> None:
    """The owner's DELETE, on a session of its own (the run's objects stay stale)."""
    other = db_session.session_factory()
    try:
        with tenant_scope(other, tenant.tenant_id):
            disconnect_service.disconnect(session=other, actor=fx.owner(tenant),
                                          integration_id=integration_id, box=box,
                                          ponto_settings=ponto_settings)
    finally:
        other.close()


def disconnect_during(monkeypatch: pytest.MonkeyPatch, step: str, *, before: bool,
                      disconnect: Callable[[], None]) -> None:
    """Disconnect just before (or after) the run's provider read `step`."""
    original = getattr(sync._Run, step)

    def wrapped(self: Any, *args: Any) -> Any:
        if before:
            disconnect()
        result = original(self, *args)
        if not before:
            disconnect()
        return result

    monkeypatch.setattr(sync._Run, step, wrapped)


def count(session: Any, tenant: TenantFixture, what: Any, *where: Any) -> int:
    with tenant_scope(session, tenant.tenant_id), transaction(session):
        return session.execute(select(func.count()).select_from(what).where(*where)
                               ).scalar_one()


def assert_left_as_disconnected(row: Integration, *, synced_before: bool = False) -> None:
    assert (row.status, row.health) == ("disconnected", "disconnected")
    assert row.credentials is None and row.credentials_key_id is None
    assert row.next_sync_at is None and row.backoff_until is None
    assert row.consecutive_failures == 0
    assert (row.last_success_at is not None) is synced_before


def test_a_yuki_run_disconnected_after_its_read_writes_nothing_it_read(
        client, db_session, tenant_a, box, connectors, yuki_sim, monkeypatch):
    # given a connected Yuki integration whose owner disconnects it once Yuki has answered
    integration = fx.connect_yuki(db_session, tenant_a, box)
    disconnect_during(monkeypatch, "_read_yuki", before=False, disconnect=lambda: (
        disconnect_from_another_request(db_session, tenant_a, integration.id, box)))
    # when the run reaches its closing transaction
    outcome = fx.run(db_session, tenant_a, integration, connectors)
    # then the run failed as disconnected, and none of the open items became invoices
    assert (outcome.status, outcome.error_code) == ("failed", "Disconnected")
    assert count(db_session, tenant_a, Invoice) == 0
    assert count(db_session, tenant_a, OutboxEvent,
                 OutboxEvent.type.like("sync.%")) == 0
    (log,) = fx.logs(db_session, tenant_a, integration.id)
    assert (log.status, log.error_code) == ("failed", "Disconnected")
    assert "disconnected during the sync" in log.error and log.finished_at is not None
    assert "invoices_created" not in log.counts and log.calls > 0
    # and the integration is as disconnecting left it; the calls spent still count
    row = fx.integration_row(db_session, tenant_a, integration.id)
    assert_left_as_disconnected(row)
    assert row.last_error_code is None and row.calls_today == log.calls


def test_a_ponto_run_whose_grant_was_revoked_meanwhile_keeps_it_disconnected(
        client, db_session, tenant_a, box, connectors, ponto_sim, ponto_settings, clock,
        monkeypatch):
    # given a Ponto integration disconnected (grant revoked at Ponto) as its run starts reading
    integration = fx.connect_ponto(ponto_sim, ponto_settings, clock, db_session, tenant_a, box)
    disconnect_during(monkeypatch, "_read_ponto", before=True, disconnect=lambda: (
        disconnect_from_another_request(db_session, tenant_a, integration.id, box,
                                        ponto_settings)))
    # when the run's reads are refused by Ponto
    outcome = fx.run(db_session, tenant_a, integration, connectors)
    # then the refusal does not count as a failure of a live integration
    assert outcome.status == "failed"
    (log,) = fx.logs(db_session, tenant_a, integration.id)
    assert (log.status, log.error_code) == ("failed", "Disconnected")
    row = fx.integration_row(db_session, tenant_a, integration.id)
    assert_left_as_disconnected(row)
    assert row.last_error_code is None  # not TokenRevoked: nothing to re-authorize
    assert count(db_session, tenant_a, BankTransaction) == 0


def test_tokens_rotated_during_the_run_are_not_kept_on_the_disconnected_row(
        client, db_session, tenant_a, box, connectors, ponto_sim, ponto_settings, clock,
        monkeypatch):
    # given a Ponto integration that has synced once (its accounts are known)
    integration = fx.connect_ponto(ponto_sim, ponto_settings, clock, db_session, tenant_a, box)
    assert fx.run(db_session, tenant_a, integration, connectors).status == "success"
    transactions_before = fx.transaction_rows(db_session, tenant_a)
    # and, during the next run's first bank synchronization, its owner disconnects it while
    # Ponto's revoke is down (the grant lives on), and the access token then expires
    ponto_sim.faults.add("status", path="revoke", status=503, times=10)
    original, calls = sync._Run._synchronize, []

    def synchronize(self: Any, *args: Any) -> None:
        calls.append(args)
        if len(calls) == 1:
            disconnect_from_another_request(db_session, tenant_a, integration.id, box,
                                            ponto_settings)
        original(self, *args)  # records the bank access: reloads the (disconnected) row
        if len(calls) == 1:
            clock.advance(timedelta(hours=1))

    monkeypatch.setattr(sync._Run, "_synchronize", synchronize)
    clock.advance(timedelta(minutes=16))
    # when the run goes on: the tokens are refreshed (sealed and committed at once), read
    outcome = fx.run(db_session, tenant_a, integration, connectors, trigger="manual",
                     customer_ip="127.0.0.1")
    # then the rotated tokens are forgotten again and nothing read is written
    assert calls and (outcome.status, outcome.error_code) == ("failed", "Disconnected")
    row = fx.integration_row(db_session, tenant_a, integration.id)
    assert_left_as_disconnected(row, synced_before=True)
    assert row.token_expires_at is None
    assert row.last_error_code == "RevokeFailed"  # the disconnect's own note is kept
    assert fx.transaction_rows(db_session, tenant_a) == transactions_before
    # and the bank access the run made still counts against the account's day
    assert row.bank_syncs_today
