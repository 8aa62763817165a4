"""The domain events wired in ADR 0036: transaction.created/updated for single writes (bulk
writes are listed by import id or sync log id instead), sync.succeeded/failed, the
once-per-date integration.consent_expiring, and the owners' alerts that go with a disabled
webhook endpoint or an expiring consent. Each event: once, in its change's transaction,
nothing on rollback or on a no-op repeat, invisible to another company."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from smbfinance.auth.permissions import Actor
from smbfinance.cashflow.models import Alert
from smbfinance.db import transaction
from smbfinance.errors import Invalid
from smbfinance.events import alerts
from smbfinance.events.models import OutboxEvent
from smbfinance.events.relay import relay
from smbfinance.integrations import service as integrations
from smbfinance.tenancy import tenant_scope
from smbfinance.transactions import accounts_service as accounts
from smbfinance.transactions import service as transactions
from smbfinance.webhooks import service as webhooks
from tests.conftest import TenantFixture
from tests.factories import add_member
from tests.integration import sync_fixtures as fx
from tests.integration.sync_fixtures import *  # noqa: F403  - the fixtures
from tests.integration.test_webhook_delivery import (
    BOX,
    DEV,
    T0,
    Answer,
    Receiver,
    attempt,
    deliveries,
    publish_contact,
)
from tests.reconciling import Paid, camt, import_payments


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


def events_of(session: Session, *types: str) -> list[OutboxEvent]:
    with transaction(session):
        return list(session.execute(select(OutboxEvent).where(OutboxEvent.type.in_(types))
                                    .order_by(OutboxEvent.created_at, OutboxEvent.id)
                                    ).scalars())


def other_company_sees(db_session: Any, tenant: TenantFixture, *types: str) -> int:
    with tenant_scope(db_session, tenant.tenant_id) as other:
        return len(events_of(other, *types))


# ------------------------------------------------------------------ transactions


def cash_account(session: Session, actor: Actor) -> uuid.UUID:
    return accounts.create_account(session=session, actor=actor, data={
        "account_number": "CASH-1", "currency": "EUR", "name": "Till"}).id


def test_a_manual_transaction_is_announced_once(session, actor, db_session, tenant_b) -> None:
    account_id = cash_account(session, actor)
    # when a cash movement is booked
    found = accounts.create_manual_transaction(session=session, actor=actor, data={
        "bank_account_id": account_id, "amount": "-12.50", "booking_date": date(2026, 11, 2),
        "counterparty_name": "Bakery"})
    # then one transaction.created with the transaction as the API shows it
    [event] = events_of(session, "transaction.created")
    assert event.object_id == found.id
    assert event.data["amount"] == {"amount": "-12.50", "currency": "EUR"}
    assert event.data["source"] == "manual" and event.data["unallocated"]["amount"] == "12.50"
    # and a refused one (zero amount) writes nothing
    with pytest.raises(Invalid):
        accounts.create_manual_transaction(session=session, actor=actor, data={
            "bank_account_id": account_id, "amount": "0", "booking_date": date(2026, 11, 2)})
    assert len(events_of(session, "transaction.created")) == 1
    assert other_company_sees(db_session, tenant_b, "transaction.created") == 0


def test_a_partner_push_reaches_its_feed_only(client, session, tenant_a, tenant_b) -> None:
    # given a cash account; when a transaction is pushed through REST (Idempotency-Key)
    account = client.post("/api/v1/bank-accounts", headers=tenant_a.headers, json={
        "account_number": "CASH-2", "currency": "EUR"}).get_json()
    headers = {**tenant_a.headers, "Idempotency-Key": "push-1"}
    body = {"bank_account_id": account["id"], "amount": "9.99", "booking_date": "2026-11-02"}
    pushed = client.post("/api/v1/transactions", headers=headers, json=body)
    again = client.post("/api/v1/transactions", headers=headers, json=body)
    assert pushed.status_code == 201 and again.get_json()["id"] == pushed.get_json()["id"]
    relay(session=session)
    # then its feed holds one transaction.created; another company's feed holds none
    mine = client.get("/api/v1/events?types=transaction.created", headers=tenant_a.headers)
    assert [e["object_id"] for e in mine.get_json()["data"]] == [pushed.get_json()["id"]]
    theirs = client.get("/api/v1/events?types=transaction.created", headers=tenant_b.headers)
    assert theirs.get_json()["data"] == []
    assert client.get(f"/api/v1/events/{mine.get_json()['data'][0]['id']}",
                      headers=tenant_b.headers).status_code == 404


def test_imports_and_accounts_replay_under_an_idempotency_key(client, tenant_a) -> None:
    # given POSTs of an account and of a statement, each sent twice with one key
    headers = {**tenant_a.headers, "Idempotency-Key": "account-1"}
    body = {"account_number": "CASH-3", "currency": "EUR"}
    first, second = (client.post("/api/v1/bank-accounts", headers=headers, json=body)
                     for _ in range(2))
    # then the second is the first's answer, not a server error nor a second account
    assert first.status_code == second.status_code == 201
    assert first.get_json()["id"] == second.get_json()["id"]
    statement = camt([Paid("121.00", "2026-11-02", name="Client NV")])
    headers = {**tenant_a.headers, "Idempotency-Key": "import-1"}
    imported = [client.post("/api/v1/imports", headers=headers,
                            content_type="multipart/form-data",
                            data={"file": (io.BytesIO(statement), "camt.xml")})
                for _ in range(2)]
    assert [r.status_code for r in imported] == [201, 201]
    assert imported[0].get_json()["id"] == imported[1].get_json()["id"]


def test_a_patch_is_announced_once_and_a_repeat_is_silent(session, actor) -> None:
    account_id = cash_account(session, actor)
    found = accounts.create_manual_transaction(session=session, actor=actor, data={
        "bank_account_id": account_id, "amount": "40.00", "booking_date": date(2026, 11, 2)})
    # when notes are set; then transaction.updated with the notes
    transactions.update_transaction(session=session, actor=actor, transaction_id=found.id,
                                    changes={"notes": "tip jar"})
    [event] = events_of(session, "transaction.updated")
    assert (event.object_id, event.data["notes"]) == (found.id, "tip jar")
    # when the same notes are sent again; then nothing more
    transactions.update_transaction(session=session, actor=actor, transaction_id=found.id,
                                    changes={"notes": "tip jar"})
    assert len(events_of(session, "transaction.updated")) == 1
    # when a PATCH is refused (unknown contact); then nothing either
    with pytest.raises(Invalid):
        transactions.update_transaction(session=session, actor=actor, transaction_id=found.id,
                                        changes={"contact_id": uuid.uuid4()})
    assert len(events_of(session, "transaction.updated")) == 1


def test_a_rolled_back_patch_emits_nothing(session, actor) -> None:
    account_id = cash_account(session, actor)
    found = accounts.create_manual_transaction(session=session, actor=actor, data={
        "bank_account_id": account_id, "amount": "40.00", "booking_date": date(2026, 11, 2)})
    with pytest.raises(RuntimeError), transaction(session):
        transactions.update_transaction(session=session, actor=actor,
                                        transaction_id=found.id, changes={"notes": "x"})
        raise RuntimeError("the caller's transaction fails afterwards")
    assert events_of(session, "transaction.updated") == []


def test_the_rest_patch_emits_and_lists_filter_by_import(client, tenant_a, tenant_b,
                                                         session) -> None:
    # given an import of two payments (through the REST door)
    imported = import_payments(client, tenant_a, [
        Paid("121.00", "2026-11-02", name="Client NV"),
        Paid("-30.00", "2026-11-03", name="Supplier BV")])
    import_id = imported["id"]
    # then no transaction.created per row, one import.completed naming the import
    assert events_of(session, "transaction.created") == []
    [completed] = events_of(session, "import.completed")
    assert completed.object_id == uuid.UUID(import_id)
    # and GET /transactions?import_id= lists exactly what it wrote
    listed = client.get(f"/api/v1/transactions?import_id={import_id}", headers=tenant_a.headers)
    assert listed.status_code == 200
    assert len(listed.get_json()["data"]) == completed.data["counts"]["created"] == 2
    # while another company's filter by that id finds nothing
    other = client.get(f"/api/v1/transactions?import_id={import_id}", headers=tenant_b.headers)
    assert other.status_code == 200 and other.get_json()["data"] == []
    # and the GraphQL connection takes the same filter
    query = f'{{ transactions(importId: "{import_id}") {{ edges {{ node {{ id }} }} }} }}'
    graph = client.post("/graphql", headers=tenant_a.headers, json={"query": query})
    assert len(graph.get_json()["data"]["transactions"]["edges"]) == 2
    # when a PATCH through REST changes the category-free notes; then one event
    first = listed.get_json()["data"][0]
    patched = client.patch(f"/api/v1/transactions/{first['id']}", headers=tenant_a.headers,
                           json={"notes": "checked"})
    assert patched.status_code == 200
    [updated] = events_of(session, "transaction.updated")
    assert updated.data["notes"] == "checked" and updated.data["import_batch_id"] == import_id
    # and a bad filter value is a 422 naming it
    bad = client.get("/api/v1/transactions?sync_log_id=nope", headers=tenant_a.headers)
    assert bad.status_code == 422 and "sync_log_id" in str(bad.get_json())


# ------------------------------------------------------------------ sync runs


@pytest.fixture
def yuki(db_session, tenant_a, box):
    return fx.connect_yuki(db_session, tenant_a, box)


def test_sync_runs_are_announced_when_they_matter(client, db_session, tenant_a, tenant_b,
                                                  yuki, connectors, yuki_sim, clock,
                                                  session) -> None:
    # given a connected Yuki integration; when it syncs for the first time
    first = fx.run(db_session, tenant_a, yuki, connectors)
    # then one sync.succeeded, in the run's transaction, with its counts and log id
    [event] = events_of(session, "sync.succeeded", "sync.failed")
    assert event.type == "sync.succeeded" and event.object_id == first.log_id
    assert event.data["integration_id"] == str(yuki.id) and event.data["provider"] == "yuki"
    assert event.data["counts"]["invoices_created"] == first.counts["invoices_created"] > 0
    assert event.data["error"] is None and event.data["synchronized_at"]
    # when it syncs again and nothing changed; then nothing is announced
    clock.advance(timedelta(minutes=2))
    assert fx.run(db_session, tenant_a, yuki, connectors).status == "success"
    assert len(events_of(session, "sync.succeeded", "sync.failed")) == 1
    fresh = fx.integration_row(db_session, tenant_a, yuki.id).last_success_at
    # when Yuki fails twice the same way; then one sync.failed with the error
    yuki_sim.faults.add("status", times=10, status=503)
    for _ in range(2):
        clock.set(fx.integration_row(db_session, tenant_a, yuki.id).next_sync_at
                  + timedelta(seconds=1))
        assert fx.run(db_session, tenant_a, yuki, connectors).status == "failed"
    failed = events_of(session, "sync.failed")
    assert len(failed) == 1 and failed[0].data["error"]["code"] == "ProviderUnavailable"
    # (its data is as fresh as the last success, the silent run)
    assert failed[0].data["synchronized_at"] == fresh.isoformat()
    # when it recovers; then sync.succeeded again, even with nothing new
    yuki_sim.faults.clear()
    clock.set(fx.integration_row(db_session, tenant_a, yuki.id).next_sync_at
              + timedelta(seconds=1))
    assert fx.run(db_session, tenant_a, yuki, connectors).status == "success"
    assert len(events_of(session, "sync.succeeded")) == 2
    assert other_company_sees(db_session, tenant_b, "sync.succeeded", "sync.failed") == 0


def test_a_run_whose_closing_transaction_fails_announces_no_success(
        client, db_session, tenant_a, yuki, connectors, session, monkeypatch) -> None:
    # given a run whose data transaction fails after sync.succeeded was written in it
    from smbfinance.integrations import sync

    def broken(*_args: Any, **_kwargs: Any) -> bool:
        raise RuntimeError("the closing transaction fails")

    calls = {"n": 0}
    original = sync.event_alerts.consent_expiring

    def second_call_breaks(*args: Any, **kwargs: Any) -> bool:
        calls["n"] += 1  # the first call is the run's opening check
        return original(*args, **kwargs) if calls["n"] == 1 else broken()

    monkeypatch.setattr(sync.event_alerts, "consent_expiring", second_call_breaks)
    # when it runs
    with pytest.raises(RuntimeError):
        fx.run(db_session, tenant_a, yuki, connectors)
    # then no sync.succeeded and no invoice event survived; the failure is told once
    assert events_of(session, "sync.succeeded", "invoice.created") == []
    [failed] = events_of(session, "sync.failed")
    assert failed.data["error"]["code"] == "RuntimeError"


@pytest.mark.slow
def test_a_ponto_sync_tags_what_it_wrote(client, db_session, tenant_a, ponto_sim,
                                          ponto_settings, clock, box, connectors,
                                          session) -> None:
    # given a connected Ponto integration; when it syncs
    ponto = fx.connect_ponto(ponto_sim, ponto_settings, clock, db_session, tenant_a, box)
    outcome = fx.run(db_session, tenant_a, ponto, connectors)
    assert outcome.status == "success" and outcome.counts["transactions_created"] > 0
    # then no transaction.created per row, one sync.succeeded, and the rows it wrote carry
    # its log id: GET /transactions?sync_log_id= lists exactly them
    assert events_of(session, "transaction.created") == []
    [event] = events_of(session, "sync.succeeded")
    listed, after = [], None
    while True:
        page = client.get("/api/v1/transactions?limit=200&sync_log_id=" + str(outcome.log_id)
                          + (f"&starting_after={after}" if after else ""),
                          headers=tenant_a.headers).get_json()
        listed += page["data"]
        if not page["has_more"]:
            break
        after = page["data"][-1]["id"]
    assert len(listed) == event.data["counts"]["transactions_created"]
    assert {row["sync_log_id"] for row in listed} == {str(outcome.log_id)}
    # and the audit log holds, by the system, each account's balance and one entry per
    # account for its rows, adding up to what the run created; another company sees none
    audit = client.get("/api/v1/audit-log?limit=200", headers=tenant_a.headers).get_json()
    synced = [e for e in audit["data"] if e["action"] == "transactions.synced"]
    assert synced and {e["actor"]["type"] for e in synced} == {"system"}
    assert sum(e["after"]["created"] for e in synced) == len(listed)
    assert {e["after"]["sync_log_id"] for e in synced} == {str(outcome.log_id)}
    assert any(e["action"] == "bank_account.created" for e in audit["data"])
    clock.advance(timedelta(minutes=20))
    again = fx.run(db_session, tenant_a, ponto, connectors)
    assert again.status == "success"
    audit = client.get("/api/v1/audit-log?limit=200", headers=tenant_a.headers).get_json()
    assert len([e for e in audit["data"] if e["action"] == "transactions.synced"]) == \
        len(synced)  # a run that changes nothing writes no entry


# ------------------------------------------------------------------ consent


def integration_expiring(session: Session, actor: Actor, box: Any,
                         expires: datetime) -> Any:
    return integrations.create_integration(
        session=session, actor=actor, box=box, provider="ponto",
        credentials={"access_token": "x"}, display_name="KBC",
        consent_expires_at=expires)


def consent_check(session: Session, integration_id: uuid.UUID, now: datetime) -> bool:
    with transaction(session):
        from smbfinance.integrations.models import Integration

        row = session.execute(select(Integration).where(Integration.id == integration_id)
                              .execution_options(populate_existing=True)).scalar_one()
        return alerts.consent_expiring(session, integration=row, now=now)


def test_a_consent_about_to_end_is_announced_once_per_date(session, actor, box, db_session,
                                                           tenant_b) -> None:
    expires = T0 + timedelta(days=20)
    found = integration_expiring(session, actor, box, expires)
    # when checked 20 days ahead (outside the window); then nothing
    assert consent_check(session, found.id, T0) is False
    # when checked inside the 14 days, every minute for a while; then exactly one event
    inside = expires - timedelta(days=14)
    assert consent_check(session, found.id, inside) is True
    for minutes in range(1, 4):
        assert consent_check(session, found.id, inside + timedelta(minutes=minutes)) is False
    [event] = events_of(session, "integration.consent_expiring")
    assert event.object_id == found.id
    assert event.data["consent_expires_at"] == expires.isoformat()
    # and one owners' alert for that day
    [alert] = alerts.live_alerts(session, kind=alerts.CONSENT_EXPIRING, subject_id=found.id)
    assert (alert.crossing_date, alert.audience) == (expires.date(), "owners")
    # when the consent is renewed; then the alert clears, and the new date is announced
    # once when it comes near
    renewed = expires + timedelta(days=90)
    with transaction(session):
        session.get(type(found), (found.tenant_id, found.id)).consent_expires_at = renewed
    assert consent_check(session, found.id, inside + timedelta(days=1)) is False
    assert alerts.live_alerts(session, kind=alerts.CONSENT_EXPIRING, subject_id=found.id) == []
    assert consent_check(session, found.id, renewed - timedelta(days=3)) is True
    assert len(events_of(session, "integration.consent_expiring")) == 2
    assert other_company_sees(db_session, tenant_b, "integration.consent_expiring") == 0


def test_a_consent_check_rolled_back_leaves_nothing(session, actor, box) -> None:
    expires = T0 + timedelta(days=5)
    found = integration_expiring(session, actor, box, expires)
    with pytest.raises(RuntimeError), transaction(session):
        consent_check(session, found.id, T0)
        raise RuntimeError("the run's transaction fails")
    assert events_of(session, "integration.consent_expiring") == []
    # and the next check announces it
    assert consent_check(session, found.id, T0) is True


def test_the_sync_engine_checks_the_consent_on_every_run(client, db_session, tenant_a,
                                                         ponto_sim, ponto_settings, clock,
                                                         box, connectors, session) -> None:
    # given a Ponto integration whose consent ends in 10 days (as Ponto reports it)
    ponto = fx.connect_ponto(ponto_sim, ponto_settings, clock, db_session, tenant_a, box)
    with transaction(session):
        row = session.get(type(ponto), (tenant_a.tenant_id, ponto.id))
        row.consent_expires_at = clock.now() + timedelta(days=10)
    soon = row.consent_expires_at
    # when the tick runs it: the run's first transaction announces the consent's end
    fx.run(db_session, tenant_a, ponto, connectors)
    [event] = events_of(session, "integration.consent_expiring")
    assert event.data["consent_expires_at"] == soon.isoformat()
    # and Ponto's own, later date (90 days) clears the alert; a second run announces nothing
    assert alerts.live_alerts(session, kind=alerts.CONSENT_EXPIRING, subject_id=ponto.id) == []
    clock.advance(timedelta(minutes=10))
    fx.run(db_session, tenant_a, ponto, connectors)
    assert len(events_of(session, "integration.consent_expiring")) == 1


# ------------------------------------------------------------------ webhook endpoint alert


def test_a_disabled_endpoint_alerts_its_owners(client, session, actor, receiver, tenant_a,
                                               tenant_b) -> None:
    endpoint = webhooks.create_endpoint(session=session, actor=actor, policy=DEV, box=BOX,
                                        data={"url": receiver.url, "event_types": ["*"]})
    accountant = add_member(client, tenant_a, "accountant")
    # given a receiver answering 410 Gone; when a delivery is attempted
    receiver.script = [Answer(410)]
    publish_contact(session, actor)
    [pending] = deliveries(session)
    assert attempt(session, pending.id, T0).endpoint_disabled is True
    # then, with the event, an alert about the endpoint in the same transaction
    [event] = events_of(session, "webhook_endpoint.disabled")
    [alert] = alerts.live_alerts(session, kind=alerts.ENDPOINT_DISABLED,
                                 subject_id=endpoint.endpoint.id)
    assert "410" in alert.message and alert.audience == "owners"
    assert event.object_id == endpoint.endpoint.id
    # which the owner sees in GET /alerts, an accountant and another company do not
    mine = client.get("/api/v1/alerts", headers=tenant_a.headers).get_json()["data"]
    assert [(a["kind"], a["subject_id"]) for a in mine] == [
        ("webhook_endpoint_disabled", str(endpoint.endpoint.id))]
    assert client.get("/api/v1/alerts", headers=accountant.headers).get_json()["data"] == []
    assert client.get(f"/api/v1/alerts/{alert.id}",
                      headers=accountant.headers).status_code == 404
    assert client.get("/api/v1/alerts", headers=tenant_b.headers).get_json()["data"] == []
    assert client.get(f"/api/v1/alerts/{alert.id}",
                      headers=tenant_b.headers).status_code == 404
    # and a later failure on the disabled endpoint raises no second alert
    relay(session=session, now=T0)
    with transaction(session):
        assert len(session.execute(select(Alert).where(
            Alert.kind == alerts.ENDPOINT_DISABLED)).scalars().all()) == 1


def test_enabling_or_deleting_the_endpoint_clears_its_alert(session, actor, receiver) -> None:
    # given two endpoints disabled by a 410, each with its alert
    made = [webhooks.create_endpoint(session=session, actor=actor, policy=DEV, box=BOX,
                                     data={"url": receiver.url, "event_types": ["*"]}).endpoint
            for _ in range(2)]
    receiver.script = [Answer(410), Answer(410)]
    publish_contact(session, actor)
    for pending in deliveries(session):
        attempt(session, pending.id, T0)
    assert all(alerts.live_alerts(session, kind=alerts.ENDPOINT_DISABLED, subject_id=e.id)
               for e in made)
    # when the owner enables the first again and deletes the second
    webhooks.update_endpoint(session=session, actor=actor, endpoint_id=made[0].id,
                             changes={"enabled": True}, policy=DEV)
    webhooks.delete_endpoint(session=session, actor=actor, endpoint_id=made[1].id)
    # then neither alert is live any more
    for endpoint in made:
        assert alerts.live_alerts(session, kind=alerts.ENDPOINT_DISABLED,
                                  subject_id=endpoint.id) == []
