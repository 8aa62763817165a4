"""The audit log through REST: every financial write leaves an entry, newest first, with
filters; only roles that may read it do; another tenant's entries never show."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.conftest import TenantFixture
from tests.invoicing import INVOICES, add_member, create_contact, create_invoice

AUDIT = "/api/v1/audit-log"


def test_an_invoice_leaves_its_history(client: FlaskClient, tenant_a: TenantFixture) -> None:
    # given a contact and an invoice created then opened
    contact = create_contact(client, tenant_a)
    invoice = create_invoice(client, tenant_a, contact["id"])
    assert client.post(f"{INVOICES}/{invoice['id']}/open",
                       headers=tenant_a.headers).status_code == 200
    # when the invoice's history is read
    response = client.get(f"{AUDIT}?entity_type=invoice&entity_id={invoice['id']}",
                          headers=tenant_a.headers)
    # then it shows who did what, newest first, chained
    assert response.status_code == 200
    entries = response.get_json()["data"]
    assert [e["action"] for e in entries] == ["invoice.opened", "invoice.created"]
    newest, oldest = entries
    assert newest["actor"] == {"type": "user", "id": str(tenant_a.user_id)}
    assert newest["before"]["status"] == "draft" and newest["after"]["status"] == "open"
    assert newest["seq"] > oldest["seq"] and len(newest["hash"]) == 64
    assert newest["request_id"]


def test_pages_and_filters(client: FlaskClient, tenant_a: TenantFixture) -> None:
    contact = create_contact(client, tenant_a)
    for _ in range(3):
        create_invoice(client, tenant_a, contact["id"])
    first = client.get(f"{AUDIT}?limit=2&action=invoice.created", headers=tenant_a.headers)
    body = first.get_json()
    assert body["has_more"] is True and len(body["data"]) == 2
    rest = client.get(f"{AUDIT}?limit=2&action=invoice.created&starting_after="
                      f"{body['data'][-1]['id']}", headers=tenant_a.headers).get_json()
    assert len(rest["data"]) == 1 and rest["has_more"] is False
    bad = client.get(f"{AUDIT}?created_after=yesterday", headers=tenant_a.headers)
    assert bad.status_code == 422


def test_a_viewer_cannot_read_the_audit_log(client: FlaskClient,
                                            tenant_a: TenantFixture) -> None:
    viewer = add_member(client, tenant_a, "viewer")
    accountant = add_member(client, tenant_a, "accountant")
    assert client.get(AUDIT, headers=viewer.headers).status_code == 403
    assert client.get(f"{AUDIT}/verify", headers=viewer.headers).status_code == 403
    assert client.get(AUDIT, headers=accountant.headers).status_code == 200


def test_another_tenant_sees_none_of_it(client: FlaskClient, tenant_a: TenantFixture,
                                       tenant_b: TenantFixture) -> None:
    contact = create_contact(client, tenant_a)
    create_invoice(client, tenant_a, contact["id"])
    mine = client.get(AUDIT, headers=tenant_a.headers).get_json()["data"]
    assert mine
    theirs = client.get(AUDIT, headers=tenant_b.headers).get_json()["data"]
    assert {e["id"] for e in theirs}.isdisjoint({e["id"] for e in mine})
    paging = client.get(f"{AUDIT}?starting_after={mine[0]['id']}", headers=tenant_b.headers)
    assert paging.status_code == 404
    verified = client.get(f"{AUDIT}/verify", headers=tenant_b.headers).get_json()
    assert verified["ok"] is True and verified["entries_checked"] == len(theirs)


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59",
                                   "1850-01-01T00:00:00+00:00", "2026-01-01T00:00:00"])
def test_timestamps_out_of_range_or_without_offset_are_422(
        client: FlaskClient, tenant_a: TenantFixture, value: str) -> None:
    response = client.get(AUDIT, headers=tenant_a.headers,
                          query_string={"created_after": value})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"][0]["field"] == "query:created_after"
