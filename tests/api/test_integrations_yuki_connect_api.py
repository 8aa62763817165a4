"""Connecting Yuki (POST /api/v1/integrations/yuki) and disconnecting any integration
(DELETE /api/v1/integrations/{id}) over loopback against the simulators: the key is checked
at Yuki before anything is stored, stored sealed, audited; a refused key is a 422 naming
`access_key`, an unreachable Yuki a 503; disconnecting revokes Ponto's grant, forgets the
credentials, keeps the data, is idempotent; other companies and lesser roles are refused."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse
from uuid import UUID

import pytest
import requests
from sqlalchemy import select, text

from smbfinance.audit.models import AuditEntry
from smbfinance.db import transaction
from smbfinance.errors import Invalid
from smbfinance.integrations import rest
from smbfinance.integrations.models import SyncLog
from smbfinance.integrations.providers.base import Administration
from smbfinance.integrations.sandbox import demo_data
from smbfinance.integrations.sandbox.yuki import FAULT_ACCESS_KEY, access_key_for
from smbfinance.integrations.yuki_connect_service import _choose
from smbfinance.tenancy import tenant_scope
from tests.factories import add_member
from tests.integration import sync_fixtures as fx
from tests.integration.sync_fixtures import *  # noqa: F403  - the fixtures

YUKI = "/api/v1/integrations/yuki"


@pytest.fixture
def sent(monkeypatch):
    calls: list[tuple] = []
    monkeypatch.setattr(rest, "_enqueue_sync", lambda *a, **k: calls.append((a, k)))
    return calls


def _audit(session, tenant, action):
    with tenant_scope(session, tenant.tenant_id), transaction(session):
        return session.execute(select(AuditEntry).where(AuditEntry.action == action)
                               .order_by(AuditEntry.id)).scalars().all()


def _company(key):
    return next(c for c in demo_data.DEMO_COMPANIES if c.key == key)


def test_connecting_yuki_checks_the_key_stores_it_sealed_and_asks_for_a_sync(
        configured, client, db_session, tenant_a, tenant_b, yuki_sim, sent):
    # given the owner's Yuki access key
    key = access_key_for("acme")
    # when they connect Yuki with it
    answer = client.post(YUKI, json={"access_key": key}, headers=tenant_a.headers)
    # then Yuki was asked (Authenticate, Administrations) and the integration exists
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert (body["provider"], body["status"], body["external_id"], body["display_name"]) == (
        "yuki", "connected", _company("acme").administration_id, "Acme BV")
    assert "access_key" not in body and "credentials" not in body
    assert yuki_sim.operations[:2] == ["Authenticate", "Administrations"]
    ((args, kwargs),) = sent
    assert kwargs == {"trigger": "connect"} and args[0] == tenant_a.tenant_id
    # and the key is stored sealed only, and the connection audited without it
    with tenant_scope(db_session, tenant_a.tenant_id), transaction(db_session):
        stored = db_session.execute(text("SELECT credentials FROM integrations")).scalar_one()
    assert stored.startswith("v1.") and key not in stored
    (entry,) = _audit(db_session, tenant_a, "integration.connected")
    assert key not in str(entry.after) and entry.after["provider"] == "yuki"
    # and the other company sees nothing
    assert client.get("/api/v1/integrations", headers=tenant_b.headers
                      ).get_json()["data"] == []
    # when the owner connects the same administration again, the one integration is reused
    again = client.post(YUKI, json={"access_key": key, "administration_name": "acme bv"},
                        headers=tenant_a.headers)
    assert again.status_code == 201 and again.get_json()["id"] == body["id"]


def test_a_refused_key_is_a_422_naming_the_field_and_nothing_is_stored(
        configured, client, db_session, tenant_a, yuki_sim, sent):
    # given Yuki answers the key with a SOAP fault
    answer = client.post(YUKI, json={"access_key": "not-a-real-key"}, headers=tenant_a.headers)
    # then the caller is told which field is wrong
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["errors"][0]["field"] == "access_key"
    assert answer.get_json()["errors"][0]["code"] == "invalid_access_key"
    # and a fault knob on Authenticate with the access-key text says the same
    yuki_sim.faults.add("soap_fault", message=FAULT_ACCESS_KEY)
    faulted = client.post(YUKI, json={"access_key": access_key_for("acme")},
                          headers=tenant_a.headers)
    assert faulted.status_code == 422 and faulted.get_json()["errors"][0]["field"] == "access_key"
    # and an unknown administration is refused naming that field
    unknown = client.post(YUKI, json={"access_key": access_key_for("acme"),
                                      "administration_id": "nope"}, headers=tenant_a.headers)
    assert unknown.status_code == 422
    assert unknown.get_json()["errors"][0]["field"] == "administration_id"
    assert client.get("/api/v1/integrations", headers=tenant_a.headers).get_json()["data"] == []
    assert not sent


@pytest.mark.parametrize(("fault", "params", "status"), [
    ("status", {"status": 503}, 503),
    ("quota", {}, 503),
    ("malformed", {}, 502),
])
def test_yuki_unreachable_or_answering_nonsense_is_a_clear_problem(
        configured, client, tenant_a, yuki_sim, sent, fault, params, status):
    # given Yuki fails every call
    yuki_sim.faults.add(fault, times=10, **params)
    # when the owner connects
    answer = client.post(YUKI, json={"access_key": access_key_for("acme")},
                         headers=tenant_a.headers)
    # then a problem with that status, and nothing stored
    assert answer.status_code == status, answer.get_json()
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert client.get("/api/v1/integrations", headers=tenant_a.headers).get_json()["data"] == []


def test_yuki_not_listening_is_a_503_and_not_configured_a_409(app, client, tenant_a, sent):
    # given no Yuki host configured (the testing configuration), connecting is a conflict
    assert app.config["YUKI_SERVICE_URL"] is None
    assert client.post(YUKI, json={"access_key": "k"}, headers=tenant_a.headers
                       ).status_code == 409
    # given a Yuki host where nothing listens (port 9 on loopback)
    app.config["YUKI_SERVICE_URL"] = "http://127.0.0.1:9/ws/AccountingInfo.asmx"
    try:
        answer = client.post(YUKI, json={"access_key": "k"}, headers=tenant_a.headers)
    finally:
        app.config["YUKI_SERVICE_URL"] = None
    # then a 503 problem, nothing stored
    assert answer.status_code == 503, answer.get_json()
    assert answer.get_json()["code"] == "provider_unreachable"
    assert client.get("/api/v1/integrations", headers=tenant_a.headers).get_json()["data"] == []


def test_viewers_accountants_and_partner_keys_cannot_connect_or_disconnect(
        configured, client, db_session, tenant_a, yuki_sim, box, sent):
    integration = fx.connect_yuki(db_session, tenant_a, box)
    for role in ("viewer", "accountant"):
        member = add_member(client, tenant_a, role)
        assert client.post(YUKI, json={"access_key": access_key_for("acme")},
                           headers=member.headers).status_code == 403
        assert client.delete(f"/api/v1/integrations/{integration.id}",
                             headers=member.headers).status_code == 403
    assert yuki_sim.operations == []
    assert fx.integration_row(db_session, tenant_a, integration.id).status == "connected"


def test_disconnecting_ponto_revokes_forgets_keeps_history_and_is_idempotent(
        configured, client, db_session, tenant_a, tenant_b, ponto_sim, ponto_settings, clock,
        box, connectors):
    # given a connected Ponto integration that has synced once
    integration = fx.connect_ponto(ponto_sim, ponto_settings, clock, db_session, tenant_a, box)
    fx.run(db_session, tenant_a, integration, connectors)
    logs_before = len(fx.logs(db_session, tenant_a, integration.id))
    transactions_before = fx.transaction_rows(db_session, tenant_a)
    assert logs_before == 1 and transactions_before
    path = f"/api/v1/integrations/{integration.id}"
    # when another company tries to disconnect it, it is not found
    assert client.delete(path, headers=tenant_b.headers).status_code == 404
    assert fx.integration_row(db_session, tenant_a, integration.id).status == "connected"
    # when the owner disconnects it
    answer = client.delete(path, headers=tenant_a.headers)
    # then it is disconnected, the grant revoked at Ponto, the tokens forgotten
    assert answer.status_code == 200, answer.get_json()
    assert (answer.get_json()["status"], answer.get_json()["health"]) == (
        "disconnected", "disconnected")
    assert ("POST", "/ponto-connect/oauth2/revoke") in ponto_sim.requests
    row = fx.integration_row(db_session, tenant_a, integration.id)
    assert row.credentials is None and row.next_sync_at is None and row.last_error is None
    # and the sync logs and imported transactions are kept
    assert len(fx.logs(db_session, tenant_a, integration.id)) == logs_before
    assert fx.transaction_rows(db_session, tenant_a) == transactions_before
    # and disconnecting again changes nothing and is audited once
    assert client.delete(path, headers=tenant_a.headers).status_code == 200
    assert len(_audit(db_session, tenant_a, "integration.disconnected")) == 1
    # and "sync now" is refused for it
    assert client.post(path + "/sync", headers=tenant_a.headers).status_code == 409


def test_disconnecting_when_ponto_is_down_still_forgets_and_says_so(
        configured, client, db_session, tenant_a, ponto_sim, ponto_settings, clock, box):
    integration = fx.connect_ponto(ponto_sim, ponto_settings, clock, db_session, tenant_a, box)
    ponto_sim.faults.add("status", path="revoke", status=503, times=10)
    answer = client.delete(f"/api/v1/integrations/{integration.id}", headers=tenant_a.headers)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["status"] == "disconnected" and body["last_error_code"] == "RevokeFailed"
    assert fx.integration_row(db_session, tenant_a, integration.id).credentials is None


def test_disconnecting_yuki_and_connecting_it_again(
        configured, client, db_session, tenant_a, yuki_sim, sent):
    created = client.post(YUKI, json={"access_key": access_key_for("acme")},
                          headers=tenant_a.headers).get_json()
    gone = client.delete(f"/api/v1/integrations/{created['id']}", headers=tenant_a.headers)
    assert gone.status_code == 200 and gone.get_json()["status"] == "disconnected"
    assert fx.integration_row(db_session, tenant_a, created["id"]).credentials is None
    back = client.post(YUKI, json={"access_key": access_key_for("acme")},
                       headers=tenant_a.headers)
    assert back.status_code == 201 and back.get_json()["id"] == created["id"]
    assert back.get_json()["status"] == "connected"
    with tenant_scope(db_session, tenant_a.tenant_id), transaction(db_session):
        assert db_session.execute(select(SyncLog)).first() is None


def test_an_unknown_integration_id_is_404(client, tenant_a):
    assert client.delete("/api/v1/integrations/0190b6f0-0000-7000-8000-000000000000",
                         headers=tenant_a.headers).status_code == 404


def _admin(provider_id, name):
    return Administration(provider_id=provider_id, name=name, country="BE", vat_number=None,
                          domain_id=None, active=True)


def test_a_key_opening_several_administrations_needs_one_named():
    several = [_admin("a1", "Shop"), _admin("a2", "Holding")]
    with pytest.raises(Invalid) as refused:
        _choose(several, None, None)
    assert refused.value.errors[0].field == "administration_id"
    assert "Holding (a2)" in refused.value.errors[0].message
    assert _choose(several, "A2", None).provider_id == "a2"
    assert _choose(several, None, " shop ").provider_id == "a1"


def test_connecting_ponto_is_audited_without_its_tokens(
        configured, client, db_session, tenant_a, ponto_sim, sent):
    # given the owner went through Ponto's consent page
    started = client.get("/api/v1/integrations/ponto/authorize", headers=tenant_a.headers)
    answer = requests.get(started.get_json()["authorization_url"] + "&company=acme",
                          allow_redirects=False, timeout=5)
    back = parse_qs(urlparse(answer.headers["Location"]).query)
    # when the callback completes the connection
    done = client.get("/api/v1/integrations/ponto/callback", headers=tenant_a.headers,
                      query_string={"code": back["code"][0], "state": back["state"][0]})
    assert done.status_code == 201, done.get_json()
    # then one audit entry names the connection, and holds no token
    (entry,) = _audit(db_session, tenant_a, "integration.connected")
    assert entry.entity_id == UUID(done.get_json()["id"]) and entry.after["provider"] == "ponto"
    assert "token" not in str(entry.after).replace("credentials_key_id", "")


def test_another_company_connecting_the_same_administration_gets_its_own_integration(
        configured, client, db_session, tenant_a, tenant_b, yuki_sim, sent):
    # given company A connected Yuki's acme administration
    mine = client.post(YUKI, json={"access_key": access_key_for("acme")},
                       headers=tenant_a.headers).get_json()
    # when company B connects with the same key
    theirs = client.post(YUKI, json={"access_key": access_key_for("acme")},
                         headers=tenant_b.headers)
    # then B has its own integration and A's is untouched (RLS: B never saw A's row)
    assert theirs.status_code == 201 and theirs.get_json()["id"] != mine["id"]
    listed = client.get("/api/v1/integrations", headers=tenant_a.headers).get_json()["data"]
    assert [(i["id"], i["status"]) for i in listed] == [(mine["id"], "connected")]
    assert len(_audit(db_session, tenant_a, "integration.connected")) == 1
    # and B cannot disconnect A's
    assert client.delete(f"/api/v1/integrations/{mine['id']}",
                         headers=tenant_b.headers).status_code == 404
