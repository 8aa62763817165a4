"""Tenant isolation enforced by PostgreSQL: forgotten filters, foreign tenant ids, missing
or changing scopes, the cross-tenant path, privileges, and pooled connections."""

from __future__ import annotations

import pytest
from psycopg2 import errors as pg_errors
from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from config import normalise_database_url
from smbfinance.auth.models import Membership, Role
from smbfinance.extensions import db
from smbfinance.tenancy import (
    PUBLIC,
    ScopeChangeInTransaction,
    TenantNotSet,
    dangerously_unscoped,
    public_scope,
    set_scope,
    tenant_scope,
)
from tests.conftest import make_app, register_tenant

TENANT_TABLES = text("""
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
      AND (c.relname = 'tenants' OR EXISTS (
            SELECT 1 FROM pg_attribute a
            WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))
""")


def _rls_refusal(error: DBAPIError) -> bool:
    return isinstance(error.orig, pg_errors.InsufficientPrivilege) and (
        "row-level security" in str(error.orig))


# ---------------------------------------------------------------- reads

def test_an_unfiltered_orm_query_sees_only_the_scoped_tenant(db_session, tenant_a, tenant_b):
    # given two tenants, each with an owner membership
    # when tenant A's scope selects memberships without any filter
    with tenant_scope(db_session, tenant_a.tenant_id):
        rows = [(m.tenant_id, m.user_id)
                for m in db_session.execute(select(Membership)).scalars()]
    # then only A's rows come back
    assert rows == [(tenant_a.tenant_id, tenant_a.user_id)]


def test_raw_sql_without_filter_sees_only_the_scoped_tenant(db_session, tenant_a, tenant_b):
    # given two tenants
    # when tenant B's scope runs hand-written SQL over every tenant table
    with tenant_scope(db_session, tenant_b.tenant_id):
        tenants = db_session.execute(text("SELECT * FROM tenants")).mappings().all()
        families = db_session.execute(
            text("SELECT tenant_id FROM refresh_token_families")).scalars().all()
    # then RLS shows B's rows only
    assert [t["id"] for t in tenants] == [tenant_b.tenant_id]
    assert families and set(families) == {tenant_b.tenant_id}


def test_public_scope_sees_no_tenant_owned_row(db_session, tenant_a, tenant_b):
    # given two tenants with data in every tenant table
    with public_scope(db_session):
        tables = db_session.execute(TENANT_TABLES).scalars().all()
        # when the public scope counts each table
        counts = {t: db_session.execute(text(f'SELECT count(*) FROM "{t}"')).scalar()
                  for t in tables}
    # then nothing is visible
    assert "memberships" in counts
    assert set(counts.values()) == {0}


def test_the_unscoped_path_sees_no_tenant_row_either(db_session, tenant_a):
    # given a tenant
    # when the cross-tenant scope reads tables directly (not through its function)
    with dangerously_unscoped(db_session, reason="test"):
        count = db_session.execute(text("SELECT count(*) FROM memberships")).scalar()
    # then RLS still shows nothing: only the cross_tenant_* functions see across
    assert count == 0


# ---------------------------------------------------------------- writes

def test_inserting_a_row_for_another_tenant_is_refused_by_the_database(
        db_session, tenant_a, tenant_b):
    # given tenant A's scope
    # when raw SQL inserts a membership carrying tenant B's id
    with tenant_scope(db_session, tenant_a.tenant_id), pytest.raises(DBAPIError) as refused:
        db_session.execute(
            text("INSERT INTO memberships (tenant_id, user_id, role)"
                 " VALUES (:tenant, :user, 'viewer')"),
            {"tenant": tenant_b.tenant_id, "user": tenant_a.user_id},
        )
    # then PostgreSQL's WITH CHECK rejects it
    assert _rls_refusal(refused.value)


def test_an_orm_object_for_another_tenant_is_refused_at_flush(db_session, tenant_a, tenant_b):
    # given tenant A's scope
    with tenant_scope(db_session, tenant_a.tenant_id):
        # when the ORM flushes a membership explicitly set to tenant B
        db_session.add(Membership(tenant_id=tenant_b.tenant_id, user_id=tenant_a.user_id,
                                  role=Role.VIEWER.value))
        with pytest.raises(DBAPIError) as refused:
            db_session.flush()
    # then the database refuses it
    assert _rls_refusal(refused.value)


def test_moving_a_row_to_another_tenant_is_refused(db_session, tenant_a, tenant_b):
    # given tenant A's scope and A's own membership
    # when an UPDATE tries to hand it to tenant B
    with tenant_scope(db_session, tenant_a.tenant_id), pytest.raises(DBAPIError) as refused:
        db_session.execute(text("UPDATE memberships SET tenant_id = :b"),
                           {"b": tenant_b.tenant_id})
    # then the policy's WITH CHECK refuses the new row
    assert _rls_refusal(refused.value)


# ---------------------------------------------------------------- scopes

