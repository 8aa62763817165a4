"""The audit log is append-only for the application role and tamper-evident for anyone:
updates, deletes and truncation are refused by grants and triggers, and a manual tamper by
someone who can switch the triggers off is named by the chain verification."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from config import normalise_database_url
from smbfinance.tenancy import tenant_scope
from tests.conftest import TenantFixture, register_tenant
from tests.invoicing import create_contact, create_invoice

VERIFY = "/api/v1/audit-log/verify"


@pytest.fixture()
def owner(infrastructure: Any) -> Iterator[Connection]:
    """The migration (owner) role: owns the table, bypasses RLS."""
    engine = create_engine(normalise_database_url(infrastructure.migration_url))
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def _committed_history(app: Flask) -> tuple[Any, TenantFixture]:
    """A tenant with a few audit entries, committed for real."""
    client = app.test_client()
    tenant = register_tenant(client, "Audited Bakery")
    contact = create_contact(client, tenant)
    for _ in range(3):
        create_invoice(client, tenant, contact["id"], open=True)
    return client, tenant


def _entries(owner: Connection, tenant: TenantFixture) -> list[Any]:
    with owner.begin():
        return owner.execute(text("SELECT id, seq, action FROM audit_entries "
                                  "WHERE tenant_id = :t "
                                  "ORDER BY seq"), {"t": tenant.tenant_id}).all()


def _tamper(owner: Connection, statement: str, **params: Any) -> None:
    """What a person with the owner's password could do: switch the guard off, change a
    row, switch it on again, in one transaction."""
    with owner.begin():
        owner.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only"))
        owner.execute(text(statement), params)
        owner.execute(text("ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only"))


@pytest.mark.parametrize("statement", [
    "UPDATE audit_entries SET action = 'forged'",
    "DELETE FROM audit_entries",
    "TRUNCATE audit_entries",
])
def test_the_application_role_cannot_change_or_remove_entries(
        client: Any, db_session: Any, tenant_a: TenantFixture, statement: str) -> None:
    # given tenant A's audit entries, seen through the application's own connection
    create_invoice(client, tenant_a, create_contact(client, tenant_a)["id"], open=True)
    with tenant_scope(db_session, tenant_a.tenant_id):
        assert db_session.execute(text("SELECT count(*) FROM audit_entries")).scalar() > 0
        # when the application role tries to change or remove them
        with pytest.raises(DBAPIError) as refused, db_session.begin_nested():
            db_session.execute(text(statement))
    # then PostgreSQL refuses: the grant is missing
    assert "permission denied" in str(refused.value.orig)


@pytest.mark.parametrize("statement", [
    "UPDATE audit_entries SET action = 'forged' WHERE tenant_id = :t",
    "DELETE FROM audit_entries WHERE tenant_id = :t",
])
def test_even_the_owner_is_refused_while_the_triggers_stand(
        app: Flask, owner: Connection, statement: str) -> None:
    _client, tenant = _committed_history(app)
    with pytest.raises(DBAPIError) as refused, owner.begin():
        owner.execute(text(statement), {"t": tenant.tenant_id})
    assert "append-only" in str(refused.value.orig)


def test_an_intact_chain_verifies(app: Flask) -> None:
    client, tenant = _committed_history(app)
    response = client.get(VERIFY, headers=tenant.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] is True and body["first_broken"] is None
    assert body["entries_checked"] == body["head_seq"] >= 4
    assert len(body["head_hash"]) == 64


@pytest.mark.parametrize(("statement", "problem"), [
    ("UPDATE audit_entries SET action = 'invoice.deleted' WHERE tenant_id = :t AND seq = :s",
     "hash_mismatch"),
    ("UPDATE audit_entries SET after = '{\"status\": \"paid\"}' WHERE tenant_id = :t "
     "AND seq = :s", "content_changed"),
    ("DELETE FROM audit_entries WHERE tenant_id = :t AND seq = :s", "sequence_gap"),
])
def test_a_manual_tamper_is_named(app: Flask, owner: Connection, statement: str,
                                  problem: str) -> None:
    # given a committed history
    client, tenant = _committed_history(app)
    target = _entries(owner, tenant)[2]
    # when someone with the owner's rights changes or removes the third entry
    _tamper(owner, statement, t=tenant.tenant_id, s=target.seq)
    # then verification names the first entry that no longer holds
    body = client.get(VERIFY, headers=tenant.headers).get_json()
    assert body["ok"] is False
    broken = body["first_broken"]
    assert broken["problem"] == problem
    expected_seq = target.seq + 1 if problem == "sequence_gap" else target.seq
    assert broken["seq"] == expected_seq


def test_a_removed_tail_is_noticed(app: Flask, owner: Connection) -> None:
    client, tenant = _committed_history(app)
    last = _entries(owner, tenant)[-1]
    _tamper(owner, "DELETE FROM audit_entries WHERE tenant_id = :t AND seq = :s",
            t=tenant.tenant_id, s=last.seq)
    body = client.get(VERIFY, headers=tenant.headers).get_json()
    assert body["ok"] is False and body["first_broken"]["problem"] == "tail_missing"


def test_another_tenants_tamper_does_not_touch_this_chain(app: Flask, owner: Connection) -> None:
    client, first = _committed_history(app)
    _client, second = _committed_history(app)
    target = _entries(owner, second)[1]
    _tamper(owner, "UPDATE audit_entries SET action = 'x' WHERE tenant_id = :t AND seq = :s",
            t=second.tenant_id, s=target.seq)
    assert client.get(VERIFY, headers=first.headers).get_json()["ok"] is True
    assert client.get(VERIFY, headers=second.headers).get_json()["ok"] is False
