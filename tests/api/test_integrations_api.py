"""GET /api/v1/integrations: the company's integrations with health and freshness, never
their secrets; other tenants' integrations never show; a database dump holds no secret."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from smbfinance.auth.models import Role
from smbfinance.auth.permissions import Actor
from smbfinance.db import utcnow
from smbfinance.errors import Forbidden
from smbfinance.integrations import service
from smbfinance.integrations.models import Integration
from smbfinance.integrations.secrets import SecretBox
from smbfinance.tenancy import tenant_scope
from tests.conftest import TenantFixture
from tests.factories import add_member

URL = "/api/v1/integrations"
REFRESH = "ponto-refresh-token-6b1d2f0a9c"
ACCESS = "ponto-access-token-93e1c7d5aa"


def box(app: Flask) -> SecretBox:
    return SecretBox.from_config(app.config["INTEGRATION_ENCRYPTION_KEYS"])


def connect(app: Flask, db_session, tenant: TenantFixture, provider: str = "ponto",
            **fields) -> Integration:
    actor = Actor(user_id=tenant.user_id, tenant_id=tenant.tenant_id, role=Role.OWNER)
    with tenant_scope(db_session, tenant.tenant_id):
        integration = service.create_integration(
            session=db_session, actor=actor, box=box(app), provider=provider,
            credentials={"access_token": ACCESS, "refresh_token": REFRESH},
            display_name=f"{provider} demo", external_id=f"org-{tenant.tenant_id}", **fields)
    db_session.commit()
    return integration


def test_the_list_shows_health_and_freshness_without_secrets(
        app: Flask, client: FlaskClient, db_session, tenant_a: TenantFixture) -> None:
    # given a Ponto integration whose consent ends in ten days
    connect(app, db_session, tenant_a, consent_expires_at=utcnow() + timedelta(days=10))
    # when the company lists its integrations
    response = client.get(URL, headers=tenant_a.headers)
    # then it sees provider, status, health and freshness, and no credential
    assert response.status_code == 200
    (item,) = response.get_json()["data"]
    assert item["provider"] == "ponto"
    assert item["status"] == "connected"
    assert item["health"] == "consent_expiring"
    assert item["synchronized_at"] is None
    assert item["next_sync_at"]
    assert "credentials" not in item
    assert REFRESH not in response.get_data(as_text=True)
    assert ACCESS not in response.get_data(as_text=True)


def test_other_tenants_integrations_never_show(
        app: Flask, client: FlaskClient, db_session, tenant_a: TenantFixture,
        tenant_b: TenantFixture) -> None:
    # given an integration of tenant A
    mine = connect(app, db_session, tenant_a)
    # when tenant B lists, filters, or pages from A's id
    listed = client.get(URL, headers=tenant_b.headers).get_json()["data"]
    filtered = client.get(f"{URL}?provider=ponto", headers=tenant_b.headers).get_json()["data"]
    paged = client.get(f"{URL}?starting_after={mine.id}", headers=tenant_b.headers)
    # then nothing of A's shows, and A's id is unknown to B
    assert listed == filtered == []
    assert paged.status_code == 404
    assert client.get(f"{URL}?starting_after={mine.id}",
                      headers=tenant_a.headers).status_code == 200


def test_the_list_needs_a_token_and_filters_by_provider(
        app: Flask, client: FlaskClient, db_session, tenant_a: TenantFixture) -> None:
    connect(app, db_session, tenant_a, "ponto")
    connect(app, db_session, tenant_a, "yuki")
    assert client.get(URL).status_code == 401
    yuki = client.get(f"{URL}?provider=yuki", headers=tenant_a.headers).get_json()["data"]
    assert [i["provider"] for i in yuki] == ["yuki"]
    assert client.get(f"{URL}?provider=exact", headers=tenant_a.headers).status_code == 422
    page = client.get(f"{URL}?limit=1", headers=tenant_a.headers).get_json()
    assert page["has_more"] is True


def test_a_viewer_reads_but_cannot_store_credentials(
        app: Flask, client: FlaskClient, db_session, tenant_a: TenantFixture) -> None:
    viewer = add_member(client, tenant_a, "viewer")
    assert client.get(URL, headers=viewer.headers).status_code == 200
    actor = Actor(user_id=viewer.user_id, tenant_id=tenant_a.tenant_id, role=Role.VIEWER)
    with tenant_scope(db_session, tenant_a.tenant_id), pytest.raises(Forbidden):
        service.create_integration(session=db_session, actor=actor, box=box(app),
                                   provider="yuki", credentials={"access_key": "k"})


def test_a_database_dump_holds_no_secret_and_refuses_plaintext(
        app: Flask, db_session, tenant_a: TenantFixture) -> None:
    # given a stored integration
    integration = connect(app, db_session, tenant_a)
    # when every column of every row is read as text, as pg_dump would write it
    with tenant_scope(db_session, tenant_a.tenant_id):
        dump = "\n".join(db_session.execute(text(
            "SELECT row_to_json(i)::text FROM integrations i")).scalars())
        # then neither token appears, but the sealed value opens to them with the key
        assert integration.credentials in dump
        assert ACCESS not in dump and REFRESH not in dump
        assert service.read_credentials(integration, box=box(app))["refresh_token"] == REFRESH
        # and the database itself refuses a credential that is not sealed
        with pytest.raises(IntegrityError), db_session.begin_nested():
            db_session.execute(text("UPDATE integrations SET credentials = :raw"),
                               {"raw": REFRESH})


def test_credentials_rotate_to_a_new_key(app: Flask, db_session,
                                         tenant_a: TenantFixture) -> None:
    from smbfinance.integrations.secrets import generate_key

    integration = connect(app, db_session, tenant_a)
    rotated_box = SecretBox.from_config(
        f"new:{generate_key()},{app.config['INTEGRATION_ENCRYPTION_KEYS']}")
    with tenant_scope(db_session, tenant_a.tenant_id):
        assert service.rotate_credentials_key(session=db_session, integration=integration,
                                              box=rotated_box)
        assert integration.credentials_key_id == "new"
        assert not service.rotate_credentials_key(session=db_session,
                                                  integration=integration, box=rotated_box)
        assert service.read_credentials(integration, box=rotated_box)["access_token"] == ACCESS


def run_sync(db_session, tenant: TenantFixture, integration: Integration, *, error=None,
             counts=None):
    with tenant_scope(db_session, tenant.tenant_id):
        log = service.start_sync(session=db_session, integration=integration, trigger="tick")
        service.finish_sync(session=db_session, integration=integration, log=log,
                            counts=counts or {"transactions_created": 3}, calls=4,
                            error=error)
    db_session.commit()
    return log


def test_sync_logs_list_runs_newest_first_and_carry_health(
        app: Flask, client: FlaskClient, db_session, tenant_a: TenantFixture) -> None:
    from smbfinance.integrations.providers.errors import ProviderUnavailable, TokenRevoked

    # given an integration that synced once, then failed twice, the last time for good
    integration = connect(app, db_session, tenant_a)
    first = run_sync(db_session, tenant_a, integration)
    run_sync(db_session, tenant_a, integration,
             error=ProviderUnavailable("ponto answered 503", provider="ponto", status=503))
    health = client.get(URL, headers=tenant_a.headers).get_json()["data"][0]
    assert health["health"] == "degraded"
    assert health["synchronized_at"] is not None
    last = run_sync(db_session, tenant_a, integration,
                    error=TokenRevoked("Ponto refused the grant", provider="ponto"))
    # when its sync logs are read
    url = f"{URL}/{integration.id}/sync-logs"
    logs = client.get(url, headers=tenant_a.headers).get_json()["data"]
    # then the runs come newest first with status, counts, calls and the error
    assert [entry["status"] for entry in logs] == ["failed", "failed", "success"]
    assert logs[0]["id"] == str(last.id)
    assert logs[0]["error_code"] == "TokenRevoked"
    assert logs[2]["counts"] == {"transactions_created": 3}
    assert logs[2]["calls"] == 4
    assert logs[2]["finished_at"] >= logs[2]["started_at"]
    # and the integration is failing: a person must reconnect
    listed = client.get(URL, headers=tenant_a.headers).get_json()["data"][0]
    assert listed["health"] == "failing"
    assert listed["last_error_code"] == "TokenRevoked"
    assert listed["consecutive_failures"] == 2
    # and paging goes on after a log
    page = client.get(f"{url}?limit=1&starting_after={logs[1]['id']}",
                      headers=tenant_a.headers).get_json()
    assert [entry["id"] for entry in page["data"]] == [str(first.id)]
    assert page["has_more"] is False


def test_another_tenants_sync_logs_are_not_found(
        app: Flask, client: FlaskClient, db_session, tenant_a: TenantFixture,
        tenant_b: TenantFixture) -> None:
    # given tenant A's integration with a run
    integration = connect(app, db_session, tenant_a)
    log = run_sync(db_session, tenant_a, integration)
    other = connect(app, db_session, tenant_b)
    url = f"{URL}/{integration.id}/sync-logs"
    # when tenant B asks for them, or pages B's own logs from A's log id
    # then both are 404, as for an id that does not exist
    assert client.get(url, headers=tenant_b.headers).status_code == 404
    assert client.get(f"{URL}/{other.id}/sync-logs?starting_after={log.id}",
                      headers=tenant_b.headers).status_code == 404
    assert client.get(f"{URL}/{uuid4()}/sync-logs", headers=tenant_a.headers).status_code == 404
    assert client.get(url, headers=tenant_a.headers).status_code == 200
