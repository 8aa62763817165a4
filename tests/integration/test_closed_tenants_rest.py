"""A closed company rests until it is reopened or purged: the hourly overdue scan and the
cash-flow tick leave it out (migration 0015), and its GDPR export links stop working.
Another company with the same work due is still picked; reopening brings it back."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from smbfinance.cashflow.tasks import stale_tenants
from smbfinance.db import utcnow
from smbfinance.tenancy import dangerously_unscoped
from tests.api.test_gdpr_export_api import request_and_build
from tests.conftest import TenantFixture
from tests.factories import bearer, login
from tests.invoicing import create_contact, create_invoice, days

NAMES = {"Alpha Bakery", "Beta Brewery"}


def close(client: Any, tenant: TenantFixture, name: str) -> None:
    asked = client.post("/api/v1/tenant/deletion", headers=tenant.headers,
                        json={"password": tenant.password, "confirm_name": name})
    assert asked.status_code == 202, asked.get_json()
    confirmed = client.post("/api/v1/tenant/deletion/confirm", headers=tenant.headers,
                            json={"token": asked.get_json()["confirmation_token"]})
    assert confirmed.status_code == 200, confirmed.get_json()


def reopen(client: Any, tenant: TenantFixture) -> dict[str, str]:
    reopened = client.post("/api/v1/tenant/reopen", json={
        "tenant_id": str(tenant.tenant_id), "email": tenant.email,
        "password": tenant.password})
    assert reopened.status_code == 200, reopened.get_json()
    return bearer(login(client, tenant.email, tenant.password).get_json()["access_token"])


def overdue_tenants(session: Any) -> set[uuid.UUID]:
    with dangerously_unscoped(session, reason="test: the overdue scan's tenants"):
        found = session.execute(
            text("SELECT tenant_id FROM cross_tenant_overdue_invoice_tenants(:since)"),
            {"since": days(-30)}).scalars().all()
        session.rollback()
    return set(found)


def test_the_overdue_scan_leaves_a_closed_company_out(client, db_session, tenant_a,
                                                      tenant_b) -> None:
    # given two companies, each with an open invoice due yesterday
    for tenant in (tenant_a, tenant_b):
        create_invoice(client, tenant, create_contact(client, tenant)["id"], open=True,
                       issue_date=days(-31), due_date=days(-1))
    assert {tenant_a.tenant_id, tenant_b.tenant_id} <= overdue_tenants(db_session)
    # when company A is closed
    close(client, tenant_a, "Alpha Bakery")
    # then the hourly scan finds only B
    found = overdue_tenants(db_session)
    assert tenant_a.tenant_id not in found and tenant_b.tenant_id in found
    # and once A is reopened it is scanned again
    reopen(client, tenant_a)
    assert tenant_a.tenant_id in overdue_tenants(db_session)


def test_the_cash_flow_tick_leaves_a_closed_company_out(client, db_session, tenant_a,
                                                        tenant_b) -> None:
    # given two companies with an active bank account and no snapshot today
    for tenant in (tenant_a, tenant_b):
        created = client.post("/api/v1/bank-accounts", headers=tenant.headers,
                              json={"account_number": "till-1", "currency": "EUR"})
        assert created.status_code == 201, created.get_json()
    assert {tenant_a.tenant_id, tenant_b.tenant_id} <= set(stale_tenants(utcnow()))
    # when company A is closed
    close(client, tenant_a, "Alpha Bakery")
    # then the tick refreshes only B
    stale = set(stale_tenants(utcnow()))
    assert tenant_a.tenant_id not in stale and tenant_b.tenant_id in stale
    # and once A is reopened its cash picture is kept up again
    reopen(client, tenant_a)
    assert tenant_a.tenant_id in set(stale_tenants(utcnow()))


def test_a_closed_companys_export_links_stop_working(client, db_session, tenant_a,
                                                     tenant_b) -> None:
    # given a ready export of each company, with its signed link
    mine = request_and_build(client, tenant_a)
    theirs = request_and_build(client, tenant_b)
    assert client.get(mine["download_url"]).status_code == 200
    # when company A is closed
    close(client, tenant_a, "Alpha Bakery")
    # then its link is refused with a reason (B's still works)
    refused = client.get(mine["download_url"])
    assert refused.status_code == 404
    assert refused.content_type == "application/problem+json"
    assert "closed" in refused.get_json()["detail"]
    assert client.get(theirs["download_url"]).status_code == 200
    # and once an owner reopens A the link works again while it is valid
    reopen(client, tenant_a)
    assert client.get(mine["download_url"]).status_code == 200
