"""Two "connect Ponto" flows of one company for the same Ponto organization finishing at
the same moment (two tabs): the second waits for the first one's transaction and
reconnects the integration it made, instead of inserting a second one and failing on the
unique index with a 500 (harness: tests/integration/racing.py, no sleeps)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from smbfinance.extensions import db
from smbfinance.integrations import connect_service
from smbfinance.integrations.models import Integration
from smbfinance.platform import redis_client
from smbfinance.tenancy import tenant_scope
from tests.conftest import register_tenant
from tests.integration import sync_fixtures as fx
from tests.integration.racing import race
from tests.integration.sync_fixtures import *  # noqa: F403  - the fixtures


def _code(url: str) -> str:
    answer = requests.get(f"{url}&company=acme", allow_redirects=False, timeout=5)
    return parse_qs(urlparse(answer.headers["Location"]).query)["code"][0]


def test_two_flows_for_one_organization_finishing_together_make_one_integration(
        app, box, ponto_sim, ponto_settings, clock):
    # given a company that started connecting Ponto in two tabs, both consented
    tenant = register_tenant(app.test_client(), "Two Tabs BV")
    actor = fx.owner(tenant)
    with app.app_context():
        starts = [connect_service.start_ponto_connect(
            actor=actor, settings=ponto_settings, redis=redis_client(app), box=box)
            for _ in range(2)]
    codes = [_code(start.authorization_url) for start in starts]
    # when the first callback has written its integration but not committed, and the
    # second one finishes
    results = race(app, tenant.tenant_id, lambda position, session:
                   connect_service.finish_ponto_connect(
                       session=session, actor=actor, settings=ponto_settings,
                       redis=redis_client(app), box=box, code=codes[position],
                       state=starts[position].state, enqueue=lambda *a, **k: None,
                       clock=clock.now))
    # then both succeed with the one integration, the second as a reconnection
    assert not [r for r in results if isinstance(r, Exception)], results
    assert results[0].id == results[1].id
    with app.app_context():
        session = Session(db.engine)
        with tenant_scope(session, tenant.tenant_id):
            rows = session.execute(select(Integration.id)).scalars().all()
            session.rollback()
        session.close()
    assert rows == [results[0].id]
