"""The sync of one Yuki integration over loopback against the simulator: open receivables
and payables become invoices with their contacts, keyed on Yuki's item ids; a repeat changes
nothing; an item paid in Yuki is settled here; faults end in a clear state; the daily quota
is respected."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from smbfinance.contacts.models import Contact
from smbfinance.db import transaction
from smbfinance.integrations import budget
from smbfinance.invoices.models import Invoice
from smbfinance.tenancy import tenant_scope
from tests.integration import sync_fixtures as fx
from tests.integration.sync_fixtures import *  # noqa: F403  - the fixtures


@pytest.fixture
def connected(db_session, tenant_a, box):
    return fx.connect_yuki(db_session, tenant_a, box)


def invoices(session, tenant):
    with tenant_scope(session, tenant.tenant_id), transaction(session):
        return sorted(session.execute(select(
            Invoice.external_ids["yuki"].astext, Invoice.direction, Invoice.status,
            Invoice.outstanding, Invoice.version)).all())


def test_open_items_become_invoices_once(client, db_session, tenant_a, connected, connectors,
                                         yuki_sim, clock):
    # given a connected Yuki integration; when it syncs
    first = fx.run(db_session, tenant_a, connected, connectors)
    # then every open item is one invoice, in both directions, with a contact
    assert first.status == "success", first
    written = invoices(db_session, tenant_a)
    open_items = yuki_sim.open_items("acme", "receivable") + yuki_sim.open_items(
        "acme", "payable")
    assert len(written) == len(open_items) == first.counts["invoices_created"]
    assert {w[1] for w in written} == {"receivable", "payable"}
    assert fx.count(db_session, tenant_a, Contact) == first.counts["contacts_created"] > 0
    row = fx.integration_row(db_session, tenant_a, connected.id)
    assert row.external_id and row.calls_today == fx.logs(db_session, tenant_a,
                                                       connected.id)[-1].calls > 0
    # when it syncs again a few minutes later; then nothing changes
    clock.advance(timedelta(minutes=2))
    second = fx.run(db_session, tenant_a, connected, connectors)
    assert second.status == "success"
    assert (second.counts["invoices_created"], second.counts["invoices_updated"],
            second.counts["contacts_created"]) == (0, 0, 0)
    assert invoices(db_session, tenant_a) == written


def test_items_paid_in_yuki_are_settled_here(client, db_session, tenant_a, connected,
                                             connectors, clock, yuki_sim):
    fx.run(db_session, tenant_a, connected, connectors)
    before = {w[0]: w for w in invoices(db_session, tenant_a)}
    clock.advance(timedelta(days=40))
    outcome = fx.run(db_session, tenant_a, connected, connectors)
    assert outcome.status == "success"
    after = {w[0]: w for w in invoices(db_session, tenant_a)}
    still_open = {i.provider_id if hasattr(i, "provider_id") else None
                  for i in yuki_sim.open_items("acme", "receivable")}
    settled = [k for k in before if after[k][2] == "paid"]
    assert settled and outcome.counts["invoices_settled"] >= 1
    assert all(after[k][3] == 0 for k in settled)
    assert len(after) >= len(before) and still_open


@pytest.mark.parametrize(("kind", "params", "code"), [
    ("soap_fault", {"message": "Something went wrong"}, "ProviderFault"),
    ("status", {"status": 503}, "ProviderUnavailable"),
    ("malformed", {}, "MalformedResponse"),
    ("quota", {}, "QuotaExhausted"),
])
def test_a_fault_ends_in_a_failed_log_and_writes_nothing(
        client, db_session, tenant_a, connected, connectors, yuki_sim, clock, kind, params,
        code):
    yuki_sim.faults.add(kind, times=10, **params)
    outcome = fx.run(db_session, tenant_a, connected, connectors)
    assert (outcome.status, outcome.error_code) == ("failed", code)
    assert invoices(db_session, tenant_a) == []
    row = fx.integration_row(db_session, tenant_a, connected.id)
    last = fx.logs(db_session, tenant_a, connected.id)[-1]
    assert (last.status, last.error_code) == ("failed", code)
    if code == "QuotaExhausted":
        assert row.next_sync_at == budget.next_day(clock.now())
    yuki_sim.faults.clear()
    clock.set(row.next_sync_at + timedelta(seconds=1))
    assert fx.run(db_session, tenant_a, connected, connectors).status == "success"
    assert invoices(db_session, tenant_a)


def test_a_spent_quota_means_no_call_until_tomorrow(client, db_session, tenant_a, connected,
                                                    connectors, clock):
    # given a day whose calls are almost all spent
    with tenant_scope(db_session, tenant_a.tenant_id), transaction(db_session):
        row = db_session.get(type(connected), (tenant_a.tenant_id, connected.id))
        row.budget_day = clock.now().date()
        row.calls_today = budget.YUKI_CALLS_PER_DAY - 1
    # when the tick asks; then no call is made and the next try is tomorrow
    outcome = fx.run(db_session, tenant_a, connected, connectors)
    assert (outcome.status, outcome.reason) == ("skipped", "quota_spent")
    assert fx.integration_row(db_session, tenant_a, connected.id).next_sync_at == \
        budget.next_day(clock.now())
