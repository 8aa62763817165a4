"""The tick: due integrations claimed across tenants through the one narrow definer
function (lease, SKIP LOCKED), one task each; a simulated day fast-forwarded on the
simulators' clock keeps every provider budget."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from smbfinance.integrations import budget, dispatch
from smbfinance.tenancy import tenant_scope
from tests.integration import sync_fixtures as fx
from tests.integration.sync_fixtures import *  # noqa: F403  - the fixtures


def test_the_claim_is_refused_outside_the_cross_tenant_scope(client, db_session, tenant_a):
    with tenant_scope(db_session, tenant_a.tenant_id), pytest.raises(DBAPIError) as raised:
        db_session.execute(text(
            "SELECT * FROM cross_tenant_claim_due_integrations(now(), 10, 60)")).all()
    assert "insufficient_privilege" in str(raised.value) or "cross-tenant" in str(raised.value)
    db_session.rollback()


def test_due_integrations_of_every_tenant_are_claimed_once_per_lease(
        client, db_session, tenant_a, tenant_b, box, clock):
    # given a due integration in each of two companies, and one not due
    a = fx.connect_yuki(db_session, tenant_a, box)
    b = fx.connect_yuki(db_session, tenant_b, box)
    later = fx.connect_yuki(db_session, tenant_b, box, company="bakery")
    with tenant_scope(db_session, tenant_b.tenant_id):
        db_session.execute(text("UPDATE integrations SET next_sync_at = :t WHERE id = :id"),
                           {"t": clock.now() + timedelta(hours=1), "id": later.id})
        db_session.commit()
    now = clock.now() + timedelta(seconds=1)
    ours = {a.id, b.id, later.id}

    def tick(at):
        sent: list[tuple] = []
        dispatch.dispatch_due(session=db_session, now=at, chunk=1,
                              send=lambda *args, **kwargs: sent.append((args, kwargs)))
        # Integrations committed by other tests of this process may be due as well.
        return [s for s in sent if s[0][1] in ours]

    # when the tick claims, in chunks of one
    sent = tick(now)
    # then both due ones are sent, each once, with an expiry; the later one is not
    assert sorted(s[0] for s in sent) == sorted([(tenant_a.tenant_id, a.id),
                                                 (tenant_b.tenant_id, b.id)])
    assert all(k == {"trigger": "tick", "expires": dispatch.TASK_EXPIRES_SECONDS}
               for _, k in sent)
    # and the next tick, within the lease, claims nothing
    assert tick(now + timedelta(minutes=1)) == []
    # a lease that ran out (the task was dropped) makes them due again
    assert len(tick(now + timedelta(seconds=dispatch.LEASE_SECONDS + 1))) == 2


def test_a_simulated_day_keeps_every_budget(client, db_session, tenant_a, tenant_b, box,
                                           clock, ponto_sim, ponto_settings, yuki_sim,
                                           connectors):
    # given Ponto and Yuki connected for one company, Ponto for another
    integrations = {
        "a-ponto": (tenant_a, fx.connect_ponto(ponto_sim, ponto_settings, clock, db_session,
                                               tenant_a, box)),
        "a-yuki": (tenant_a, fx.connect_yuki(db_session, tenant_a, box)),
        "b-ponto": (tenant_b, fx.connect_ponto(ponto_sim, ponto_settings, clock, db_session,
                                               tenant_b, box, company="bakery")),
    }
    tenants = {i.id: t for t, i in integrations.values()}
    start = clock.now()
    outcomes: Counter[str] = Counter()
    # when the tick runs every five minutes for a day, running what it claims
    while clock.now() < start + timedelta(days=1):
        claimed = dispatch.claim_due(session=db_session, now=clock.now())
        for tenant_id, integration_id in claimed:
            if integration_id not in tenants:
                continue  # committed by another test of this process
            tenant = tenants[integration_id]
            assert tenant.tenant_id == tenant_id
            outcome = fx.run(db_session, tenant, SimpleNamespace(id=integration_id),
                             connectors)
            outcomes[outcome.status] += 1
        clock.advance(timedelta(minutes=5))
    # then every run succeeded, reads ran about every 15 minutes
    assert set(outcomes) == {"success"}, outcomes
    runs = Counter()
    for tenant, integration in integrations.values():
        for entry in fx.logs(db_session, tenant, integration.id):
            runs[integration.provider] += 1
            assert entry.status == "success", (entry.error_code, entry.error)
            assert "synchronizations_refused" not in entry.counts
    assert runs["ponto"] >= 2 * 90 and runs["yuki"] >= 90
    # and no Ponto account had more than four bank synchronizations in 24 hours (and the
    # engine did use them), nor did Yuki's calls reach the daily quota
    for org in ponto_sim.organizations.values():
        for account in org.accounts.values():
            times = sorted(account.synchronizations)
            assert 3 <= len(times) <= 5
            for first in times:
                assert sum(first <= t < first + timedelta(hours=24) for t in times) <= \
                    budget.PONTO_UNATTENDED_PER_DAY
    used = sum(c for (company, _day), c in yuki_sim.calls.items() if company == "acme")
    assert 0 < used < budget.YUKI_CALLS_PER_DAY


def test_the_scheduler_tick_runs_the_integrations_due_check(client, db_session, tenant_a,
                                                            box, clock):
    # given a due integration
    integration = fx.connect_yuki(db_session, tenant_a, box)
    # when the beat's tick runs (tests send no sync task: SYNC_DISPATCH is off)
    from smbfinance.scheduler.tasks import tick

    result = tick.apply(kwargs={"now_iso": (clock.now() + timedelta(seconds=1)).isoformat()})
    # then the integrations check claimed it (its lease moved it ahead)
    assert result.successful(), result.traceback
    assert result.get()["integrations"] >= 1
    assert fx.integration_row(db_session, tenant_a, integration.id).next_sync_at > \
        clock.now() + timedelta(minutes=5)
