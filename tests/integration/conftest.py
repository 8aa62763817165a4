"""Fixtures the service-level tests share: tenant A's owner, and a session scoped to A."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from smbfinance.auth.models import Role
from smbfinance.auth.permissions import Actor
from smbfinance.tenancy import tenant_scope
from tests.conftest import TenantFixture


@pytest.fixture()
def actor(tenant_a: TenantFixture) -> Actor:
    return Actor(user_id=tenant_a.user_id, tenant_id=tenant_a.tenant_id, role=Role.OWNER)


@pytest.fixture()
def session(db_session: Any, tenant_a: TenantFixture) -> Iterator[Session]:
    with tenant_scope(db_session, tenant_a.tenant_id) as scoped:
        yield scoped
