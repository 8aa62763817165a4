"""A Yuki integration stored in PostgreSQL, against the Yuki simulator over loopback: the
access key comes from the sealed credentials, and the Yuki session is shared between
workers through Redis, sealed, so the daily quota pays for one Authenticate, not one per
worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from smbfinance.auth.models import Role
from smbfinance.auth.permissions import Actor
from smbfinance.integrations import service, yuki_service
from smbfinance.integrations.providers.yuki import YukiSettings
from smbfinance.integrations.sandbox.clock import ManualClock
from smbfinance.integrations.sandbox.yuki import YukiSimulator, access_key_for
from smbfinance.integrations.secrets import SecretBox, generate_key
from smbfinance.platform import redis_client
from smbfinance.tenancy import tenant_scope


@pytest.fixture
def clock():
    return ManualClock(datetime(2026, 11, 22, 8, 0, tzinfo=UTC))


@pytest.fixture
def sim(clock):
    simulator = YukiSimulator(clock=clock)
    server = simulator.serve().start()
    yield simulator
    server.stop()


@pytest.fixture
def box(app):
    return SecretBox.from_config(app.config["INTEGRATION_ENCRYPTION_KEYS"])


@pytest.fixture
def redis(app):
    return redis_client(app)


@pytest.fixture
def integration(client, db_session, tenant_a, box, redis):
    actor = Actor(user_id=tenant_a.user_id, tenant_id=tenant_a.tenant_id, role=Role.OWNER)
    with tenant_scope(db_session, tenant_a.tenant_id):
        stored = service.create_integration(
            session=db_session, actor=actor, box=box, provider="yuki",
            credentials={"access_key": access_key_for("acme")}, external_id="adm")
    yield stored
    redis.delete(f"yuki:session:{stored.tenant_id}:{stored.id}")


def worker(integration, box, sim, redis, clock, key_box=None):
    settings = YukiSettings(access_key="", service_url=sim.service_url)
    return yuki_service.yuki_client(integration=integration, box=key_box or box,
                                    settings=settings, redis=redis, clock=clock.now)


def test_workers_share_one_sealed_session(integration, box, sim, redis, clock):
    # given two workers syncing the same Yuki integration
    first = worker(integration, box, sim, redis, clock)
    second = worker(integration, box, sim, redis, clock)
    # when both read
    assert first.administrations()
    assert second.open_receivables(first.administrations()[0].provider_id) is not None
    # then Yuki saw a single Authenticate, and Redis holds the session sealed, expiring
    assert sim.operations.count("Authenticate") == 1
    key = f"yuki:session:{integration.tenant_id}:{integration.id}"
    session_id = first.session_id()
    assert session_id.encode() not in redis.get(key)
    assert 0 < redis.ttl(key) <= int(timedelta(hours=23).total_seconds())


def test_a_session_yuki_dropped_is_renewed_for_everyone(integration, box, sim, redis, clock):
    first = worker(integration, box, sim, redis, clock)
    first.administrations()
    old = first.session_id()
    sim.expire_sessions()
    second = worker(integration, box, sim, redis, clock)
    assert second.administrations()
    assert second.session_id() != old
    assert first.session_id() == second.session_id()
    assert sim.operations.count("Authenticate") == 2


def test_a_session_sealed_with_a_removed_key_is_just_renewed(integration, box, sim, redis,
                                                             clock, app):
    # given a session cached under a key that is later removed from the configuration
    old_key = SecretBox.from_config(f"gone:{generate_key()},"
                                    f"{app.config['INTEGRATION_ENCRYPTION_KEYS']}")
    worker(integration, box, sim, redis, clock, key_box=old_key).administrations()
    # when a worker without that key reads
    assert worker(integration, box, sim, redis, clock).administrations()
    # then it authenticated again instead of failing
    assert sim.operations.count("Authenticate") == 2
