"""A double click on "connect Yuki", with real commits: the second request waits for the
first one's transaction and reconnects the integration it made, instead of inserting a
second one and failing on the unique index with a 500 (harness: tests/integration/racing.py,
no sleeps)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from smbfinance.audit.models import AuditEntry
from smbfinance.extensions import db
from smbfinance.integrations import yuki_connect_service
from smbfinance.integrations.models import Integration
from smbfinance.integrations.providers.yuki import YukiSettings
from smbfinance.integrations.sandbox.yuki import access_key_for
from smbfinance.tenancy import tenant_scope
from tests.conftest import register_tenant
from tests.integration import sync_fixtures as fx
from tests.integration.racing import race
from tests.integration.sync_fixtures import *  # noqa: F403  - the fixtures


def test_connecting_the_same_administration_twice_at_once_reconnects_the_first(
        app, box, yuki_sim):
    # given a company, and two requests connecting the same Yuki administration
    tenant = register_tenant(app.test_client(), "Double Click BV")
    settings = YukiSettings(access_key="", service_url=yuki_sim.service_url)
    # when the first has written its integration but not committed, and the second starts
    results = race(app, tenant.tenant_id, lambda _position, session:
                   yuki_connect_service.connect_yuki(
                       session=session, actor=fx.owner(tenant), settings=settings, box=box,
                       access_key=access_key_for("acme"), enqueue=lambda *a, **k: None))
    # then both succeed with the one integration, the second as a reconnection
    assert not [r for r in results if isinstance(r, Exception)], results
    assert results[0].id == results[1].id
    with app.app_context():
        session = Session(db.engine)
        with tenant_scope(session, tenant.tenant_id):
            rows = session.execute(select(Integration.id)).scalars().all()
            entries = session.execute(
                select(AuditEntry.before).where(AuditEntry.action == "integration.connected")
                .order_by(AuditEntry.id)).scalars().all()
            session.rollback()
        session.close()
    assert rows == [results[0].id]
    assert [before is None for before in entries] == [True, False]
