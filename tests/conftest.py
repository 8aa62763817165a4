"""Test infrastructure: a real PostgreSQL and Redis (TEST_DATABASE_URL / TEST_REDIS_URL,
or embedded servers under .data/test/), a fresh database migrated by the owner role, and
an app that connects as the application role.

Each test runs inside a transaction that is rolled back; the app's session joins it with
savepoints, so requests made through the test client are rolled back too.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from smbfinance.devstack.prepare import Infrastructure, migrate, provide

ROOT = Path(__file__).resolve().parent.parent
# One database per pytest process, so parallel runs on one server never collide.
TEST_DB = f"smbfinance_test_{os.getpid()}"


@pytest.fixture(scope="session")
def infrastructure() -> Iterator[Infrastructure]:
    infra = provide(
        data_dir=ROOT / ".data" / "test",
        database=TEST_DB,
        database_url=None,
        migration_url=None,
        admin_url=os.environ.get("TEST_DATABASE_URL"),
        redis_url=_own_redis_database(os.environ.get("TEST_REDIS_URL")),
        recreate=True,
        persist_redis=False,
        say=lambda _msg: None,
    )
    migrate(env_name="testing", infrastructure=infra, say=lambda _msg: None)
    yield infra
    _drop_database(infra)
    infra.stop()


def _own_redis_database(url: str | None) -> str | None:
    """A given Redis server is shared by the parallel workers (pytest-xdist): each takes its
    own database number, so a test that empties Redis empties only its worker's."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if url is None or not worker.startswith("gw"):
        return url
    from redis.connection import parse_url

    base = url.rsplit("/", 1)[0] if parse_url(url).get("db") is not None else url.rstrip("/")
    return f"{base}/{1 + int(worker[2:]) % 15}"


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    Flask reuses an app context that is already pushed (by `db_session`, or by a test's
    `with app.app_context()`), which would carry `g` (the authenticated actor) and the
    scoped session from one request into the next.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        with self.application.app_context():
            return super().open(*args, **kwargs)


def _drop_database(infra: Infrastructure) -> None:
    from sqlalchemy import create_engine, text

    from config import normalise_database_url

    if infra.urls is None:
        return
    engine = create_engine(normalise_database_url(infra.urls.admin), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)'))
    finally:
        engine.dispose()


def make_app(infra: Infrastructure, **overrides: Any) -> Flask:
    from config import normalise_database_url
    from smbfinance import create_app

    settings = {
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(infra.database_url),
        "MIGRATION_DATABASE_URL": normalise_database_url(infra.migration_url),
        "REDIS_URL": infra.redis_url,
        "RATELIMIT_STORAGE_URI": infra.redis_url,
    }
    settings.update(overrides)
    app = create_app("testing", overrides=settings)
    app.test_client_class = IsolatedClient
    return app


@pytest.fixture(scope="session")
def app(infrastructure: Infrastructure) -> Flask:
    return make_app(infrastructure)


@pytest.fixture()
def db_session(app: Flask) -> Iterator[Any]:
    """The app's scoped session, bound to one connection whose transaction is rolled back.

    A plain SQLAlchemy Session: Flask-SQLAlchemy's own Session.get_bind() returns the
    engine even when the session is bound to a connection, so its commits were real.
    Each request (and the test body) gets its own session on that one connection.
    """
    from flask_sqlalchemy.session import _app_ctx_id
    from sqlalchemy.orm import scoped_session, sessionmaker

    from smbfinance.extensions import db

    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                         expire_on_commit=False),
            scopefunc=_app_ctx_id,
        )
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture()
def client(app: Flask, db_session: Any) -> FlaskClient:
    return app.test_client()


@dataclass
class TenantFixture:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def register_tenant(client: FlaskClient, name: str) -> TenantFixture:
    email = f"{name.lower().replace(' ', '.')}.{uuid.uuid4().hex[:8]}@example.com"
    password = "correct horse battery"
    response = client.post("/api/v1/auth/register", json={
        "company_name": name, "email": email, "password": password})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    return TenantFixture(
        tenant_id=uuid.UUID(body["tenant"]["id"]), user_id=uuid.UUID(body["user"]["id"]),
        email=email, password=password, access_token=body["access_token"],
        refresh_token=body["refresh_token"],
    )


@pytest.fixture()
def tenant_a(client: FlaskClient) -> TenantFixture:
    return register_tenant(client, "Alpha Bakery")


@pytest.fixture()
def tenant_b(client: FlaskClient) -> TenantFixture:
    return register_tenant(client, "Beta Brewery")
