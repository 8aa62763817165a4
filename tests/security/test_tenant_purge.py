"""The purge of a deleted company: everything of it goes from every table (audit log and
outbox included) once its legal retention has ended by the database's clock, nothing of
any other company is touched, and the application role cannot take that path itself.

These tests commit for real (as the audit-log integrity tests do) and read the result as
the owner role, which sees every company's rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from config import normalise_database_url
from smbfinance.audit.models import AuditEntry
from smbfinance.db import utcnow
from smbfinance.errors import Conflict
from smbfinance.extensions import db
from smbfinance.tenancy import tenant_scope
from smbfinance.tenant_deletion import purge
from tests.conftest import TenantFixture, register_tenant
from tests.factories import add_member
from tests.invoicing import create_contact, create_invoice

DELETION = "/api/v1/tenant/deletion"
LONG_AGO = datetime(2014, 6, 2, 10, 0, tzinfo=UTC)


@pytest.fixture()
def owner(infrastructure: Any) -> Iterator[Connection]:
    """The migration (owner) role: owns the tables, bypasses RLS."""
    engine = create_engine(normalise_database_url(infrastructure.migration_url))
    with engine.connect() as connection:
        yield connection
    engine.dispose()


@pytest.fixture()
def audit_clock() -> Iterator[list[datetime]]:
    """The audit log's clock for what the test writes through the API: a company whose
    history is old (the records' own dates are set in the requests)."""
    clock: list[datetime] = []

    def backdate(session: Session, _context: Any, _instances: Any) -> None:
        for obj in session.new:
            if isinstance(obj, AuditEntry) and clock:
                obj.created_at = clock[0]

    event.listen(Session, "before_flush", backdate)
    yield clock
    event.remove(Session, "before_flush", backdate)


def _close(client: Any, tenant: TenantFixture, name: str) -> dict[str, Any]:
    asked = client.post(DELETION, headers=tenant.headers,
                        json={"password": tenant.password, "confirm_name": name})
    assert asked.status_code == 202, asked.get_json()
    confirmed = client.post(f"{DELETION}/confirm", headers=tenant.headers,
                            json={"token": asked.get_json()["confirmation_token"]})
    assert confirmed.status_code == 200, confirmed.get_json()
    return confirmed.get_json()


def _busy_company(client: Any, name: str, year: int) -> tuple[TenantFixture, TenantFixture]:
    """A company with a member, a contact, invoices of `year`, a webhook endpoint, a
    partner key, an idempotent request and a GDPR export: rows in many tables."""
    tenant = register_tenant(client, name)
    member = add_member(client, tenant, "accountant")
    contact = create_contact(client, tenant, name=f"{name} Client")
    for day in (3, 4):
        create_invoice(client, tenant, contact["id"], open=True,
                       issue_date=f"{year}-03-0{day}", due_date=f"{year}-04-0{day}")
    assert client.post("/api/v1/webhook-endpoints", headers=tenant.headers,
                       json={"url": "http://127.0.0.1:9/hooks",
                             "event_types": ["*"]}).status_code == 201
    assert client.post("/api/v1/api-keys", headers=tenant.headers,
                       json={"name": "Partner", "scopes": ["invoices:read"]}).status_code == 201
    assert client.post("/api/v1/contacts", headers={**tenant.headers, "Idempotency-Key": "k1"},
                       json={"name": "Second NV"}).status_code == 201
    assert client.post("/api/v1/gdpr/export", headers=tenant.headers).status_code == 202
    account = client.post("/api/v1/bank-accounts", headers=tenant.headers,
                          json={"iban": "BE68539007547034"}).get_json()
    paid = client.post("/api/v1/transactions", headers=tenant.headers, json={
        "bank_account_id": account["id"], "amount": "121.00",
        "booking_date": f"{year}-03-20", "counterparty_name": f"{name} Client"})
    assert paid.status_code == 201, paid.get_json()
    assert client.post("/api/v1/categories", headers=tenant.headers,
                       json={"name": "Sales"}).status_code == 201
    assert client.post("/api/v1/reconciliation/runs", headers=tenant.headers,
                       json={}).status_code in (200, 201)
    return tenant, member


def _traces(owner: Connection, needles: list[uuid.UUID]) -> dict[str, int]:
    """Rows of every table in the schema whose text mentions any of `needles`."""
    tables = owner.execute(text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname"
    )).scalars().all()
    assert {"tenants", "users", "audit_entries", "outbox_events", "invoices"} <= set(tables)
    found = {}
    for table in tables:
        condition = " OR ".join(f"t::text LIKE '%{n}%'" for n in needles)
        count = owner.execute(text(f'SELECT count(*) FROM "{table}" t WHERE {condition}')).scalar()
        if count:
            found[table] = count
    return found


