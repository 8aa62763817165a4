"""The sync of one Ponto integration over loopback against the simulator: accounts,
balances, booked and pending transactions written once; a repeated run changes nothing;
pending movements booked later under a new id replace, never add; every fault ends in a
clear sync-log state with nothing lost or duplicated; one sync at a time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from smbfinance.db import transaction
from smbfinance.integrations import sync
from smbfinance.integrations.models import Integration
from smbfinance.tenancy import tenant_scope
from smbfinance.transactions.models import BankAccount, BankTransaction
from tests.integration import sync_fixtures as fx
from tests.integration.sync_fixtures import *  # noqa: F403  - the fixtures


@pytest.fixture
def connected(ponto_sim, ponto_settings, clock, db_session, tenant_a, box):
    return fx.connect_ponto(ponto_sim, ponto_settings, clock, db_session, tenant_a, box)


def test_a_first_sync_writes_accounts_and_transactions_and_a_second_changes_nothing(
        client, db_session, tenant_a, connected, connectors):
    # given a connected Ponto integration of a company with two accounts
    # when it syncs
    first = fx.run(db_session, tenant_a, connected, connectors)
    # then both accounts exist with their balance and freshness, transactions are written
    assert first.status == "success", first
    assert fx.count(db_session, tenant_a, BankAccount) == 2
    written = fx.transaction_rows(db_session, tenant_a)
    assert written and first.counts["transactions_created"] == len(written)
    row = fx.integration_row(db_session, tenant_a, connected.id)
    assert row.health == "ok" and row.last_success_at is not None
    assert row.consent_expires_at is not None and row.next_sync_at > row.last_success_at
    assert set(row.cursors["accounts"]) and all(
        c["cursor"] for c in row.cursors["accounts"].values())
    # when it syncs again with nothing new at Ponto (and no bank access left to spend)
    second = fx.run(db_session, tenant_a, connected, connectors, trigger="webhook")
    # then nothing changed: same rows, same versions
    assert second.status == "success"
    assert second.counts["transactions_created"] == 0
    assert second.counts["transactions_updated"] == 0
    assert fx.transaction_rows(db_session, tenant_a) == written
    assert [entry.status for entry in fx.logs(db_session, tenant_a, connected.id)] == [
        "success", "success"]


def test_pending_movements_booked_under_a_new_id_replace_never_add(
        client, db_session, tenant_a, connected, connectors, clock):
    # given a first sync, and a day later the pending movements booked under new ids
    fx.run(db_session, tenant_a, connected, connectors)
    pending_before = {r[0] for r in fx.transaction_rows(db_session, tenant_a)
                      if r[1] == "pending"}
    assert pending_before and all(k.startswith("ponto:pending:") for k in pending_before)
    clock.advance(timedelta(days=1, hours=7))
    # when the next syncs run (the tick may synchronize the accounts again)
    outcome = fx.run(db_session, tenant_a, connected, connectors)
    assert outcome.status == "success", outcome
    rows = fx.transaction_rows(db_session, tenant_a)
    # then every pending row left is still pending at Ponto, and no movement is twice
    keys = [key for key, *_ in rows]
    assert len(keys) == len(set(keys))
    assert outcome.counts["synchronizations"] >= 1
    booked = [r for r in rows if r[1] == "booked"]
    assert booked
    # and the movements pending yesterday are booked now: their pending rows are gone
    assert not pending_before & set(keys)
    assert outcome.counts["pending_removed"] >= len(pending_before)
    # and a repeat changes nothing
    again = fx.run(db_session, tenant_a, connected, connectors, trigger="webhook")
    assert again.counts["transactions_created"] == again.counts["transactions_updated"] == 0
    assert fx.transaction_rows(db_session, tenant_a) == rows


@pytest.mark.parametrize(("kind", "params", "code"), [
    ("status", {"status": 503}, "ProviderUnavailable"),
    ("status", {"status": 429, "retry_after": 120}, "RateLimited"),
    ("malformed", {}, "MalformedResponse"),
    ("truncated", {}, "MalformedResponse"),
    ("timeout", {"seconds": 5}, "ProviderTimeout"),
])
def test_a_fault_ends_in_a_failed_log_and_nothing_half_written(
        client, db_session, tenant_a, connected, connectors, ponto_sim, clock,
        kind, params, code):
    # given a first good sync, and a day of new data at Ponto
    fx.run(db_session, tenant_a, connected, connectors)
    before = fx.transaction_rows(db_session, tenant_a)
    cursors = fx.integration_row(db_session, tenant_a, connected.id).cursors
    clock.advance(timedelta(days=1, hours=7))
    # when reading transactions fails
    ponto_sim.faults.add(kind, path=r"/accounts/[^/]+/transactions", times=10, **params)
    outcome = fx.run(db_session, tenant_a, connected, connectors)
    # then the run failed with a clear code, nothing was written, the cursor did not move
    assert (outcome.status, outcome.error_code) == ("failed", code)
    assert fx.transaction_rows(db_session, tenant_a) == before
    row = fx.integration_row(db_session, tenant_a, connected.id)
    assert row.cursors == cursors
    assert row.health == "degraded" and row.consecutive_failures == 1
    assert row.backoff_until is not None and row.next_sync_at == row.backoff_until
    if code == "RateLimited":
        assert row.backoff_until - clock.now() >= timedelta(seconds=120)
    last = fx.logs(db_session, tenant_a, connected.id)[-1]
    assert (last.status, last.error_code) == ("failed", code) and last.finished_at
    # and while backing off, the tick does not call Ponto
    assert fx.run(db_session, tenant_a, connected, connectors).reason == "backoff"
    # when the fault is gone and the backoff over, the next run catches up exactly once
    ponto_sim.faults.clear()
    clock.set(row.backoff_until + timedelta(seconds=1))
    assert fx.run(db_session, tenant_a, connected, connectors).status == "success"
    after = fx.transaction_rows(db_session, tenant_a)
    keys = [key for key, *_ in after]
    assert len(keys) == len(set(keys)) and len(after) > len(before)


def test_a_revoked_grant_fails_for_a_person_and_consent_expiry_stops_calls(
        client, db_session, tenant_a, connected, connectors, ponto_sim):
    ponto_sim.revoke_all_tokens()
    ponto_sim.expire_access_tokens()
    outcome = fx.run(db_session, tenant_a, connected, connectors)
    assert (outcome.status, outcome.error_code) == ("failed", "TokenRevoked")
    assert fx.integration_row(db_session, tenant_a, connected.id).health == "failing"


def test_an_ended_consent_makes_no_call(client, db_session, tenant_a, connected, connectors,
                                        ponto_sim, clock):
    assert fx.run(db_session, tenant_a, connected, connectors).status == "success"
    ponto_sim.expire_consent()
    clock.advance(timedelta(days=91))
    calls = len(ponto_sim.requests) if hasattr(ponto_sim, "requests") else None
    outcome = fx.run(db_session, tenant_a, connected, connectors)
    assert (outcome.status, outcome.reason) == ("skipped", "consent_expired")
    if calls is not None:
        assert len(ponto_sim.requests) == calls


def test_a_second_concurrent_run_says_already_running(
        client, db_session, tenant_a, connected, connectors):
    # given a run holding the integration's lock
    holder = sync._Lock(db_session, connected.id)
    try:
        assert holder.held
        # when another run starts, then it does nothing
        outcome = fx.run(db_session, tenant_a, connected, connectors)
        assert outcome.status == "already_running"
    finally:
        holder.release()
    assert fx.count(db_session, tenant_a, BankTransaction) == 0
    assert fx.run(db_session, tenant_a, connected, connectors).status == "success"


def test_another_company_cannot_sync_it(client, db_session, tenant_a, tenant_b, connected,
                                         connectors):
    outcome = fx.run(db_session, tenant_b, connected, connectors)
    assert outcome.status == "not_found"


def test_a_tick_after_a_webhook_only_reads(client, db_session, tenant_a, connected,
                                           connectors, clock):
    # given a synced integration, a webhook pending, and a bank access allowed again
    fx.run(db_session, tenant_a, connected, connectors)
    with tenant_scope(db_session, tenant_a.tenant_id), transaction(db_session):
        row = db_session.get(Integration, (tenant_a.tenant_id, connected.id))
        row.webhook_pending_at = clock.now()
    clock.advance(timedelta(hours=7))
    # when the tick runs it
    outcome = fx.run(db_session, tenant_a, connected, connectors)
    # then it read what Ponto holds, spent no bank access, and cleared the webhook
    assert outcome.status == "success" and "synchronizations" not in outcome.counts
    assert fx.logs(db_session, tenant_a, connected.id)[-1].trigger == "webhook"
    assert fx.integration_row(db_session, tenant_a, connected.id).webhook_pending_at is None
