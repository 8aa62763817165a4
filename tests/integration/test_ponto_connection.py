"""A Ponto integration stored in PostgreSQL, against the simulator over loopback: rotated
refresh tokens are sealed and committed at once (the old one is dead at Ponto), never
inside an open transaction; disconnecting revokes the grant and forgets the tokens; another
company cannot touch it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from sqlalchemy import select, text

from smbfinance.auth.models import Role
from smbfinance.auth.permissions import Actor
from smbfinance.db import transaction
from smbfinance.errors import NotFound
from smbfinance.integrations import disconnect_service, ponto_service, service
from smbfinance.integrations.models import Integration
from smbfinance.integrations.providers import ponto
from smbfinance.integrations.providers.errors import TokenRevoked
from smbfinance.integrations.providers.http import HttpPolicy
from smbfinance.integrations.sandbox.clock import ManualClock
from smbfinance.integrations.sandbox.ponto import PontoSimulator
from smbfinance.integrations.secrets import SecretBox
from smbfinance.tenancy import tenant_scope

START = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def sim(clock):
    simulator = PontoSimulator(clock=clock)
    server = simulator.serve().start()
    yield simulator
    server.stop()


@pytest.fixture
def settings(sim):
    return ponto.PontoSettings(client_id=sim.client_id, client_secret=sim.client_secret,
                               redirect_uri="http://127.0.0.1:9/cb", api_url=sim.api_url,
                               authorization_url=sim.authorization_url,
                               policy=HttpPolicy(max_attempts=1))


@pytest.fixture
def box(app):
    return SecretBox.from_config(app.config["INTEGRATION_ENCRYPTION_KEYS"])


def owner(tenant):
    return Actor(user_id=tenant.user_id, tenant_id=tenant.tenant_id, role=Role.OWNER)


def connected(sim, settings, clock, db_session, tenant, box):
    pkce = ponto.new_pkce()
    answer = requests.get(ponto.authorization_url(settings, state="s", pkce=pkce),
                          allow_redirects=False, timeout=5)
    code = parse_qs(urlparse(answer.headers["Location"]).query)["code"][0]
    tokens = ponto.PontoOAuth(settings, clock=clock.now).exchange_code(code, pkce.verifier)
    with tenant_scope(db_session, tenant.tenant_id):
        integration = service.create_integration(
            session=db_session, actor=owner(tenant), box=box, provider="ponto",
            credentials=ponto_service.credentials_of(tokens), external_id="org",
            token_expires_at=tokens.expires_at)
    return integration, tokens


def stored_refresh(db_session, tenant, integration_id, box):
    with tenant_scope(db_session, tenant.tenant_id), transaction(db_session):
        row = db_session.execute(select(Integration).where(
            Integration.id == integration_id).execution_options(populate_existing=True)
        ).scalar_one()
        return service.read_credentials(row, box=box)["refresh_token"], row.token_expires_at


def test_a_rotated_refresh_token_is_sealed_and_committed_before_use(
        sim, settings, clock, client, db_session, tenant_a, box):
    # given a stored integration whose access token has expired
    integration, tokens = connected(sim, settings, clock, db_session, tenant_a, box)
    clock.advance(timedelta(hours=1))
    # when the adapter built from the row reads accounts (no transaction open meanwhile)
    with tenant_scope(db_session, tenant_a.tenant_id):
        adapter = ponto_service.ponto_client(session=db_session, integration=integration,
                                             box=box, settings=settings, clock=clock.now)
        assert len(adapter.accounts()) == 2
    # then the row holds the new refresh token, sealed, and its new expiry
    refresh, expires = stored_refresh(db_session, tenant_a, integration.id, box)
    assert refresh == adapter.tokens.refresh_token != tokens.refresh_token
    assert expires == adapter.tokens.expires_at
    # and the old refresh token is dead at Ponto, so the stored one is the only good one
    with pytest.raises(TokenRevoked):
        ponto.PontoOAuth(settings).refresh(tokens.refresh_token)
    with tenant_scope(db_session, tenant_a.tenant_id):
        dump = "\n".join(db_session.execute(text(
            "SELECT row_to_json(i)::text FROM integrations i")).scalars())
    assert refresh not in dump


def test_provider_calls_inside_an_open_transaction_are_refused(
        sim, settings, clock, client, db_session, tenant_a, box):
    integration, _ = connected(sim, settings, clock, db_session, tenant_a, box)
    clock.advance(timedelta(hours=1))
    with tenant_scope(db_session, tenant_a.tenant_id):
        adapter = ponto_service.ponto_client(session=db_session, integration=integration,
                                             box=box, settings=settings, clock=clock.now)
        with transaction(db_session), pytest.raises(RuntimeError, match="open transaction"):
            adapter.accounts()


def test_disconnect_revokes_at_ponto_and_forgets_the_tokens(
        sim, settings, clock, client, db_session, tenant_a, tenant_b, box):
    # given a stored integration
    integration, tokens = connected(sim, settings, clock, db_session, tenant_a, box)
    # when another company tries to disconnect it, then its owner does
    with tenant_scope(db_session, tenant_b.tenant_id), pytest.raises(NotFound):
        disconnect_service.disconnect(session=db_session, actor=owner(tenant_b),
                                      integration_id=integration.id, box=box,
                                      ponto_settings=settings)
    with tenant_scope(db_session, tenant_a.tenant_id):
        done = disconnect_service.disconnect(session=db_session, actor=owner(tenant_a),
                                             integration_id=integration.id, box=box,
                                             ponto_settings=settings)
    # then Ponto no longer honours the grant, and nothing of it is stored
    assert done.status == "disconnected"
    assert done.credentials is None
    with pytest.raises(TokenRevoked):
        ponto.PontoOAuth(settings).refresh(tokens.refresh_token)
    assert requests.get(sim.api_url + "/accounts", timeout=5, headers={
        "Authorization": f"Bearer {tokens.access_token}"}).status_code == 401


def test_disconnect_forgets_the_tokens_even_when_ponto_is_down(
        sim, settings, clock, client, db_session, tenant_a, box):
    integration, _ = connected(sim, settings, clock, db_session, tenant_a, box)
    sim.faults.add("status", path="/oauth2/revoke", status=503)
    with tenant_scope(db_session, tenant_a.tenant_id):
        done = disconnect_service.disconnect(session=db_session, actor=owner(tenant_a),
                                             integration_id=integration.id, box=box,
                                             ponto_settings=settings)
    assert done.status == "disconnected" and done.credentials is None
    assert done.last_error_code == "RevokeFailed"
    assert done.last_error.startswith("revoking at Ponto failed")
