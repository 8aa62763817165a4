"""The catalogue says what PostgreSQL will enforce: read it (as the owner role) and fail on
any tenant table without forced RLS and a tenant policy, any privilege the application
role should not have, any view that runs with its owner's rights, any index that does not
lead with the tenant."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from config import normalise_database_url

# Indexes on tenant-owned tables that deliberately do not lead with the tenant column.
INDEX_EXCEPTIONS = {
    # Login path: cross_tenant_user_memberships() finds a user's memberships in every
    # tenant by user_id, before any tenant is known.
    "ix_memberships_user",
    # Sync tick: cross_tenant_claim_due_integrations() finds due integrations of every
    # tenant by next_sync_at (migration 0012).
    "ix_integrations_due",
    # Ponto webhook: cross_tenant_ponto_webhook_integrations() finds the integration of the
    # organization a signed webhook names, before any tenant is known (migration 0012).
    "ix_integrations_provider_external",
}

TENANT_TABLES = text("""
    SELECT c.oid, c.relname,
           CASE WHEN c.relname = 'tenants' THEN 'id' ELSE 'tenant_id' END AS tenant_column,
           c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner) AS owner
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
      AND (c.relname = 'tenants' OR EXISTS (
            SELECT 1 FROM pg_attribute a
            WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))
    ORDER BY c.relname
