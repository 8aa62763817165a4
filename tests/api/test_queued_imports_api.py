"""Large statement uploads are imported by a worker: 202 `queued`, the bytes kept in
PostgreSQL, progress visible on the import while it runs, the same import path (exactly
once), and a rejected or failed run leaves its errors and writes nothing.

Two set-ups: an app with a tiny IMPORT_INLINE_MAX_BYTES whose requests commit for real and
whose tasks run eagerly (the whole HTTP round trip), and the usual rolled-back app where the
queued task is run by hand, as the worker would (redelivery, restart, failure, tenants)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from smbfinance.auth.permissions import Actor, Role
from smbfinance.extensions import celery, db
from smbfinance.tenancy import tenant_scope
from smbfinance.transactions import import_service
from smbfinance.transactions.models import BankTransaction, ImportBatch
from smbfinance.transactions.tasks import SideProgress, run_import
from smbfinance.transactions.uploads import ImportUpload
from smbfinance.worker import init_celery
from tests.conftest import TenantFixture, make_app, register_tenant

FORMATS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "formats"
CAMT = FORMATS / "camt053" / "camt-to-coda__account_statement.xml"
IBAN = "BE68539007547034"
MAPPING = {"date_column": "date", "amount_column": "amount", "description_column": "text"}


def csv_export(rows: int, start: int = 0) -> bytes:
    lines = ["date;amount;text"] + [
        f"2026-{1 + n // 28 % 12:02d}-{1 + n % 28:02d};{(n % 97) + 1}.{n % 100:02d};row {n}"
        for n in range(start, start + rows)]
    return ("\n".join(lines) + "\n").encode()


def upload(client: FlaskClient, tenant: TenantFixture, data: bytes, **form: str) -> Any:
    return client.post("/api/v1/imports", headers=tenant.headers,
                       content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), "big.csv"), **form})


def mapped_account(client: FlaskClient, tenant: TenantFixture) -> str:
    account_id = client.post("/api/v1/bank-accounts", headers=tenant.headers,
                             json={"iban": IBAN}).get_json()["id"]
    saved = client.put(f"/api/v1/bank-accounts/{account_id}/csv-mapping",
                       headers=tenant.headers, json=MAPPING)
    assert saved.status_code == 200
    return account_id


def batch_of(client: FlaskClient, tenant: TenantFixture, batch_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/imports/{batch_id}", headers=tenant.headers)
    assert response.status_code == 200
    return response.get_json()


def transaction_count(client: FlaskClient, tenant: TenantFixture) -> int:
    total, after = 0, None
    while True:
        query = "/api/v1/transactions?limit=200" + (f"&starting_after={after}" if after else "")
        body = client.get(query, headers=tenant.headers).get_json()
        total += len(body["data"])
        if not body["has_more"]:
            return total
        after = body["data"][-1]["id"]


# ------------------------------------------------------------------ the whole round trip

@pytest.fixture()
def queued_app(infrastructure: Any, app: Flask) -> Iterator[Flask]:
    """Uploads above 1 KiB are queued; tasks run eagerly; requests commit for real."""
    queued = make_app(infrastructure, IMPORT_INLINE_MAX_BYTES=1024,
                      CELERY_TASK_ALWAYS_EAGER=True)
    yield queued
    init_celery(app, celery)  # the shared Celery app goes back to the session's app
    with queued.app_context():
        db.engine.dispose()


def test_a_large_upload_is_queued_and_imported_by_the_worker(queued_app: Flask) -> None:
    # given a company with a mapped account, and a CSV export above the threshold
    client = queued_app.test_client()
    tenant = register_tenant(client, "Queue Works")
    account_id = mapped_account(client, tenant)
    data = csv_export(300)
    # when it is uploaded
    response = upload(client, tenant, data, bank_account_id=account_id)
    # then the answer is 202, queued, nothing read yet
    assert response.status_code == 202, response.get_json()
    queued = response.get_json()
    assert (queued["status"], queued["format"]) == ("queued", "csv")
    assert queued["progress"] == {"entries": 0, "bytes": 0, "total_bytes": len(data)}
    assert queued["counts"]["read"] == 0
    # and the worker (eager here) imported it: completed, progress at the end, bytes gone
    done = batch_of(client, tenant, queued["id"])
    assert done["status"] == "completed", done
    assert done["counts"]["read"] == done["counts"]["created"] == 300
    assert done["progress"] == {"entries": 300, "bytes": len(data), "total_bytes": len(data)}
    assert transaction_count(client, tenant) == 300
    with queued_app.app_context(), tenant_scope(db.session, tenant.tenant_id) as session:
        assert session.execute(select(func.count()).select_from(ImportUpload)).scalar() == 0
    # and uploading it again creates nothing
    again = upload(client, tenant, data, bank_account_id=account_id).get_json()
    again_done = batch_of(client, tenant, again["id"])
    assert again_done["counts"]["created"] == 0 and again_done["counts"]["duplicates"] == 300
    assert transaction_count(client, tenant) == 300


@pytest.mark.skipif(not CAMT.exists(), reason="shared/data/formats missing")
def test_a_queued_bank_file_gives_what_the_inline_import_gives(queued_app: Flask,
                                                                client: FlaskClient,
                                                                tenant_a: TenantFixture) -> None:
    # given the same CAMT.053 file imported inline (usual app) and queued (tiny threshold)
    inline = upload(client, tenant_a, CAMT.read_bytes()).get_json()
    queued_client = queued_app.test_client()
    tenant = register_tenant(queued_client, "Queue Camt")
    response = upload(queued_client, tenant, CAMT.read_bytes())
    assert response.status_code == 202
    done = batch_of(queued_client, tenant, response.get_json()["id"])
    # then the queued import found the same account, counts and statements
    assert done["status"] == "completed"
    assert done["counts"] == inline["counts"]
    assert [(s["iban"], s["read"], s["total"], s["closing_balance"]) for s in done["statements"]] \
        == [(s["iban"], s["read"], s["total"], s["closing_balance"]) for s in inline["statements"]]


def test_a_broken_large_file_is_rejected_by_the_worker_with_nothing_written(
    queued_app: Flask
) -> None:
    # given a large export whose row 250 has no valid amount
    client = queued_app.test_client()
    tenant = register_tenant(client, "Queue Broken")
    account_id = mapped_account(client, tenant)
    lines = csv_export(300).split(b"\n")
    lines[249] = b"2026-01-01;9,9.48;row 248"  # line 250 of the file (the header is line 1)
    data = b"\n".join(lines)
    # when it is uploaded and run
    response = upload(client, tenant, data, bank_account_id=account_id)
    assert response.status_code == 202
    done = batch_of(client, tenant, response.get_json()["id"])
    # then it is rejected naming the line, nothing is written and the bytes are gone
    assert done["status"] == "rejected"
    assert done["errors"][0]["line"] == 250
    assert done["counts"]["created"] == 0
    assert transaction_count(client, tenant) == 0


def test_small_files_still_import_in_the_request(queued_app: Flask) -> None:
    client = queued_app.test_client()
    tenant = register_tenant(client, "Queue Small")
    account_id = mapped_account(client, tenant)
    response = upload(client, tenant, csv_export(5), bank_account_id=account_id)
    assert response.status_code == 201
    assert response.get_json()["status"] == "completed"
    assert response.get_json()["progress"] is None


def test_live_progress_is_visible_while_the_import_runs(queued_app: Flask) -> None:
    # given a queued import (committed, its task not run yet)
    client = queued_app.test_client()
    tenant = register_tenant(client, "Queue Progress")
    account_id = mapped_account(client, tenant)
    data = csv_export(50)
    actor = Actor(user_id=tenant.user_id, tenant_id=tenant.tenant_id, role=Role.OWNER)
    with queued_app.app_context(), tenant_scope(db.session, tenant.tenant_id):
        batch = import_service.submit_import(
            session=db.session, actor=actor, stream=io.BytesIO(data), inline_max_bytes=10,
            enqueue=lambda _id: None, bank_account_id=uuid.UUID(account_id))
    # when the worker reports progress from its side transaction
    with queued_app.app_context():
        SideProgress(tenant.tenant_id, batch.id, interval=0)(
            {"entries": 20, "bytes": 400, "total_bytes": len(data)})
    # then a reader sees it on the import, and another company sees no import at all
    seen = batch_of(client, tenant, str(batch.id))
    assert seen["status"] == "queued"
    assert seen["progress"] == {"entries": 20, "bytes": 400, "total_bytes": len(data)}
    other = register_tenant(client, "Queue Other")
    assert client.get(f"/api/v1/imports/{batch.id}", headers=other.headers).status_code == 404
    # and when the task runs, the import completes with its final progress
    status = run_import.apply(kwargs={"batch_id": str(batch.id),
                                      "tenant_id": str(tenant.tenant_id)}, throw=True).get()
    assert status == "completed"
    assert batch_of(client, tenant, str(batch.id))["progress"]["entries"] == 50


# ------------------------------------------------------------------ the task, by hand

def owner(tenant: TenantFixture) -> Actor:
    return Actor(user_id=tenant.user_id, tenant_id=tenant.tenant_id, role=Role.OWNER)


def queue(db_session: Any, tenant: TenantFixture, data: bytes,
          account_id: str) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """Submit above the threshold; returns the batch id and what was enqueued."""
    enqueued: list[uuid.UUID] = []
    with tenant_scope(db_session, tenant.tenant_id) as session:
        batch = import_service.submit_import(
            session=session, actor=owner(tenant), stream=io.BytesIO(data), inline_max_bytes=10,
            enqueue=enqueued.append, bank_account_id=uuid.UUID(account_id), file_name="x.csv")
    return batch.id, enqueued


def run(tenant: TenantFixture, batch_id: uuid.UUID) -> str | None:
    return run_import.apply(kwargs={"batch_id": str(batch_id),
                                    "tenant_id": str(tenant.tenant_id)}, throw=True).get()


def test_enqueued_after_commit_and_safe_to_run_twice(client, db_session, tenant_a) -> None:
    # given a queued upload
    account_id = mapped_account(client, tenant_a)
    batch_id, enqueued = queue(db_session, tenant_a, csv_export(40), account_id)
    # then the task was asked for once the batch was committed, and it waits as queued
    assert enqueued == [batch_id]
    assert batch_of(client, tenant_a, str(batch_id))["status"] == "queued"
    # when the worker runs it, and the broker delivers it a second time
    assert run(tenant_a, batch_id) == "completed"
    assert run(tenant_a, batch_id) == "completed"
    # then it was imported once
    assert transaction_count(client, tenant_a) == 40
    assert batch_of(client, tenant_a, str(batch_id))["counts"]["created"] == 40


def test_a_worker_that_died_mid_import_is_replaced_by_the_redelivery(
    client, db_session, tenant_a
) -> None:
    # given a queued upload the first worker took (processing) and died on: its import
    # transaction rolled back, the batch and the bytes stayed
    account_id = mapped_account(client, tenant_a)
    batch_id, _ = queue(db_session, tenant_a, csv_export(30), account_id)
    with tenant_scope(db_session, tenant_a.tenant_id) as session:
        session.get(ImportBatch, (tenant_a.tenant_id, batch_id)).status = "processing"
        session.commit()
    # when the task is delivered again
    # then the import runs from the stored bytes
    assert run(tenant_a, batch_id) == "completed"
    assert transaction_count(client, tenant_a) == 30


def test_progress_is_reported_as_entries_and_bytes_are_read(client, db_session,
                                                            tenant_a) -> None:
    # given a queued export of 2,500 rows
    account_id = mapped_account(client, tenant_a)
    data = csv_export(2500)
    batch_id, _ = queue(db_session, tenant_a, data, account_id)
    reports: list[dict[str, int]] = []
    # when the worker's import runs
    with tenant_scope(db_session, tenant_a.tenant_id) as session:
        batch = import_service.run_queued_import(session=session, actor=owner(tenant_a),
                                                 batch_id=batch_id, progress=reports.append)
    # then progress came in steps, never going back, within the file
    assert batch is not None and batch.status == "completed"
    entries = [r["entries"] for r in reports]
    assert entries[:2] == [1000, 2000] and entries == sorted(entries)
    assert all(0 < r["bytes"] <= len(data) == r["total_bytes"] for r in reports)
    assert [r["bytes"] for r in reports] == sorted(r["bytes"] for r in reports)
    assert batch.progress == {"entries": 2500, "bytes": len(data), "total_bytes": len(data)}


def test_an_unexpected_failure_leaves_failed_and_nothing_written(
    client, db_session, tenant_a, monkeypatch
) -> None:
    # given a queued upload, and rules that break halfway through the import
    account_id = mapped_account(client, tenant_a)
    batch_id, _ = queue(db_session, tenant_a, csv_export(20), account_id)

    def broken(**_: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(import_service.categorisation, "apply_to_import_batch", broken)
    # when the worker runs it
    with pytest.raises(RuntimeError):
        run(tenant_a, batch_id)
    # then the import is failed with a message, nothing was written, the bytes are gone
    failed = batch_of(client, tenant_a, str(batch_id))
    assert failed["status"] == "failed" and failed["errors"]
    assert "wrote nothing" in failed["errors"][0]["message"]
    assert transaction_count(client, tenant_a) == 0
    with tenant_scope(db_session, tenant_a.tenant_id) as session:
        assert session.execute(select(func.count()).select_from(BankTransaction)).scalar() == 0
        assert session.execute(select(func.count()).select_from(ImportUpload)).scalar() == 0


def test_a_mapping_deleted_before_the_run_rejects_the_import(client, db_session,
                                                             tenant_a) -> None:
    account_id = mapped_account(client, tenant_a)
    batch_id, _ = queue(db_session, tenant_a, csv_export(20), account_id)
    client.delete(f"/api/v1/bank-accounts/{account_id}/csv-mapping", headers=tenant_a.headers)
    assert run(tenant_a, batch_id) == "rejected"
    rejected = batch_of(client, tenant_a, str(batch_id))
    assert "save a mapping first" in rejected["errors"][0]["message"]
    assert transaction_count(client, tenant_a) == 0


def test_another_tenants_task_cannot_run_or_see_the_import(client, db_session, tenant_a,
                                                           tenant_b) -> None:
    # given tenant A's queued upload
    account_id = mapped_account(client, tenant_a)
    batch_id, _ = queue(db_session, tenant_a, csv_export(10), account_id)
    # when the task is run in tenant B's scope with A's batch id
    # then it finds nothing to do, and A's import still waits untouched
    assert run(tenant_b, batch_id) is None
    assert client.get(f"/api/v1/imports/{batch_id}", headers=tenant_b.headers).status_code == 404
    assert batch_of(client, tenant_a, str(batch_id))["status"] == "queued"
    assert transaction_count(client, tenant_b) == 0
