"""Statement imports through the REST door: every shared bank file imports, re-importing
creates nothing, broken or (strictly) inconsistent files write nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from tests.conftest import TenantFixture, register_tenant

FORMATS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "formats"
BANK_FILES = sorted(
    path for folder in ("coda", "camt053", "mt940", "ofx") if (FORMATS / folder).is_dir()
    for path in (FORMATS / folder).iterdir())


def _import(client: FlaskClient, tenant: TenantFixture, data: bytes, **form: str):
    return client.post("/api/v1/imports", headers=tenant.headers,
                       content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), "statement"), **form})


def _transactions(client: FlaskClient, tenant: TenantFixture) -> int:
    total, after = 0, None
    while True:
        query = "/api/v1/transactions?limit=200" + (f"&starting_after={after}" if after else "")
        body = client.get(query, headers=tenant.headers).get_json()
        total += len(body["data"])
        if not body["has_more"]:
            return total
        after = body["data"][-1]["id"]


@pytest.mark.skipif(not BANK_FILES, reason="shared/data/formats is not beside the repo")
@pytest.mark.parametrize("path", BANK_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shared_bank_file_imports_once(client: FlaskClient, path: Path) -> None:
    # given a new company and a real bank file
    tenant = register_tenant(client, "Importer BV")
    data = path.read_bytes()
    # when it imports the file
    first = _import(client, tenant, data)
    # then every entry read becomes a transaction, on accounts found from the file
    assert first.status_code == 201, first.get_json()
    batch = first.get_json()
    assert batch["status"] == "completed"
    assert batch["format"] == path.parent.name
    counts = batch["counts"]
    assert counts["created"] + counts["duplicates"] == counts["read"]
    assert _transactions(client, tenant) == counts["created"]
    assert sum(s["read"] for s in batch["statements"]) == counts["read"]
    # and importing it again creates nothing
    again = _import(client, tenant, data).get_json()
    assert again["counts"]["created"] == 0
    assert again["counts"]["duplicates"] == counts["read"]
    assert _transactions(client, tenant) == counts["created"]
    # and the import can be read back
    read_back = client.get(f"/api/v1/imports/{batch['id']}", headers=tenant.headers)
    assert read_back.get_json()["counts"] == counts


CODA_SAMPLE = FORMATS / "coda" / "php-coda-parser__sample5.cod"  # inconsistent on purpose


@pytest.mark.skipif(not CODA_SAMPLE.exists(), reason="shared files missing")
def test_strict_refuses_an_inconsistent_file_and_writes_nothing(
    client: FlaskClient, tenant_a: TenantFixture
) -> None:
    response = _import(client, tenant_a, CODA_SAMPLE.read_bytes(), strict="true")
    assert response.status_code == 422
    body = response.get_json()
    assert body["errors"]
    assert _transactions(client, tenant_a) == 0
    rejected = client.get(f"/api/v1/imports/{body['import_batch_id']}", headers=tenant_a.headers)
    assert rejected.get_json()["status"] == "rejected"
    # without strict the same file imports, with its warnings on the batch
    relaxed = _import(client, tenant_a, CODA_SAMPLE.read_bytes()).get_json()
    assert relaxed["status"] == "completed" and relaxed["warnings"]


@pytest.mark.skipif(not CODA_SAMPLE.exists(), reason="shared files missing")
def test_a_broken_record_rejects_the_whole_file_naming_the_line(
    client: FlaskClient, tenant_a: TenantFixture
) -> None:
    lines = CODA_SAMPLE.read_bytes().split(b"\n")
    lines[2] = lines[2][:60]  # a movement record cut short
    response = _import(client, tenant_a, b"\n".join(lines))
    assert response.status_code == 422
    assert "line 3" in response.get_json()["detail"]
    assert _transactions(client, tenant_a) == 0
    accounts = client.get("/api/v1/bank-accounts", headers=tenant_a.headers).get_json()
    assert accounts["data"] == []


def test_a_file_of_another_kind_is_refused(client: FlaskClient, tenant_a: TenantFixture) -> None:
    response = _import(client, tenant_a, b"<html><body>not a statement</body></html>")
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["code"] == "unknown_format"


def test_another_tenants_import_is_unknown(
    client: FlaskClient, tenant_a: TenantFixture, tenant_b: TenantFixture
) -> None:
    if not CODA_SAMPLE.exists():
        pytest.skip("shared files missing")
    batch = _import(client, tenant_a, CODA_SAMPLE.read_bytes()).get_json()
    theirs = client.get(f"/api/v1/imports/{batch['id']}", headers=tenant_b.headers)
    unknown = client.get("/api/v1/imports/01a20000-0000-7000-8000-000000000000",
                         headers=tenant_b.headers)
    assert theirs.status_code == unknown.status_code == 404
    assert client.get("/api/v1/bank-accounts", headers=tenant_b.headers).get_json()["data"] == []
    assert _transactions(client, tenant_b) == 0


def test_an_import_is_audited_and_told_to_partners(app, client, tenant_a) -> None:
    from tests.api.test_events_api import publish
    from tests.reconciling import Paid, camt, import_payments

    # given one good import and one broken file
    done = import_payments(client, tenant_a, [Paid("12.00", "2026-03-02")])
    broken = client.post("/api/v1/imports", headers=tenant_a.headers,
                         content_type="multipart/form-data",
                         data={"file": (io.BytesIO(camt([Paid("1.00", "2026-03-02")])[:-40]),
                                        "broken.xml")})
    assert broken.status_code == 422
    publish(app, tenant_a)
    # then partners see import.completed with its counts, and import.failed with the error
    feed = client.get("/api/v1/events?types=import.completed,import.failed",
                      headers=tenant_a.headers).get_json()["data"]
    assert [e["type"] for e in feed] == ["import.completed", "import.failed"]
    assert feed[0]["object_id"] == done["id"] and feed[0]["data"]["counts"]["created"] == 1
    assert feed[1]["data"]["status"] == "rejected" and feed[1]["data"]["errors"]
    # and the audit log holds both
    actions = [e["action"] for e in client.get(
        "/api/v1/audit-log?entity_type=import_batch", headers=tenant_a.headers
    ).get_json()["data"]]
    assert actions == ["import.failed", "import.completed"]