@pytest.mark.slow
def test_the_purge_removes_everything_of_the_company_and_nothing_else(
        app: Flask, owner: Connection, audit_clock: list[datetime]) -> None:
    client = app.test_client()
    # given a company whose records are from 2014 (retention over on 1 January 2025)
    audit_clock.append(LONG_AGO)
    old, member = _busy_company(client, "Old Bakery", 2014)
    audit_clock.clear()
    # and another company, busy today
    other, _ = _busy_company(client, "Busy Brewery", utcnow().year)
    other_rows_before = _traces(owner, [other.tenant_id])
    # when the old company's owner deletes it and the daily purge runs
    closed = _close(client, old, "Old Bakery")
    assert closed["retention_ends_on"] == "2025-01-01"
    with app.app_context():
        report = purge.purge_due(session=db.session, now=utcnow())
    # then the company is purged
    assert old.tenant_id in [p.tenant_id for p in report.purged]
    counts = next(p.counts for p in report.purged if p.tenant_id == old.tenant_id)
    assert counts["audit_entries"] >= 5 and counts["outbox_events"] >= 2
    assert counts["bank_transactions"] == 1 and counts["invoices"] == 2
    assert counts["tenants"] == 1 and counts["users"] == 2
    # and no table of the schema holds a row naming it or its members' accounts
    assert _traces(owner, [old.tenant_id, old.user_id, member.user_id]) == {}
    # and the other company still has every row, and its audit chain verifies
    assert _traces(owner, [other.tenant_id]) == other_rows_before
    verified = client.get("/api/v1/audit-log/verify", headers=other.headers).get_json()
    assert verified["ok"] is True and verified["entries_checked"] >= 5


def test_a_member_of_another_company_keeps_their_account(
        app: Flask, owner: Connection) -> None:
    client = app.test_client()
    # given a person who is owner of a new, empty company and accountant of another
    gone = register_tenant(client, "Empty Shop")
    stays = register_tenant(client, "Staying Shop")
    shared = add_member(client, stays, "accountant", email=f"shared.{uuid.uuid4().hex}@x.be")
    client.post("/api/v1/members", headers=gone.headers,
                json={"email": shared.email, "role": "viewer"})
    # when the empty company is deleted and purged at once (it holds no records)
    assert _close(client, gone, "Empty Shop")["retention_ends_on"] is None
    with app.app_context():
        purge.purge_tenant(session=db.session, tenant_id=gone.tenant_id)
    # then the shared person's account stays, the only-here owner's goes
    with owner.begin():
        users = set(owner.execute(text("SELECT id FROM users WHERE id IN (:a, :b)"),
                                  {"a": shared.user_id, "b": gone.user_id}).scalars())
    assert users == {shared.user_id}


def test_the_purge_is_refused_within_the_retention_whatever_the_callers_clock(
        app: Flask, owner: Connection) -> None:
    client = app.test_client()
    # given a closed company with an invoice of today (kept until 1 January, 11 years on)
    tenant = register_tenant(client, "Young Bakery")
    create_invoice(client, tenant, create_contact(client, tenant)["id"], open=True)
    closed = _close(client, tenant, "Young Bakery")
    assert closed["retention_ends_on"] == f"{utcnow().year + 11}-01-01"
    with app.app_context():
        # when the purge runs today, it is not due
        assert tenant.tenant_id not in purge.due_tenants(session=db.session, now=utcnow())
        # when a caller pretends it is 2040, the list includes it but the database refuses
        later = datetime(2040, 1, 2, tzinfo=UTC)
        assert tenant.tenant_id in purge.due_tenants(session=db.session, now=later)
        report = purge.purge_due(session=db.session, now=later)
        assert "legal retention" in report.failed[str(tenant.tenant_id)]
        with pytest.raises(Conflict):
            purge.purge_tenant(session=db.session, tenant_id=tenant.tenant_id)
    # then everything is still there
    with owner.begin():
        assert owner.execute(text("SELECT count(*) FROM audit_entries WHERE tenant_id = :t"),
                             {"t": tenant.tenant_id}).scalar() > 0