def test_a_session_without_scope_raises_before_any_sql(app, db_session):
    # given a fresh session with no scope, and a recorder of every statement sent
    sent = []
    engine = db.engine

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with Session(bind=engine) as session:
            # when it runs a query
            with pytest.raises(TenantNotSet):
                session.execute(text("SELECT 1"))
            before_any_scope = list(sent)
            session.rollback()
            # (the recorder does see statements once a scope is set)
            with public_scope(session):
                session.execute(text("SELECT 1"))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    # then it raised before a single statement reached PostgreSQL
    assert before_any_scope == []
    assert sent != []


def test_changing_scope_inside_a_transaction_raises(db_session, tenant_a, tenant_b):
    # given an open transaction in tenant A's scope
    with tenant_scope(db_session, tenant_a.tenant_id):
        db_session.execute(text("SELECT 1"))
        # when code tries to switch to tenant B, or to public, mid-transaction
        with pytest.raises(ScopeChangeInTransaction), tenant_scope(db_session, tenant_b.tenant_id):
            pass
        with pytest.raises(ScopeChangeInTransaction):
            set_scope(db_session, PUBLIC)
        # then the transaction still runs as A
        setting = db_session.execute(
            text("SELECT current_setting('app.tenant_id', true)")).scalar()
    assert setting == str(tenant_a.tenant_id)


def test_the_cross_tenant_function_refuses_outside_dangerously_unscoped(db_session, tenant_a):
    # given the SECURITY DEFINER function listing a user's memberships
    query = text("SELECT * FROM cross_tenant_user_memberships(:u)")
    # when it is called from a tenant scope and from the public scope
    for scope in (tenant_scope(db_session, tenant_a.tenant_id), public_scope(db_session)):
        with scope, pytest.raises(DBAPIError) as refused:
            db_session.execute(query, {"u": tenant_a.user_id})
        # then it raises insufficient_privilege
        assert isinstance(refused.value.orig, pg_errors.InsufficientPrivilege)
        assert "dangerously_unscoped" in str(refused.value.orig)
    # and inside dangerously_unscoped() it answers
    with dangerously_unscoped(db_session, reason="test the narrow path"):
        rows = db_session.execute(query, {"u": tenant_a.user_id}).all()
    assert [r.tenant_id for r in rows] == [tenant_a.tenant_id]


# ---------------------------------------------------------------- privileges

@pytest.mark.parametrize("statement", [
    "SET ROLE {owner}",
    "SET SESSION AUTHORIZATION {owner}",
    "ALTER TABLE tenants DISABLE ROW LEVEL SECURITY",
    "ALTER TABLE memberships NO FORCE ROW LEVEL SECURITY",
    "DROP POLICY tenant_isolation ON memberships",
    "CREATE POLICY everything ON memberships USING (true)",
    "DELETE FROM alembic_version",
    "UPDATE alembic_version SET version_num = 'x'",
    "CREATE TABLE sneaky (id int)",
])
def test_the_app_role_cannot_escape_its_privileges(app, infrastructure, statement):
    # given a raw connection as the application role
    owner = make_url(normalise_database_url(infrastructure.migration_url)).username
    statement = statement.format(owner=owner)
    with app.app_context(), db.engine.connect() as connection:
        transaction = connection.begin()
        try:
            # when it tries to change roles, switch RLS off or touch migrations
            with pytest.raises(DBAPIError) as refused:
                connection.execute(text(statement))
        finally:
            transaction.rollback()
    # then PostgreSQL refuses for lack of privilege
    assert isinstance(refused.value.orig, pg_errors.InsufficientPrivilege), refused.value.orig


# ---------------------------------------------------------------- pooled connections

@pytest.fixture()
def pooled_app(infrastructure):
    app = make_app(infrastructure,
                   SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0})
    yield app
    with app.app_context():
        db.engine.dispose()


def _connection_state(app):
    with app.app_context(), db.engine.connect() as connection:
        return connection.execute(text(
            "SELECT current_setting('app.tenant_id', true), current_setting('app.cross_tenant',"
            " true), pg_backend_pid()")).one()


def test_a_pooled_connection_never_carries_a_tenant_into_the_next_request(pooled_app):
    # given an app with one pooled connection and two tenants registered for real
    client = pooled_app.test_client()
    a = register_tenant(client, "Pool Alpha")
    b = register_tenant(client, "Pool Beta")
    backend = _connection_state(pooled_app).pg_backend_pid
    # when requests alternate A, B, A, B and anonymous on that one connection
    for tenant in (a, b, a, b, None, a):
        headers = tenant.headers if tenant else {}
        profile = client.get("/api/v1/tenant", headers=headers)
        members = client.get("/api/v1/members", headers=headers)
        # then each sees only its own company and people
        if tenant is None:
            assert profile.status_code == members.status_code == 401
        else:
            assert profile.get_json()["id"] == str(tenant.tenant_id)
            assert [m["user_id"] for m in members.get_json()["data"]] == [str(tenant.user_id)]
        # and the connection, back in the pool, carries no tenant and no cross-tenant flag
        state = _connection_state(pooled_app)
        assert state.pg_backend_pid == backend
        assert state[0] in ("", None) and state[1] in ("", None)
