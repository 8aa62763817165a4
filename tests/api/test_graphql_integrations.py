"""GraphQL: integrations (health, freshness, when a sync may next be asked for), their sync
logs, and integrationSyncRequest — the same services and refusals as REST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from flask import Flask
from flask.testing import FlaskClient

from smbfinance.db import utcnow
from smbfinance.graphql.relay import encode_id
from smbfinance.integrations import graphql as integrations_graphql
from smbfinance.integrations import service
from smbfinance.integrations.models import Integration
from smbfinance.tenancy import tenant_scope
from tests.api.test_integrations_api import ACCESS, REFRESH, connect
from tests.api.test_integrations_connect_sync_now_api import change
from tests.conftest import TenantFixture
from tests.factories import add_member

INTEGRATIONS = """query($provider: String) { integrations(provider: $provider) {
  id provider status health displayName consentExpiresAt synchronizedAt lastSyncStartedAt
  nextSyncAt nextAllowedSyncAt lastErrorCode consecutiveFailures } }"""
LOGS = """query($id: ID!, $first: Int, $after: String) {
  integrationSyncLogs(integrationId: $id, first: $first, after: $after) {
    edges { cursor node { id integrationId trigger status counts calls errorCode } }
    pageInfo { hasNextPage endCursor } } }"""
SYNC = """mutation($id: ID!) { integrationSyncRequest(integrationId: $id) {
  syncRequest { integrationId status attended bankSynchronizations requestedAt }
  errors { field code message } nextAllowedAt retryAfterSeconds reason } }"""


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    calls: list[tuple] = []
    monkeypatch.setattr(integrations_graphql, "_enqueue_sync",
                        lambda *a, **k: calls.append((a, k)))
    return calls


def gql(client: FlaskClient, tenant: TenantFixture | None, query: str,
        **variables: object) -> Any:
    response = client.post("/graphql", headers=tenant.headers if tenant else {},
                           json={"query": query, "variables": variables})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def gid(integration: Integration) -> str:
    return encode_id("Integration", integration.id)


def _sync_runs(db_session: Any, tenant: TenantFixture, integration: Integration,
               runs: int) -> None:
    with tenant_scope(db_session, tenant.tenant_id):
        row = db_session.get(Integration, (tenant.tenant_id, integration.id))
        for n in range(runs):
            log = service.start_sync(session=db_session, integration=row, trigger="tick")
            service.finish_sync(session=db_session, integration=row, log=log,
                                counts={"transactions": n}, calls=n)
    db_session.commit()


def test_the_list_shows_health_freshness_and_the_next_allowed_sync(
        app: Flask, client: FlaskClient, db_session: Any, tenant_a: TenantFixture) -> None:
    # given a Ponto integration whose consent ends in ten days and a Yuki one spent today
    connect(app, db_session, tenant_a, consent_expires_at=utcnow() + timedelta(days=10))
    yuki = connect(app, db_session, tenant_a, provider="yuki")
    change(db_session, tenant_a, yuki.id, budget_day=utcnow().date(), calls_today=999)
    # when the app lists them
    body = gql(client, tenant_a, INTEGRATIONS)
    # then it sees health, freshness and when a sync may be asked for, and no secret
    assert "errors" not in body, body
    ponto, spent = body["data"]["integrations"]
    assert (ponto["provider"], ponto["status"], ponto["health"]) == (
        "ponto", "connected", "consent_expiring")
    assert ponto["synchronizedAt"] is None and ponto["nextSyncAt"]
    assert datetime.fromisoformat(ponto["nextAllowedSyncAt"]) <= datetime.now(UTC)
    tomorrow = datetime.combine(utcnow().date() + timedelta(days=1), datetime.min.time(),
                                tzinfo=UTC)
    assert datetime.fromisoformat(spent["nextAllowedSyncAt"]) == tomorrow
    assert ACCESS not in str(body) and REFRESH not in str(body)
    only_yuki = gql(client, tenant_a, INTEGRATIONS, provider="yuki")["data"]["integrations"]
    assert [i["provider"] for i in only_yuki] == ["yuki"]


def test_a_disconnected_integration_has_no_next_allowed_sync(
        app: Flask, client: FlaskClient, db_session: Any, tenant_a: TenantFixture) -> None:
    integration = connect(app, db_session, tenant_a)
    change(db_session, tenant_a, integration.id, status="disconnected", external_id=None)
    (found,) = gql(client, tenant_a, INTEGRATIONS)["data"]["integrations"]
    assert (found["health"], found["nextAllowedSyncAt"]) == ("disconnected", None)


def test_an_unknown_provider_is_a_typed_error(client: FlaskClient,
                                              tenant_a: TenantFixture) -> None:
    body = gql(client, tenant_a, INTEGRATIONS, provider="nope")
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INVALID"
    assert error["extensions"]["fields"][0]["field"] == "provider"


def test_sync_logs_page_newest_first(app: Flask, client: FlaskClient, db_session: Any,
                                     tenant_a: TenantFixture) -> None:
    # given three finished runs
    integration = connect(app, db_session, tenant_a)
    _sync_runs(db_session, tenant_a, integration, 3)
    # when read two at a time
    first = gql(client, tenant_a, LOGS, id=gid(integration), first=2)
    page = first["data"]["integrationSyncLogs"]
    more = gql(client, tenant_a, LOGS, id=gid(integration), first=2,
               after=page["pageInfo"]["endCursor"])["data"]["integrationSyncLogs"]
    # then newest first, a page at a time, with counts and calls
    assert [e["node"]["calls"] for e in page["edges"]] == [2, 1]
    assert page["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["counts"] for e in more["edges"]] == [{"transactions": 0}]
    assert more["pageInfo"]["hasNextPage"] is False
    node = page["edges"][0]["node"]
    assert (node["integrationId"], node["trigger"], node["status"]) == (
        gid(integration), "tick", "success")


def test_sync_logs_refuse_a_wrong_id_with_a_typed_error(
        app: Flask, client: FlaskClient, db_session: Any, tenant_a: TenantFixture) -> None:
    integration = connect(app, db_session, tenant_a)
    wrong_type = gql(client, tenant_a, LOGS, id=encode_id("Invoice", integration.id))
    assert wrong_type["errors"][0]["extensions"]["code"] == "INVALID"
    assert wrong_type["errors"][0]["extensions"]["fields"][0]["field"] == "integrationId"
    unknown = gql(client, tenant_a, LOGS, id=encode_id("Integration", uuid4()))
    assert unknown["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    too_many = gql(client, tenant_a, LOGS, id=gid(integration), first=500)
    assert too_many["errors"][0]["extensions"]["fields"][0]["field"] == "first"


def test_a_sync_is_queued_as_an_attended_one(app: Flask, client: FlaskClient,
                                             db_session: Any, tenant_a: TenantFixture,
                                             sent: list[tuple]) -> None:
    # given a Ponto integration with a known account
    integration = connect(app, db_session, tenant_a)
    change(db_session, tenant_a, integration.id, cursors={"accounts": {"acc-1": {}}})
    # when its owner asks for a sync
    payload = gql(client, tenant_a, SYNC, id=gid(integration))["data"][
        "integrationSyncRequest"]
    # then it is queued, attended (the caller's IP goes to Ponto), once
    assert payload["errors"] == [] and payload["nextAllowedAt"] is None
    assert payload["syncRequest"]["status"] == "queued"
    assert payload["syncRequest"]["attended"] is True
    assert payload["syncRequest"]["bankSynchronizations"] == 1
    ((args, kwargs),) = sent
    assert args == (tenant_a.tenant_id, integration.id)
    assert kwargs == {"trigger": "manual", "customer_ip": "127.0.0.1"}


def test_a_spent_budget_is_a_typed_error_with_the_next_allowed_time(
        app: Flask, client: FlaskClient, db_session: Any, tenant_a: TenantFixture,
        sent: list[tuple]) -> None:
    # given a Ponto account that used its four synchronizations in the last hours
    integration = connect(app, db_session, tenant_a)
    now = utcnow()
    times = [(now - timedelta(hours=h)).isoformat() for h in (4, 3, 2, 1)]
    change(db_session, tenant_a, integration.id, cursors={"accounts": {"acc-1": {}}},
           bank_syncs_today={"acc-1": times})
    # when a sync is asked for
    payload = gql(client, tenant_a, SYNC, id=gid(integration))["data"][
        "integrationSyncRequest"]
    # then it is refused (as REST's 429) with when to ask again, and nothing is queued
    assert payload["syncRequest"] is None and not sent
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [
        (None, "sync_budget_spent")]
    assert payload["reason"] == "bank_budget_spent"
    assert 19 * 3600 < payload["retryAfterSeconds"] <= 20 * 3600 + 1
    allowed = datetime.fromisoformat(payload["nextAllowedAt"])
    assert allowed == now - timedelta(hours=4) + timedelta(hours=24)
    # and the list says the same time before anyone presses the button
    (listed,) = gql(client, tenant_a, INTEGRATIONS)["data"]["integrations"]
    assert datetime.fromisoformat(listed["nextAllowedSyncAt"]) == allowed


def test_an_ended_consent_is_a_conflict(app: Flask, client: FlaskClient, db_session: Any,
                                        tenant_a: TenantFixture, sent: list[tuple]) -> None:
    expired = connect(app, db_session, tenant_a, consent_expires_at=utcnow())
    payload = gql(client, tenant_a, SYNC, id=gid(expired))["data"]["integrationSyncRequest"]
    assert payload["errors"][0]["code"] == "conflict" and payload["nextAllowedAt"] is None
    assert not sent


def test_another_company_sees_and_syncs_nothing(
        app: Flask, client: FlaskClient, db_session: Any, tenant_a: TenantFixture,
        tenant_b: TenantFixture, sent: list[tuple]) -> None:
    # given an integration of tenant A with a run
    integration = connect(app, db_session, tenant_a)
    _sync_runs(db_session, tenant_a, integration, 1)
    # when tenant B lists, reads its logs and asks for its sync
    listed = gql(client, tenant_b, INTEGRATIONS)["data"]["integrations"]
    logs = gql(client, tenant_b, LOGS, id=gid(integration))
    synced = gql(client, tenant_b, SYNC, id=gid(integration))["data"]["integrationSyncRequest"]
    # then it sees nothing and the id is unknown to it
    assert listed == []
    assert logs["data"] is None and logs["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert synced["errors"][0]["code"] == "not_found" and not sent


def test_a_viewer_may_read_but_not_ask_for_a_sync(
        app: Flask, client: FlaskClient, db_session: Any, tenant_a: TenantFixture,
        sent: list[tuple]) -> None:
    integration = connect(app, db_session, tenant_a)
    viewer = add_member(client, tenant_a, "viewer")
    assert len(gql(client, viewer, INTEGRATIONS)["data"]["integrations"]) == 1
    payload = gql(client, viewer, SYNC, id=gid(integration))["data"]["integrationSyncRequest"]
    assert payload["errors"][0]["code"] == "forbidden" and not sent
    anonymous = gql(client, None, INTEGRATIONS)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

