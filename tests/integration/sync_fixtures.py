"""Shared set-up for the sync engine tests: both simulators on loopback with one manual
clock, connected integrations of a tenant, and the engine's connectors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select, text

from smbfinance.auth.models import Role
from smbfinance.auth.permissions import Actor
from smbfinance.db import transaction
from smbfinance.integrations import ponto_service, service, sync
from smbfinance.integrations.models import Integration, SyncLog
from smbfinance.integrations.providers import ponto
from smbfinance.integrations.providers.http import HttpPolicy
from smbfinance.integrations.providers.yuki import YukiSettings
from smbfinance.integrations.sandbox.clock import ManualClock
from smbfinance.integrations.sandbox.ponto import PontoSimulator
from smbfinance.integrations.sandbox.yuki import YukiSimulator, access_key_for
from smbfinance.integrations.secrets import SecretBox
from smbfinance.platform import redis_client
from smbfinance.tenancy import tenant_scope
from smbfinance.transactions.models import BankTransaction

START = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def ponto_sim(clock):
    simulator = PontoSimulator(clock=clock)
    server = simulator.serve().start()
    yield simulator
    simulator.stop_waiting()
    server.stop()


@pytest.fixture
def yuki_sim(clock):
    simulator = YukiSimulator(clock=clock)
    server = simulator.serve().start()
    yield simulator
    simulator.stop_waiting()
    server.stop()


@pytest.fixture
def configured(app: Flask, yuki_sim: Any, ponto_sim: Any) -> Iterator[Flask]:
    """Both providers pointed at the simulators, for the connect routes (REST and GraphQL);
    the session-wide app's configuration is put back afterwards."""
    keys = ("YUKI_SERVICE_URL", "PONTO_CLIENT_ID", "PONTO_CLIENT_SECRET", "PONTO_API_URL",
            "PONTO_AUTHORIZATION_URL", "PONTO_REDIRECT_URI")
    saved = {key: app.config.get(key) for key in keys}
    app.config.update(YUKI_SERVICE_URL=yuki_sim.service_url,
                      PONTO_CLIENT_ID=ponto_sim.client_id,
                      PONTO_CLIENT_SECRET=ponto_sim.client_secret,
                      PONTO_API_URL=ponto_sim.api_url,
                      PONTO_AUTHORIZATION_URL=ponto_sim.authorization_url,
                      PONTO_REDIRECT_URI="http://127.0.0.1:9/cb")
    yield app
    app.config.update(saved)


@pytest.fixture
def ponto_settings(ponto_sim):
    return ponto.PontoSettings(client_id=ponto_sim.client_id,
                               client_secret=ponto_sim.client_secret,
                               redirect_uri="http://127.0.0.1:9/cb", api_url=ponto_sim.api_url,
                               authorization_url=ponto_sim.authorization_url,
                               policy=HttpPolicy(max_attempts=1, connect_timeout=2.0,
                                                 read_timeout=2.0))


@pytest.fixture
def box(app):
    return SecretBox.from_config(app.config["INTEGRATION_ENCRYPTION_KEYS"])


@pytest.fixture
def connectors(app, box, ponto_settings, yuki_sim, clock):
    redis = redis_client(app)
    for key in redis.scan_iter("smbfinance:integrations:breaker:*"):
        redis.delete(key)
    return sync.Connectors(
        box=box, ponto=ponto_settings,
        yuki=YukiSettings(access_key="", service_url=yuki_sim.service_url,
                          policy=HttpPolicy(max_attempts=1, connect_timeout=2.0,
                                                 read_timeout=2.0)),
        redis=redis, clock=clock.now, sleep=lambda _seconds: None, random=lambda: 0.5)


def owner(tenant):
    return Actor(user_id=tenant.user_id, tenant_id=tenant.tenant_id, role=Role.OWNER)


def connect_ponto(ponto_sim, settings, clock, session, tenant, box, company="acme"):
    pkce = ponto.new_pkce()
    answer = requests.get(ponto.authorization_url(settings, state="s", pkce=pkce,
                                                  extra={"company": company}),
                          allow_redirects=False, timeout=5)
    code = parse_qs(urlparse(answer.headers["Location"]).query)["code"][0]
    tokens = ponto.PontoOAuth(settings, clock=clock.now).exchange_code(code, pkce.verifier)
    with tenant_scope(session, tenant.tenant_id):
        integration = service.create_integration(
            session=session, actor=owner(tenant), box=box, provider="ponto",
            credentials=ponto_service.credentials_of(tokens), external_id=f"org-{company}",
            token_expires_at=tokens.expires_at)
    return _due_at(session, tenant, integration, clock.now())


def connect_yuki(session, tenant, box, company="acme", due_at=START):
    with tenant_scope(session, tenant.tenant_id):
        integration = service.create_integration(
            session=session, actor=owner(tenant), box=box, provider="yuki",
            credentials={"access_key": access_key_for(company)})
    return _due_at(session, tenant, integration, due_at)


def _due_at(session, tenant, integration, at):
    """Due by the test's clock. A new integration is due at the wall clock's now, which
    the fixed START falls behind once a real day passes it (the tick tests then saw
    nothing due)."""
    with tenant_scope(session, tenant.tenant_id):
        session.execute(text("UPDATE integrations SET next_sync_at = :at WHERE id = :id"),
                        {"at": at, "id": integration.id})
        session.commit()
    return integration


def run(session, tenant, integration, connectors, trigger="tick", **kwargs):
    with tenant_scope(session, tenant.tenant_id):
        return sync.sync_integration(session=session, tenant_id=tenant.tenant_id,
                                     integration_id=integration.id, trigger=trigger,
                                     connectors=connectors, **kwargs)


def integration_row(session, tenant, integration_id):
    with tenant_scope(session, tenant.tenant_id), transaction(session):
        return session.execute(select(Integration).where(Integration.id == integration_id)
                               .execution_options(populate_existing=True)).scalar_one()


def logs(session, tenant, integration_id):
    with tenant_scope(session, tenant.tenant_id), transaction(session):
        return session.execute(select(SyncLog).where(SyncLog.integration_id == integration_id)
                               .order_by(SyncLog.id)
                               .execution_options(populate_existing=True)).scalars().all()


def transaction_rows(session, tenant):
    """(dedupe_key, status, amount, version) of every bank transaction, sorted."""
    with tenant_scope(session, tenant.tenant_id), transaction(session):
        return sorted(session.execute(select(
            BankTransaction.dedupe_key, BankTransaction.status, BankTransaction.amount,
            BankTransaction.version)).all())


def count(session, tenant, model):
    with tenant_scope(session, tenant.tenant_id), transaction(session):
        return session.execute(select(func.count()).select_from(model)).scalar_one()