def test_an_open_company_cannot_be_purged(app: Flask) -> None:
    tenant = register_tenant(app.test_client(), "Open Bakery")
    with app.app_context(), pytest.raises(Conflict):
        purge.purge_tenant(session=db.session, tenant_id=tenant.tenant_id)


def _refused(session: Any, tenant: TenantFixture, statement: str) -> str:
    """Run `statement` on the application's own connection, scoped to `tenant`; the
    database's refusal."""
    with tenant_scope(session, tenant.tenant_id), pytest.raises(DBAPIError) as refused, \
            session.begin_nested():
        for part in statement.split(";"):
            session.execute(text(part), {"t": str(tenant.tenant_id)})
    return str(refused.value.orig)


@pytest.mark.parametrize("statement", [
    pytest.param("DELETE FROM tenants WHERE id = :t", id="delete-tenant"),
    pytest.param("TRUNCATE tenants CASCADE", id="truncate-tenants"),
    pytest.param("SELECT set_config('smbfinance.tenant_purge', :t, true);"
                 " DELETE FROM audit_entries WHERE tenant_id = :t",
                 id="audit-guard-setting-then-delete"),
])
def test_the_application_role_holds_no_privilege_to_delete_a_company_or_its_audit_log(
        client: Any, db_session: Any, tenant_a: TenantFixture, statement: str) -> None:
    # given the application's own connection, scoped to company A
    # when it deletes the company's row (the cascade into the audit log) or its audit
    # entries directly, even with the audit guard's setting naming the company
    refusal = _refused(db_session, tenant_a, statement)
    # then PostgreSQL refuses for lack of privilege
    assert "permission denied" in refusal


@pytest.mark.parametrize("statement", [
    pytest.param("SELECT cross_tenant_purge_tenant(:t)", id="purge-tenant"),
    pytest.param("SELECT * FROM cross_tenant_purge_due_tenants(now())", id="purge-due"),
])
def test_the_purge_functions_refuse_a_caller_outside_dangerously_unscoped(
        client: Any, db_session: Any, tenant_a: TenantFixture, statement: str) -> None:
    # given the application's own connection, scoped to company A (the app role may call
    # these functions: the purge worker does, under dangerously_unscoped; what stops an
    # early purge is the function's own check of the retention by the database's clock)
    # when a tenant-scoped transaction calls them, without the app.cross_tenant setting
    refusal = _refused(db_session, tenant_a, statement)
    # then the function's guard refuses
    assert "outside dangerously_unscoped" in refusal


def test_the_cli_purges_with_progress(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    import smbfinance
    from smbfinance.cli import main

    client = app.test_client()
    tenant = register_tenant(client, "Cli Shop")
    _close(client, tenant, "Cli Shop")
    monkeypatch.setattr(smbfinance, "create_app", lambda *a, **k: app)
    listed = CliRunner().invoke(main, ["tenants", "purge-due", "--dry-run"])
    assert listed.exit_code == 0 and str(tenant.tenant_id) in listed.output
    result = CliRunner().invoke(main, ["tenants", "purge-due"])
    assert f"{tenant.tenant_id}: " in result.output and "purged" in result.output


def test_the_daily_task_purges_what_is_due(app: Flask, owner: Connection) -> None:
    from smbfinance.tenant_deletion.tasks import purge_due

    # given a closed company without records (due at once)
    tenant = register_tenant(app.test_client(), "Task Shop")
    _close(app.test_client(), tenant, "Task Shop")
    # when the beat's daily task runs
    with app.app_context():
        result = purge_due.apply(throw=True).get()
    # then it is gone
    assert str(tenant.tenant_id) in result["purged"]
    assert _traces(owner, [tenant.tenant_id, tenant.user_id]) == {}
