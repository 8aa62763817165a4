"""GDPR export over the API: queued, built by the task, downloaded through a signed link;
every tenant table in the ZIP, nothing of another company, no secrets; forged, expired and
foreign links refused; roles and cross-tenant attempts refused."""

from __future__ import annotations

import hashlib
import io
import json
import time
import uuid
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from smbfinance.db import transaction, utcnow
from smbfinance.gdpr import download_tokens
from smbfinance.gdpr.tasks import build_export
from smbfinance.tenancy import public_scope, tenant_scope
from tests.factories import add_member
from tests.invoicing import create_contact, create_invoice

EXPORT = "/api/v1/gdpr/export"
EXPORTS = "/api/v1/gdpr/exports"
PROBLEM_JSON = "application/problem+json"

# Every tenant-owned table, as the RLS catalogue test finds them.
TENANT_TABLES = text("""
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
      AND (c.relname = 'tenants' OR EXISTS (
            SELECT 1 FROM pg_attribute a
            WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))
""")


def request_and_build(client: Any, tenant: Any) -> dict[str, Any]:
    queued = client.post(EXPORT, headers=tenant.headers)
    assert queued.status_code == 202, queued.get_json()
    body = queued.get_json()
    assert (body["object"], body["status"], body["download_url"]) == ("gdpr_export", "queued",
                                                                      None)
    status = build_export.apply(kwargs={"export_id": body["id"],
                                        "tenant_id": str(tenant.tenant_id),
                                        "user_id": str(tenant.user_id)}, throw=True).get()
    assert status == "ready"
    ready = client.get(f"{EXPORTS}/{body['id']}", headers=tenant.headers)
    assert ready.status_code == 200
    return ready.get_json()


