"""Factories for API-level test data: members with a role, sign-ins, unique emails."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import text

from smbfinance.db import utcnow
from smbfinance.tenancy import tenant_scope
from tests.conftest import TenantFixture

PASSWORD = "correct horse battery"


def unique_email(prefix: str = "person") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}@example.com"


def login(client: FlaskClient, email: str, password: str = PASSWORD, **extra: Any) -> Any:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password, **extra})


def signed_in(response: Any, *, email: str, password: str = PASSWORD) -> TenantFixture:
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return TenantFixture(
        tenant_id=uuid.UUID(body["tenant"]["id"]), user_id=uuid.UUID(body["user"]["id"]),
        email=email, password=password, access_token=body["access_token"],
        refresh_token=body["refresh_token"],
    )


def add_member(client: FlaskClient, owner: TenantFixture, role: str,
               email: str | None = None) -> TenantFixture:
    """The owner gives a new person `role`; that person signs in to the owner's company."""
    email = email or unique_email(role)
    response = client.post("/api/v1/members", headers=owner.headers,
                           json={"email": email, "role": role, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    return signed_in(login(client, email, tenant_id=str(owner.tenant_id)), email=email)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def running_idempotency_key(session: Any, tenant: TenantFixture, *, key: str, path: str,
                            body: bytes) -> None:
    """A first POST of `body` to `path` under `key` that is still running: the row the
    server claims, with the fingerprint it computes (method, path, query string, body)."""
    digest = hashlib.sha256()
    for part in ("POST", path, ""):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(body)
    with tenant_scope(session, tenant.tenant_id):
        session.execute(text(
            "INSERT INTO idempotency_keys (key, method, path, request_sha256, state,"
            " expires_at) VALUES (:key, 'POST', :path, :sha, 'running', :expires)"),
            {"key": key, "path": path, "sha": digest.hexdigest(),
             "expires": utcnow() + timedelta(hours=24)})
        session.commit()