""")


@pytest.fixture(scope="module")
def catalogue(infrastructure):
    engine = create_engine(normalise_database_url(infrastructure.migration_url))
    with engine.connect() as connection:
        yield connection
    engine.dispose()


@pytest.fixture(scope="module")
def app_role(infrastructure) -> str:
    return make_url(normalise_database_url(infrastructure.database_url)).username


@pytest.fixture(scope="module")
def owner_role(infrastructure) -> str:
    return make_url(normalise_database_url(infrastructure.migration_url)).username


def tenant_tables(catalogue):
    return catalogue.execute(TENANT_TABLES).mappings().all()


def test_the_catalogue_query_finds_the_known_tenant_tables(catalogue):
    # given the foundation migration
    # when the tenant tables are read from the catalogue
    names = {row["relname"] for row in tenant_tables(catalogue)}
    # then the checks below are not vacuous
    assert {"tenants", "memberships", "refresh_token_families"} <= names


def test_every_tenant_table_enables_and_forces_row_level_security(catalogue):
    # given every table with a tenant_id column, and tenants itself
    rows = tenant_tables(catalogue)
    # when their RLS flags are read
    unprotected = [r["relname"] for r in rows
                   if not (r["relrowsecurity"] and r["relforcerowsecurity"])]
    # then every one is enabled AND forced (forced: the owner is bound too)
    assert unprotected == []


def test_every_tenant_table_has_a_tenant_policy_for_reads_and_writes(catalogue):
    # given the policies of every tenant table
    policies = catalogue.execute(text(
        "SELECT tablename, policyname, permissive, cmd, qual, with_check"
        " FROM pg_policies WHERE schemaname = 'public'"
    )).mappings().all()
    missing, widening = [], []
    for table in tenant_tables(catalogue):
        own = [p for p in policies if p["tablename"] == table["relname"]]
        column = table["tenant_column"]
        # when we look for one policy whose USING and WITH CHECK both compare the
        # tenant column with app.tenant_id
        if not any(
            p["cmd"] == "ALL" and _compares_tenant(p["qual"], column)
            and _compares_tenant(p["with_check"], column)
            for p in own
        ):
            missing.append(table["relname"])
        # and for permissive policies that would OR a wider condition onto it
        widening += [
            f"{table['relname']}.{p['policyname']}" for p in own
            if p["permissive"] == "PERMISSIVE" and not _compares_tenant(p["qual"], column)
        ]
    # then every table has one, and none has a policy that widens it
    assert missing == []
    assert widening == []


def _compares_tenant(expression: str | None, column: str) -> bool:
    return bool(expression) and "app.tenant_id" in expression and column in expression


def test_the_app_role_is_not_superuser_and_cannot_bypass_rls(catalogue, app_role, owner_role):
    # given the application role
    # when its attributes are read
    role = catalogue.execute(
        text("SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = :r"),
        {"r": app_role},
    ).mappings().one()
    # then it is an ordinary role, distinct from the owner
    assert app_role != owner_role
    assert role["rolsuper"] is False
    assert role["rolbypassrls"] is False
    assert role["rolcreaterole"] is False


def test_the_app_role_owns_nothing(catalogue, app_role):
    # given the application role
    # when we look for relations, functions, schemas and databases it owns
    owned = catalogue.execute(text("""
        SELECT 'relation ' || n.nspname || '.' || c.relname FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relowner = to_regrole(:r) AND n.nspname NOT LIKE 'pg\\_temp\\_%'
           AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
        UNION ALL
        SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p
         WHERE p.proowner = to_regrole(:r)
        UNION ALL
        SELECT 'schema ' || nspname FROM pg_namespace WHERE nspowner = to_regrole(:r)
        UNION ALL
        SELECT 'database ' || datname FROM pg_database WHERE datdba = to_regrole(:r)
    """), {"r": app_role}).scalars().all()
    # then there is none: ownership would let it switch RLS off
    assert owned == []


def test_the_app_role_is_not_a_member_of_any_table_owner(catalogue, app_role, owner_role):
    # given the roles that own tenant tables (the owner role among them)
    owners = {owner_role} | {row["owner"] for row in tenant_tables(catalogue)}
    # when membership is checked, directly or through other roles
    member_of = [
        owner for owner in sorted(owners)
        if catalogue.execute(text("SELECT pg_has_role(:a, :o, 'MEMBER')"),
                             {"a": app_role, "o": owner}).scalar()
    ]
    # then it inherits no owner's rights
    assert member_of == []


def test_every_view_runs_with_the_callers_rights(catalogue):
    # given every view in the public schema
    views = catalogue.execute(text("""
        SELECT c.relname, coalesce(c.reloptions, '{}') AS options
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'v'
    """)).mappings().all()
    # when their options are read
    definer_views = [v["relname"] for v in views
                     if "security_invoker=true" not in v["options"]
                     and "security_invoker=on" not in v["options"]]
    # then each has security_invoker=true (else RLS applies as the view's owner)
    assert definer_views == []


def test_the_app_role_cannot_read_materialized_views(catalogue, app_role):
    # given every materialized view (RLS never applies to them)
    readable = catalogue.execute(text("""
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'm'
          AND has_table_privilege(:r, c.oid, 'SELECT')
    """), {"r": app_role}).scalars().all()
    # then the application role may read none of them
    assert readable == []


def test_security_definer_functions_are_named_cross_tenant_and_pin_search_path(catalogue):
    # given every SECURITY DEFINER function in the public schema
    functions = catalogue.execute(text("""
        SELECT p.proname, coalesce(p.proconfig, '{}') AS config
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.prosecdef
    """)).mappings().all()
    # when their names and settings are read
    # gdpr_* functions (migration 0011) are the other definer path: they act only within
    # the caller's tenant (audit redaction, which the app role's grants forbid), or, for
    # the purge of expired exports, refuse unless the cross-tenant scope is open.
    badly_named = [f["proname"] for f in functions
                   if not f["proname"].startswith(("cross_tenant_", "gdpr_"))]
    unpinned = [f["proname"] for f in functions
                if not any(c.startswith("search_path=") for c in f["config"])]
    # then each is a loudly named cross-tenant path with a fixed search_path
    assert "cross_tenant_user_memberships" in {f["proname"] for f in functions}
    assert badly_named == []
    assert unpinned == []


def test_every_index_on_a_tenant_table_leads_with_the_tenant(catalogue):
    # given every non-primary-key index on a tenant-owned table
    indexes = catalogue.execute(text("""
        SELECT t.relname AS table_name, i.relname AS index_name,
               CASE WHEN x.indkey[0] = 0 THEN NULL
                    ELSE (SELECT a.attname FROM pg_attribute a
                          WHERE a.attrelid = x.indrelid AND a.attnum = x.indkey[0]) END
               AS leading
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        WHERE x.indrelid = ANY(:tables) AND NOT x.indisprimary
    """), {"tables": [row["oid"] for row in tenant_tables(catalogue)]}).mappings().all()
    columns = {row["relname"]: row["tenant_column"] for row in tenant_tables(catalogue)}
    # when their leading column is compared with the tenant column
    offenders = [
        f"{ix['index_name']} on {ix['table_name']} leads with {ix['leading']}"
        for ix in indexes
        if ix["leading"] != columns[ix["table_name"]] and ix["index_name"] not in INDEX_EXCEPTIONS
    ]
    # then only the documented exceptions differ, and each exception still exists
    assert offenders == []
    assert {ix["index_name"] for ix in indexes} >= INDEX_EXCEPTIONS
