"""Connecting Ponto over loopback against the simulator: authorize (PKCE verifier kept
server-side, state bound to the user and company), callback (code exchanged, tokens sealed,
integration created, first sync asked for), and Ponto webhooks in (signed JWT verified,
the organization's integration made due; forged, stale and replayed deliveries refused and
counted). Another company can neither finish a connect nor see the result."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from sqlalchemy import text

from smbfinance.db import transaction, utcnow
from smbfinance.integrations import connectors as connector_config
from smbfinance.integrations import rest
from smbfinance.integrations.models import Integration
from smbfinance.integrations.providers.http import HttpClient
from smbfinance.integrations.providers.ponto_webhooks import (
    JwksCache,
    PontoWebhookVerifier,
    RedisReplayGuard,
)
from smbfinance.platform import redis_client
from smbfinance.tenancy import tenant_scope
from tests.factories import add_member
from tests.integration import sync_fixtures as fx
from tests.integration.sync_fixtures import *  # noqa: F403  - the fixtures

AUTHORIZE = "/api/v1/integrations/ponto/authorize"
CALLBACK = "/api/v1/integrations/ponto/callback"
WEBHOOK = "/api/v1/webhooks/ponto"


@pytest.fixture
def configured(app, ponto_sim, clock):
    # The app is shared by the session: put its configuration back afterwards.
    saved = {key: app.config.get(key) for key in (
        "PONTO_CLIENT_ID", "PONTO_CLIENT_SECRET", "PONTO_API_URL", "PONTO_AUTHORIZATION_URL",
        "PONTO_REDIRECT_URI", "PONTO_WEBHOOK_ISSUER")}
    app.config.update(PONTO_CLIENT_ID=ponto_sim.client_id,
                      PONTO_CLIENT_SECRET=ponto_sim.client_secret,
                      PONTO_API_URL=ponto_sim.api_url,
                      PONTO_AUTHORIZATION_URL=ponto_sim.authorization_url,
                      PONTO_REDIRECT_URI="http://127.0.0.1:9/connected",
                      PONTO_WEBHOOK_ISSUER=ponto_sim.issuer)
    redis = redis_client(app)
    app.extensions[connector_config.VERIFIER] = PontoWebhookVerifier(
        keys=JwksCache(HttpClient(provider="ponto", base_url=ponto_sim.api_url),
                       clock=clock.now),
        audience=ponto_sim.client_id, issuer=ponto_sim.issuer, clock=clock.now,
        replay=RedisReplayGuard(redis))
    yield app
    app.config.update(saved)
    app.extensions.pop(connector_config.VERIFIER, None)


@pytest.fixture
def sent(monkeypatch):
    calls: list[tuple] = []
    monkeypatch.setattr(rest, "_enqueue_sync", lambda *a, **k: calls.append((a, k)))
    return calls


def consent_at_ponto(authorization_url: str, company: str = "acme") -> dict[str, str]:
    """The user's browser at Ponto: consents, and is sent back with code and state."""
    answer = requests.get(authorization_url + f"&company={company}", allow_redirects=False,
                          timeout=5)
    back = parse_qs(urlparse(answer.headers["Location"]).query)
    return {"code": back["code"][0], "state": back["state"][0]}


