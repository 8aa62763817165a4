"""Liveness and readiness probes, including readiness with a dependency down."""

from __future__ import annotations

import pytest

from smbfinance.extensions import db
from tests.conftest import make_app

CLOSED_DATABASE = "postgresql+psycopg2://smbfinance_app@127.0.0.1:1/x?connect_timeout=2"
CLOSED_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture()
def app_with(infrastructure):
    apps = []
    yield lambda **overrides: apps.append(make_app(infrastructure, **overrides)) or apps[-1]
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def test_live_answers_ok(client):
    # given a running app
    # when the liveness probe is called
    response = client.get("/health/live")
    # then 200 ok
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_ready_checks_database_redis_and_migrations(client):
    # given a migrated database and a reachable Redis
    # when the readiness probe is called
    response = client.get("/health/ready")
    # then every check is ok
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok", "checks": {"database": "ok", "redis": "ok", "migrations": "ok"}}


def test_ready_is_503_naming_the_database_when_it_is_down(app_with):
    # given an app whose database port is closed
    client = app_with(SQLALCHEMY_DATABASE_URI=CLOSED_DATABASE).test_client()
    # when the readiness probe is called
    response = client.get("/health/ready")
    # then 503 problem+json names the database (and migrations cannot be known)
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["checks"]["database"].startswith("unreachable")
    assert body["checks"]["redis"] == "ok"
    assert body["checks"]["migrations"] != "ok"
    assert "database" in body["detail"]


def test_ready_is_503_naming_redis_when_it_is_down(app_with):
    # given an app whose Redis port is closed
    client = app_with(REDIS_URL=CLOSED_REDIS).test_client()
    # when the readiness probe is called
    response = client.get("/health/ready")
    # then 503 problem+json names Redis only
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["checks"]["redis"].startswith("unreachable")
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["migrations"] == "ok"
    assert "redis" in body["detail"] and "database" not in body["detail"]


def test_live_needs_no_dependency(app_with):
    # given an app with both database and Redis unreachable
    client = app_with(SQLALCHEMY_DATABASE_URI=CLOSED_DATABASE,
                      REDIS_URL=CLOSED_REDIS).test_client()
    # when the liveness probe is called
    response = client.get("/health/live")
    # then the process still reports itself alive
    assert response.status_code == 200
