"""GraphQL: integrationYukiConnect and integrationDisconnect over loopback against the
simulators — the same services, checks and refusals as POST /integrations/yuki and
DELETE /integrations/{id}, with refusals as payload errors named as GraphQL names them."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from smbfinance.audit.models import AuditEntry
from smbfinance.db import transaction
from smbfinance.graphql.relay import encode_id
from smbfinance.integrations import graphql as integrations_graphql
from smbfinance.integrations.sandbox import demo_data
from smbfinance.integrations.sandbox.yuki import access_key_for
from smbfinance.tenancy import tenant_scope
from tests.api.test_graphql_integrations import INTEGRATIONS, gql
from tests.conftest import TenantFixture
from tests.factories import add_member
from tests.integration import sync_fixtures as fx
from tests.integration.sync_fixtures import *  # noqa: F403  - the simulators' fixtures

CONNECT = """mutation($key: String!, $adminId: String, $adminName: String) {
  integrationYukiConnect(accessKey: $key, administrationId: $adminId,
                         administrationName: $adminName) {
    integration { id provider status health displayName externalId lastErrorCode }
    errors { field code message } } }"""
DISCONNECT = """mutation($id: ID!) { integrationDisconnect(integrationId: $id) {
  integration { id provider status health nextSyncAt lastErrorCode }
  errors { field code message } } }"""


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    calls: list[tuple] = []
    monkeypatch.setattr(integrations_graphql, "_enqueue_sync",
                        lambda *a, **k: calls.append((a, k)))
    return calls


def connect(client: FlaskClient, tenant: TenantFixture | None, key: str,
            **variables: object) -> dict[str, Any]:
    return gql(client, tenant, CONNECT, key=key, **variables)["data"]["integrationYukiConnect"]


def disconnect(client: FlaskClient, tenant: TenantFixture, integration_id: object
               ) -> dict[str, Any]:
    """integration_id: a UUID, or a global id as the app holds it."""
    global_id = integration_id if isinstance(integration_id, str) else encode_id(
        "Integration", integration_id)
    return gql(client, tenant, DISCONNECT, id=global_id)["data"]["integrationDisconnect"]


def audited(session: Any, tenant: TenantFixture, action: str) -> list[AuditEntry]:
    with tenant_scope(session, tenant.tenant_id), transaction(session):
        return session.execute(select(AuditEntry).where(AuditEntry.action == action)
                               .order_by(AuditEntry.id)).scalars().all()


def errors(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


def test_connecting_yuki_checks_the_key_at_yuki_stores_it_sealed_and_queues_a_sync(
        configured: Flask, client: FlaskClient, db_session: Any, tenant_a: TenantFixture,
        tenant_b: TenantFixture, yuki_sim: Any, sent: list[tuple]) -> None:
    # given the owner's Yuki web-service access key
    key = access_key_for("acme")
    # when the app connects Yuki with it
    payload = connect(client, tenant_a, key)
    # then Yuki was asked over loopback and the integration is connected, without its key
    assert payload["errors"] == [], payload
    found = payload["integration"]
    acme = next(c for c in demo_data.DEMO_COMPANIES if c.key == "acme")
    assert (found["provider"], found["status"], found["health"], found["displayName"],
            found["externalId"]) == ("yuki", "connected", "ok", "Acme BV",
                                     acme.administration_id)
    assert yuki_sim.operations[:2] == ["Authenticate", "Administrations"]
    assert key not in str(payload)
    ((args, kwargs),) = sent
    assert args[0] == tenant_a.tenant_id and kwargs == {"trigger": "connect"}
    # and the key is stored sealed only, the connection audited without it
    with tenant_scope(db_session, tenant_a.tenant_id), transaction(db_session):
        stored = db_session.execute(text("SELECT credentials FROM integrations")).scalar_one()
    assert stored.startswith("v1.") and key not in stored
    (entry,) = audited(db_session, tenant_a, "integration.connected")
    assert key not in str(entry.after)
    # and another company sees nothing of it
    assert gql(client, tenant_b, INTEGRATIONS)["data"]["integrations"] == []
    # when the owner connects the same administration again, naming it, the one is reused
    again = connect(client, tenant_a, key, adminName="acme bv")
    assert again["errors"] == [] and again["integration"]["id"] == found["id"]


def test_a_refused_key_or_unknown_administration_names_the_graphql_argument(
        configured: Flask, client: FlaskClient, tenant_a: TenantFixture, yuki_sim: Any,
        sent: list[tuple]) -> None:
    # when Yuki refuses the key, the key is blank, or the administration is unknown
    refused = connect(client, tenant_a, "not-a-real-key")
    blank = connect(client, tenant_a, "")
    unknown = connect(client, tenant_a, access_key_for("acme"), adminId="nope")
    # then each payload names the argument as GraphQL spells it, and nothing is stored
    assert refused["integration"] is None
    assert errors(refused) == [("accessKey", "invalid_access_key")]
    assert errors(blank) == [("accessKey", "invalid")]
    assert errors(unknown) == [("administrationId", "unknown_administration")]
    assert gql(client, tenant_a, INTEGRATIONS)["data"]["integrations"] == []
    assert not sent


@pytest.mark.parametrize(("fault", "params"), [("status", {"status": 503}), ("quota", {}),
                                              ("malformed", {})])
def test_yuki_unreachable_is_a_typed_error_and_stores_nothing(
        configured: Flask, client: FlaskClient, tenant_a: TenantFixture, yuki_sim: Any,
        sent: list[tuple], fault: str, params: dict[str, Any]) -> None:
    # given Yuki down, out of quota, or answering nonsense
    yuki_sim.faults.add(fault, times=10, **params)
    # when the owner connects
    payload = connect(client, tenant_a, access_key_for("acme"))
    # then a typed error (REST's 503/502), no integration, nothing queued
    assert payload["integration"] is None
    assert errors(payload) == [(None, "provider_unreachable")]
    assert gql(client, tenant_a, INTEGRATIONS)["data"]["integrations"] == [] and not sent


def test_yuki_not_configured_is_a_conflict(app: Flask, client: FlaskClient,
                                           tenant_a: TenantFixture, sent: list[tuple]) -> None:
    assert app.config["YUKI_SERVICE_URL"] is None
    assert errors(connect(client, tenant_a, "k")) == [(None, "conflict")]


def test_viewers_are_refused_and_anonymous_callers_unauthenticated(
        configured: Flask, client: FlaskClient, db_session: Any, tenant_a: TenantFixture,
        yuki_sim: Any, box: Any, sent: list[tuple]) -> None:
    # given a connected Yuki integration and a viewer of the company
    integration = fx.connect_yuki(db_session, tenant_a, box)
    viewer = add_member(client, tenant_a, "viewer")
    # when the viewer connects Yuki and disconnects the integration
    connected = connect(client, viewer, access_key_for("acme"))
    disconnected = disconnect(client, viewer, integration.id)
    # then both are forbidden, Yuki is never asked, the integration stays connected
    assert errors(connected) == [(None, "forbidden")] and connected["integration"] is None
    assert errors(disconnected) == [(None, "forbidden")]
    assert yuki_sim.operations == [] and not sent
    assert fx.integration_row(db_session, tenant_a, integration.id).status == "connected"
    # and without a token there is no payload at all
    anonymous = gql(client, None, CONNECT, key=access_key_for("acme"))
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_another_companys_integration_is_not_found(
        configured: Flask, client: FlaskClient, db_session: Any, tenant_a: TenantFixture,
        tenant_b: TenantFixture, box: Any) -> None:
    # given company A's Yuki integration
    integration = fx.connect_yuki(db_session, tenant_a, box)
    # when company B disconnects it, or sends an id of another type
    theirs = disconnect(client, tenant_b, integration.id)
    wrong_type = gql(client, tenant_a, DISCONNECT, id=encode_id("Invoice", integration.id))
    # then not found (as an unknown id), a typed error on integrationId, and A's untouched
    assert errors(theirs) == [(None, "not_found")] and theirs["integration"] is None
    assert errors(wrong_type["data"]["integrationDisconnect"]) == [("integrationId", "invalid")]
    assert fx.integration_row(db_session, tenant_a, integration.id).status == "connected"
    assert audited(db_session, tenant_a, "integration.disconnected") == []


def test_disconnecting_ponto_revokes_at_ponto_forgets_and_is_idempotent(
        configured: Flask, client: FlaskClient, db_session: Any, tenant_a: TenantFixture,
        ponto_sim: Any, ponto_settings: Any, clock: Any, box: Any) -> None:
    # given a connected Ponto integration
    integration = fx.connect_ponto(ponto_sim, ponto_settings, clock, db_session, tenant_a, box)
    # when its owner disconnects it twice
    first = disconnect(client, tenant_a, integration.id)
    second = disconnect(client, tenant_a, integration.id)
    # then it is disconnected, the grant revoked at Ponto, the tokens forgotten
    assert first["errors"] == [], first
    assert (first["integration"]["status"], first["integration"]["health"],
            first["integration"]["nextSyncAt"], first["integration"]["lastErrorCode"]) == (
        "disconnected", "disconnected", None, None)
    assert ("POST", "/ponto-connect/oauth2/revoke") in ponto_sim.requests
    assert fx.integration_row(db_session, tenant_a, integration.id).credentials is None
    # and the second time answers the same and changes nothing: one audit entry
    assert second == first
    assert len(audited(db_session, tenant_a, "integration.disconnected")) == 1


def test_disconnected_yuki_connects_again_as_the_same_integration(
        configured: Flask, client: FlaskClient, db_session: Any, tenant_a: TenantFixture,
        yuki_sim: Any, sent: list[tuple]) -> None:
    created = connect(client, tenant_a, access_key_for("acme"))["integration"]
    gone = disconnect(client, tenant_a, created["id"])
    assert gone["integration"]["status"] == "disconnected"
    back = connect(client, tenant_a, access_key_for("acme"))["integration"]
    assert (back["id"], back["status"]) == (created["id"], "connected")