def test_connecting_ponto_end_to_end(configured, client, db_session, tenant_a, tenant_b,
                                     ponto_sim, sent):
    # given the owner starts connecting
    started = client.get(AUTHORIZE, headers=tenant_a.headers)
    assert started.status_code == 200, started.get_json()
    body = started.get_json()
    query = parse_qs(urlparse(body["authorization_url"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["state"] == [body["state"]]
    assert "code_verifier" not in body["authorization_url"]
    back = consent_at_ponto(body["authorization_url"])
    # when another company (or a viewer of this one) brings the code back, it is refused
    assert client.get(CALLBACK, query_string=back, headers=tenant_b.headers
                      ).status_code == 422
    viewer = add_member(client, tenant_a, "viewer")
    assert client.get(CALLBACK, query_string=back, headers=viewer.headers).status_code == 403
    # when the owner brings it back
    done = client.get(CALLBACK, query_string=back, headers=tenant_a.headers)
    # then the integration exists, connected to the organization, its first sync asked for
    assert done.status_code == 201, done.get_json()
    integration = done.get_json()
    org = next(o for o in ponto_sim.organizations.values() if o.company.key == "acme")
    assert (integration["provider"], integration["status"], integration["external_id"]) == (
        "ponto", "connected", org.id)
    assert "credentials" not in integration
    ((args, kwargs),) = sent
    assert kwargs == {"trigger": "connect"} and args[0] == tenant_a.tenant_id
    # and the tokens are stored sealed only
    with tenant_scope(db_session, tenant_a.tenant_id), transaction(db_session):
        stored = db_session.execute(text("SELECT credentials FROM integrations")).scalar_one()
    assert stored.startswith("v1.") and "access_token" not in stored
    # and the state cannot be used twice; the other company sees nothing
    assert client.get(CALLBACK, query_string=back, headers=tenant_a.headers
                      ).status_code == 422
    assert client.get("/api/v1/integrations", headers=tenant_b.headers
                      ).get_json()["data"] == []


def test_a_forged_code_or_state_is_refused(configured, client, tenant_a, sent):
    started = client.get(AUTHORIZE, headers=tenant_a.headers).get_json()
    assert client.get(CALLBACK, query_string={"code": "forged", "state": started["state"]},
                      headers=tenant_a.headers).status_code in (409, 422)
    assert client.get(CALLBACK, query_string={"code": "x", "state": "never-issued"},
                      headers=tenant_a.headers).status_code == 422
    assert not sent


def test_without_ponto_configured_connecting_is_a_conflict(client, tenant_a):
    assert client.get(AUTHORIZE, headers=tenant_a.headers).status_code == 409
    assert client.post(WEBHOOK, data=b"{}", content_type="application/json"
                       ).status_code == 404


def _org(ponto_sim, company):
    return next(o.id for o in ponto_sim.organizations.values() if o.company.key == company)


def test_a_signed_webhook_makes_the_organizations_integration_due(
        configured, client, db_session, tenant_a, tenant_b, ponto_sim, ponto_settings, clock,
        box):
    # given Ponto integrations of two companies, neither due
    a = fx.connect_ponto(ponto_sim, ponto_settings, clock, db_session, tenant_a, box)
    b = fx.connect_ponto(ponto_sim, ponto_settings, clock, db_session, tenant_b, box,
                         company="bakery")
    # The webhook route makes an integration due at the wall clock's now, so "not due"
    # is an hour past the wall clock: the fixed test clock falls behind it once real
    # time passes START.
    later = utcnow() + timedelta(hours=1)
    for tenant, integration, company in ((tenant_a, a, "acme"), (tenant_b, b, "bakery")):
        with tenant_scope(db_session, tenant.tenant_id), transaction(db_session):
            row = db_session.get(Integration, (tenant.tenant_id, integration.id))
            row.external_id, row.next_sync_at = _org(ponto_sim, company), later
    # when Ponto signals new transactions on an account of the first company
    body, headers = ponto_sim.webhook("pontoConnect.account.transactionsCreated",
                                      account_id=ponto_sim.account_id("acme-main"))
    answer = client.post(WEBHOOK, data=body, headers=headers)
    # then that company's integration is due now with a webhook pending; the other is not
    assert answer.status_code == 202, answer.get_json()
    assert answer.get_json()["scheduled"] == 1
    row_a = fx.integration_row(db_session, tenant_a, a.id)
    row_b = fx.integration_row(db_session, tenant_b, b.id)
    assert row_a.webhook_pending_at is not None and row_a.next_sync_at < later
    assert row_b.webhook_pending_at is None and row_b.next_sync_at == later
    # and the same delivery again is a replay, refused and counted
    replayed = client.post(WEBHOOK, data=body, headers=headers)
    assert replayed.status_code == 401 and replayed.get_json()["reason"] == "replayed"


@pytest.mark.parametrize(("forge", "reason"), [
    ({"audience": "someone-else"}, "wrong_audience"),
    ({"issued_at": "stale"}, "expired"),
    ({"body": b'{"data": {}}'}, None),
])
def test_forged_and_stale_webhooks_are_refused_and_counted(
        configured, client, ponto_sim, clock, app, forge, reason):
    ponto_sim.connect("acme")
    if forge.get("issued_at") == "stale":
        forge = {"issued_at": clock.now() - timedelta(minutes=10)}
    body, headers = ponto_sim.webhook("pontoConnect.account.transactionsCreated",
                                      account_id=ponto_sim.account_id("acme-main"), **forge)
    if "body" in forge:  # signed over one body, delivered with another
        body, reason = b'{"data": {"tampered": true}}', "digest_mismatch"
    answer = client.post(WEBHOOK, data=body, headers=headers)
    assert answer.status_code == 401 and answer.get_json()["reason"] == reason
    assert app.extensions[connector_config.VERIFIER].refused[reason] == 1
    unsigned = client.post(WEBHOOK, data=body, content_type="application/json")
    assert unsigned.status_code == 401 and unsigned.get_json()["reason"] == "missing_signature"