def unzip(content: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


def test_export_holds_every_tenant_table_only_this_company_and_no_secrets(
        client, db_session, tenant_a, tenant_b) -> None:
    # given company A with a contact, an invoice, an API key and a webhook endpoint
    mine = create_contact(client, tenant_a, "Export Klant BV", email="klant@example.com")
    create_invoice(client, tenant_a, mine["id"])
    key = client.post("/api/v1/api-keys", headers=tenant_a.headers,
                      json={"name": "Partner", "scopes": ["invoices:read"]}).get_json()
    hook = client.post("/api/v1/webhook-endpoints", headers=tenant_a.headers,
                       json={"url": "http://127.0.0.1:9/hooks",
                             "event_types": ["invoice.paid"]}).get_json()
    # and company B with its own contact
    create_contact(client, tenant_b, "Beta Geheim NV")
    # when A exports
    export = request_and_build(client, tenant_a)
    # then the export is ready with a size, a hash and a link valid for a day
    assert export["status"] == "ready" and export["download_url"]
    expires = utcnow() + timedelta(hours=24)
    assert abs((_parse(export["expires_at"]) - expires).total_seconds()) < 60
    download = client.get(export["download_url"])
    assert download.status_code == 200
    assert download.mimetype == "application/zip"
    content = download.get_data()
    assert len(content) == export["size"]
    assert hashlib.sha256(content).hexdigest() == export["sha256"]
    files = unzip(content)
    # and there is one file per tenant table (but the exports' own), members and a manifest
    with public_scope(db_session), transaction(db_session):
        tables = set(db_session.execute(TENANT_TABLES).scalars()) - {"gdpr_exports"}
    assert set(files) == {f"{t}.json" for t in tables} | {"members.json", "manifest.json"}
    manifest = json.loads(files["manifest.json"])
    assert manifest["format_version"] == 1
    assert set(manifest["tables"]) == tables
    contacts = json.loads(files["contacts.json"])
    assert [c["name"] for c in contacts] == ["Export Klant BV"]
    assert manifest["tables"]["contacts"] == 1
    assert len(json.loads(files["invoices.json"])) == 1
    [member] = json.loads(files["members.json"])
    assert member["email"] == tenant_a.email and member["role"] == "owner"
    # and nothing of company B is in any file
    everything = "\n".join(files.values())
    assert "Beta Geheim" not in everything
    assert str(tenant_b.tenant_id) not in everything
    # and no secret or hash is in any file
    assert key["secret"] not in everything
    assert hashlib.sha256(key["secret"].encode()).hexdigest() not in everything
    assert hook["secret"] not in everything
    [endpoint] = json.loads(files["webhook_endpoints.json"])
    assert "secret" not in endpoint and "previous_secret" not in endpoint
    [api_key] = json.loads(files["api_keys.json"])
    assert "key_hash" not in api_key and api_key["prefix"]
    assert manifest["excluded_columns"]["api_keys"] == ["key_hash"]
    # and the request is in the audit log
    logged = client.get("/api/v1/audit-log?action=gdpr.export_requested",
                        headers=tenant_a.headers).get_json()["data"]
    assert [e["entity_id"] for e in logged] == [export["id"]]


def _parse(value: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value)


def test_links_forged_altered_expired_or_for_another_export_are_refused(
        client, app, monkeypatch, tenant_a) -> None:
    # given a ready export
    export = request_and_build(client, tenant_a)
    url = export["download_url"]
    # when the token is altered, then 403
    forged = client.get(url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB"))
    assert forged.status_code == 403 and forged.mimetype == PROBLEM_JSON
    # when a token is signed with another key, then 403
    other = download_tokens.sign("not-the-secret", tenant_id=tenant_a.tenant_id,
                                 export_id=uuid.UUID(export["id"]))
    assert client.get(f"{EXPORTS}/{export['id']}/download?token={other}").status_code == 403
    # when the token is older than the time to live, then 403
    real_time = time.time
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: real_time() - 2 * 86400)
    old = download_tokens.sign(app.config["SECRET_KEY"], tenant_id=tenant_a.tenant_id,
                               export_id=uuid.UUID(export["id"]))
    monkeypatch.undo()
    expired = client.get(f"{EXPORTS}/{export['id']}/download?token={old}")
    assert expired.status_code == 403 and "expired" in expired.get_json()["detail"]
    # when a valid token is used on another export's path, then 404
    elsewhere = client.get(url.replace(export["id"], str(uuid.uuid4())))
    assert elsewhere.status_code == 404
    # when there is no token, then 422
    assert client.get(f"{EXPORTS}/{export['id']}/download").status_code == 422


def test_an_expired_export_is_purged_on_read(client, db_session, tenant_a) -> None:
    # given a ready export whose time is up
    export = request_and_build(client, tenant_a)
    with tenant_scope(db_session, tenant_a.tenant_id), transaction(db_session):
        db_session.execute(text("UPDATE gdpr_exports SET expires_at = now() - interval '1 s'"
                                " WHERE id = :id"), {"id": export["id"]})
    # when its link is used, then 404, and the export is expired without content
    assert client.get(export["download_url"]).status_code == 404
    again = client.get(f"{EXPORTS}/{export['id']}", headers=tenant_a.headers).get_json()
    assert (again["status"], again["download_url"]) == ("expired", None)
    with tenant_scope(db_session, tenant_a.tenant_id), transaction(db_session):
        content = db_session.execute(text("SELECT content FROM gdpr_exports WHERE id = :id"),
                                     {"id": export["id"]}).scalar_one()
    assert content is None


def test_the_daily_purge_empties_expired_exports_of_every_company(
        client, db_session, tenant_a, tenant_b) -> None:
    from smbfinance.gdpr.tasks import purge_exports

    # given an expired export in A and a fresh one in B
    old = request_and_build(client, tenant_a)
    fresh = request_and_build(client, tenant_b)
    with tenant_scope(db_session, tenant_a.tenant_id), transaction(db_session):
        db_session.execute(text("UPDATE gdpr_exports SET expires_at = now() - interval '1 s'"
                                " WHERE id = :id"), {"id": old["id"]})
    # when the purge task runs
    assert purge_exports.apply(throw=True).get() >= 1
    # then A's content is gone and B's is still downloadable
    assert client.get(old["download_url"]).status_code == 404
    assert client.get(fresh["download_url"]).status_code == 200


def test_other_companies_and_roles_cannot_reach_exports(client, tenant_a, tenant_b) -> None:
    # given A's ready export
    export = request_and_build(client, tenant_a)
    # when B reads it, then 404; B's list does not show it
    assert client.get(f"{EXPORTS}/{export['id']}", headers=tenant_b.headers).status_code == 404
    assert client.get(EXPORTS, headers=tenant_b.headers).get_json()["data"] == []
    assert [e["id"] for e in client.get(EXPORTS, headers=tenant_a.headers)
            .get_json()["data"]] == [export["id"]]
    # when B's own link is aimed at A's export, then 404
    mine = request_and_build(client, tenant_b)
    token = mine["download_url"].split("token=")[1]
    assert client.get(f"{EXPORTS}/{export['id']}/download?token={token}").status_code == 404
    # when an accountant or a viewer of A asks, then 403; without a token, 401
    for role in ("accountant", "viewer"):
        member = add_member(client, tenant_a, role)
        assert client.post(EXPORT, headers=member.headers).status_code == 403
        assert client.get(f"{EXPORTS}/{export['id']}",
                          headers=member.headers).status_code == 403
    assert client.post(EXPORT).status_code == 401


@pytest.mark.parametrize("status", ["failed", "expired"])
def test_a_finished_export_is_not_rebuilt(client, db_session, tenant_a, status) -> None:
    # given an export that failed or expired
    queued = client.post(EXPORT, headers=tenant_a.headers).get_json()
    with tenant_scope(db_session, tenant_a.tenant_id), transaction(db_session):
        db_session.execute(text("UPDATE gdpr_exports SET status = :s WHERE id = :id"),
                           {"s": status, "id": queued["id"]})
    # when its task is delivered again, then it is left as it is
    assert build_export.apply(kwargs={"export_id": queued["id"],
                                      "tenant_id": str(tenant_a.tenant_id)},
                              throw=True).get() == status
