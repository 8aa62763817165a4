"""POST /api/v1/integrations/{id}/sync: a person asks for a sync now. Queued (attended,
with their IP) when the budget allows; 429 with Retry-After and the next allowed time when
it does not; 409 when only reconnecting helps; 404 for another company's id."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from flask import Flask
from flask.testing import FlaskClient

from smbfinance.db import transaction, utcnow
from smbfinance.integrations import rest
from smbfinance.integrations.models import Integration
from smbfinance.tenancy import tenant_scope
from tests.api.test_api_keys_api import bearer, create_key
from tests.api.test_integrations_api import connect
from tests.conftest import TenantFixture
from tests.factories import add_member


@pytest.fixture
def sent(monkeypatch):
    calls: list[tuple] = []
    monkeypatch.setattr(rest, "_enqueue_sync", lambda *a, **k: calls.append((a, k)))
    return calls


def url(integration_id) -> str:
    return f"/api/v1/integrations/{integration_id}/sync"


def change(db_session, tenant, integration_id, **values) -> None:
    with tenant_scope(db_session, tenant.tenant_id), transaction(db_session):
        row = db_session.get(Integration, (tenant.tenant_id, integration_id))
        for name, value in values.items():
            setattr(row, name, value)
    db_session.commit()


def test_a_sync_is_queued_as_an_attended_one(app: Flask, client: FlaskClient, db_session,
                                              tenant_a: TenantFixture, sent) -> None:
    # given a Ponto integration with a known account
    integration = connect(app, db_session, tenant_a)
    change(db_session, tenant_a, integration.id, cursors={"accounts": {"acc-1": {}}})
    # when its owner asks for a sync
    response = client.post(url(integration.id), headers=tenant_a.headers)
    # then it is queued, attended (the caller's IP goes to Ponto), once
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["status"] == "queued" and body["attended"] is True
    assert body["bank_synchronizations"] == 1
    ((args, kwargs),) = sent
    assert args == (tenant_a.tenant_id, integration.id)
    assert kwargs == {"trigger": "manual", "customer_ip": "127.0.0.1"}


def test_a_spent_budget_answers_429_with_retry_after(app, client, db_session, tenant_a, sent):
    # given a Ponto account that used its four synchronizations in the last hours
    integration = connect(app, db_session, tenant_a)
    now = utcnow()
    times = [(now - timedelta(hours=h)).isoformat() for h in (4, 3, 2, 1)]
    change(db_session, tenant_a, integration.id, cursors={"accounts": {"acc-1": {}}},
           bank_syncs_today={"acc-1": times})
    # when a sync is asked for
    response = client.post(url(integration.id), headers=tenant_a.headers)
    # then it is refused with when it may be asked again, and nothing is queued
    assert response.status_code == 429
    body = response.get_json()
    assert body["code"] == "sync_budget_spent" and body["reason"] == "bank_budget_spent"
    assert 19 * 3600 < int(response.headers["Retry-After"]) <= 20 * 3600 + 1
    assert body["next_allowed_at"] and not sent


def test_a_yuki_day_without_calls_left_answers_429_until_tomorrow(app, client, db_session,
                                                                 tenant_a, sent):
    integration = connect(app, db_session, tenant_a, provider="yuki")
    change(db_session, tenant_a, integration.id, budget_day=utcnow().date(), calls_today=999)
    response = client.post(url(integration.id), headers=tenant_a.headers)
    assert response.status_code == 429 and response.get_json()["reason"] == "quota_spent"
    assert int(response.headers["Retry-After"]) <= 24 * 3600 and not sent


def test_pressing_twice_within_a_minute_is_refused(app, client, db_session, tenant_a, sent):
    integration = connect(app, db_session, tenant_a, provider="yuki")
    change(db_session, tenant_a, integration.id, last_sync_started_at=utcnow())
    response = client.post(url(integration.id), headers=tenant_a.headers)
    assert response.status_code == 429 and response.get_json()["reason"] == "too_soon"
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_an_ended_consent_or_a_disconnection_answers_409(app, client, db_session, tenant_a,
                                                          sent):
    expired = connect(app, db_session, tenant_a, consent_expires_at=utcnow())
    assert client.post(url(expired.id), headers=tenant_a.headers).status_code == 409
    change(db_session, tenant_a, expired.id, status="disconnected", external_id=None)
    assert client.post(url(expired.id), headers=tenant_a.headers).status_code == 409
    assert not sent


def test_another_company_gets_404_and_a_viewer_403(app, client, db_session, tenant_a,
                                                    tenant_b, sent):
    integration = connect(app, db_session, tenant_a)
    assert client.post(url(integration.id), headers=tenant_b.headers).status_code == 404
    assert client.post(url(uuid4()), headers=tenant_a.headers).status_code == 404
    viewer = add_member(client, tenant_a, "viewer")
    assert client.post(url(integration.id), headers=viewer.headers).status_code == 403
    assert client.post(url(integration.id)).status_code == 401
    assert not sent


def test_a_partner_key_may_ask_but_the_sync_is_not_attended(app, client, db_session,
                                                            tenant_a, sent):
    # given a Ponto integration and a partner key allowed to write integrations
    integration = connect(app, db_session, tenant_a)
    change(db_session, tenant_a, integration.id, cursors={"accounts": {"acc-1": {}}})
    key = create_key(client, tenant_a, "integrations:write")
    # when the partner asks for a sync; then it is queued without a user's IP
    response = client.post(url(integration.id), headers=bearer(key))
    assert response.status_code == 202 and response.get_json()["attended"] is False
    assert sent[0][1]["customer_ip"] is None
    # and a read-only key may not ask
    reader = create_key(client, tenant_a, "integrations:read")
    assert client.post(url(integration.id), headers=bearer(reader)).status_code == 403
