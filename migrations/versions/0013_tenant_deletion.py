"""Tenant deletion: the owner's two-step request to close a company, and the purge of all
its rows once the legal retention has run out (ADR 0038).

- `tenants.closed_at`: a closed company refuses every sign-in, token and API key.
- `tenant_deletions`: one request per attempt (pending → closed, or cancelled), tenant-owned
  under RLS; the confirmation token is stored as a SHA-256 only.
- `tenant_retention_ends_on(tenant)`: the day the legal retention of the company's records
  ends (1 January of the 11th year after its latest invoice date, booking date or audit
  entry), NULL when it holds none. An ordinary (invoker) function: the app reads it under
  RLS for its own company; the purge calls it as the owner.
- `cross_tenant_purge_due_tenants(now)`: the closed companies whose purge date has come.
- `cross_tenant_purge_tenant(tenant)`: deletes every row of one closed company whose
  retention has ended by the database's own clock, including its audit log (the
  append-only guard lets a DELETE through only for the tenant this function names), then
  the accounts of its members that belong to no other company.
- The app role loses DELETE on `tenants`: the only way to remove a company (and, through
  the cascade, its audit log) is the purge function.
- `cross_tenant_user_memberships` leaves closed companies out (no sign-in to them).

Revision ID: 0013_tenant_deletion
Revises: 0012_sync_engine
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from smbfinance.migration_tools import enable_tenant_rls, grant_app, revoke_app, tenant_id_column

revision = "0013_tenant_deletion"
down_revision = "0012_sync_engine"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
UUID = pg.UUID(as_uuid=True)

# Our own audit actions are left out: closing a company must not restart its retention.
RETENTION_ENDS_ON = r"""
CREATE FUNCTION tenant_retention_ends_on(p_tenant_id uuid) RETURNS date
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT make_date(least(extract(year FROM latest)::integer + 11, 9999), 1, 1)
  FROM (SELECT greatest(
          (SELECT max(issue_date) FROM invoices WHERE tenant_id = p_tenant_id),
          (SELECT max(booking_date) FROM bank_transactions WHERE tenant_id = p_tenant_id),
          (SELECT max((created_at AT TIME ZONE 'UTC')::date) FROM audit_entries
            WHERE tenant_id = p_tenant_id AND action NOT LIKE 'tenant\_deletion.%')
        ) AS latest) l
  WHERE latest IS NOT NULL
$$
"""

DUE = """
CREATE FUNCTION cross_tenant_purge_due_tenants(p_now timestamptz)
RETURNS TABLE (tenant_id uuid, purge_after timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF coalesce(current_setting('app.cross_tenant', true), '') <> 'on' THEN
    RAISE EXCEPTION 'cross-tenant access outside dangerously_unscoped()'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN QUERY
    SELECT d.tenant_id, d.purge_after FROM tenant_deletions d
    WHERE d.status = 'closed' AND d.purge_after <= p_now
    ORDER BY d.purge_after, d.tenant_id;
END
$$
"""

# The retention is checked against the database's clock, never a caller's: the app role
# can call this function, and must not be able to wipe an audit log younger than the law
# requires by passing a date in the future.
PURGE = r"""
CREATE FUNCTION cross_tenant_purge_tenant(p_tenant_id uuid) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  deletion record;
  ends date;
  members uuid[];
  tbl text;
  n bigint;
  counts jsonb := '{}'::jsonb;
  leftovers integer;
  pass integer := 0;
  member uuid;
  users_deleted integer := 0;
BEGIN
  IF coalesce(current_setting('app.cross_tenant', true), '') <> 'on' THEN
    RAISE EXCEPTION 'cross-tenant access outside dangerously_unscoped()'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM 1 FROM tenants WHERE id = p_tenant_id AND closed_at IS NOT NULL FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'tenant % is not closed', p_tenant_id
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  SELECT * INTO deletion FROM tenant_deletions
    WHERE tenant_id = p_tenant_id AND status = 'closed' FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'tenant % has no confirmed deletion', p_tenant_id
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  ends := tenant_retention_ends_on(p_tenant_id);
  IF (ends IS NOT NULL AND now() < (ends::timestamp AT TIME ZONE 'UTC'))
     OR deletion.purge_after > now() THEN
    RAISE EXCEPTION 'tenant % is kept until % (legal retention)', p_tenant_id,
      greatest(ends::timestamp AT TIME ZONE 'UTC', deletion.purge_after)
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;

  SELECT coalesce(array_agg(user_id), '{}') INTO members FROM memberships
    WHERE tenant_id = p_tenant_id;
  FOR tbl IN
    SELECT c.relname FROM pg_class c
    JOIN pg_namespace ns ON ns.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
    WHERE ns.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname
  LOOP
    EXECUTE format('SELECT count(*) FROM %I WHERE tenant_id = $1', tbl) INTO n
      USING p_tenant_id;
    IF n > 0 THEN
      counts := counts || jsonb_build_object(tbl, n);
    END IF;
  END LOOP;
  counts := counts || jsonb_build_object('tenants', 1);

  -- The audit log's guard lets these deletes through for this tenant only, until the
  -- end of this function (the setting is cleared below and is transaction-local).
  PERFORM set_config('smbfinance.tenant_purge', p_tenant_id::text, true);
  DELETE FROM tenants WHERE id = p_tenant_id;  -- cascades to every tenant_id foreign key
  -- Tables whose tenant_id has no foreign key to tenants: delete what is left, children
  -- before parents (a pass that hits a reference is retried after the others).
  LOOP
    leftovers := 0;
    pass := pass + 1;
    FOR tbl IN
      SELECT c.relname FROM pg_class c
      JOIN pg_namespace ns ON ns.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
        AND NOT a.attisdropped
      WHERE ns.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname
    LOOP
      BEGIN
        EXECUTE format('DELETE FROM %I WHERE tenant_id = $1', tbl) USING p_tenant_id;
      EXCEPTION WHEN foreign_key_violation THEN
        leftovers := leftovers + 1;
      END;
    END LOOP;
    EXIT WHEN leftovers = 0;
    IF pass >= 10 THEN
      RAISE EXCEPTION 'tenant % could not be purged: references left', p_tenant_id;
    END IF;
  END LOOP;
  PERFORM set_config('smbfinance.tenant_purge', '', true);

  -- Accounts of members who belong to no other company: nobody can sign in with them any
  -- more, and they hold the person's email and name.
  FOREACH member IN ARRAY members LOOP
    IF NOT EXISTS (SELECT 1 FROM memberships WHERE user_id = member) THEN
      BEGIN
        DELETE FROM users WHERE id = member;
        users_deleted := users_deleted + 1;
      EXCEPTION WHEN foreign_key_violation THEN
        NULL;  -- still referenced by another company's row: the account stays
      END;
    END IF;
  END LOOP;
  RETURN counts || jsonb_build_object('users', users_deleted);
END
$$
"""

GUARD_WITH_PURGE = """
CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE'
     AND OLD.tenant_id::text = current_setting('smbfinance.tenant_purge', true) THEN
    RETURN OLD;  -- cross_tenant_purge_tenant(): the whole company goes, retention over
  END IF;
  IF TG_OP = 'UPDATE'
     AND current_setting('smbfinance.audit_redaction', true) = 'on'
     AND NEW.redacted_at IS NOT NULL
     AND (NEW.tenant_id, NEW.id, NEW.seq, NEW.prev_hash, NEW.hash, NEW.before_digest,
          NEW.after_digest, NEW.actor_type, NEW.actor_id, NEW.action, NEW.entity_type,
          NEW.entity_id, NEW.request_id, NEW.created_at)
         IS NOT DISTINCT FROM
         (OLD.tenant_id, OLD.id, OLD.seq, OLD.prev_hash, OLD.hash, OLD.before_digest,
          OLD.after_digest, OLD.actor_type, OLD.actor_id, OLD.action, OLD.entity_type,
          OLD.entity_id, OLD.request_id, OLD.created_at) THEN
    RETURN NEW;  -- GDPR redaction: only before/after change, the chain's digests stay
  END IF;
  RAISE EXCEPTION 'audit entries are append-only (% refused)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$
"""

GUARD_ORIGINAL = """
CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND current_setting('smbfinance.audit_redaction', true) = 'on'
     AND NEW.redacted_at IS NOT NULL
     AND (NEW.tenant_id, NEW.id, NEW.seq, NEW.prev_hash, NEW.hash, NEW.before_digest,
          NEW.after_digest, NEW.actor_type, NEW.actor_id, NEW.action, NEW.entity_type,
          NEW.entity_id, NEW.request_id, NEW.created_at)
         IS NOT DISTINCT FROM
         (OLD.tenant_id, OLD.id, OLD.seq, OLD.prev_hash, OLD.hash, OLD.before_digest,
          OLD.after_digest, OLD.actor_type, OLD.actor_id, OLD.action, OLD.entity_type,
          OLD.entity_id, OLD.request_id, OLD.created_at) THEN
    RETURN NEW;  -- GDPR redaction: only before/after change, the chain's digests stay
  END IF;
  RAISE EXCEPTION 'audit entries are append-only (% refused)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$
"""


USER_MEMBERSHIPS = """
    CREATE OR REPLACE FUNCTION cross_tenant_user_memberships(p_user_id uuid)
    RETURNS TABLE (tenant_id uuid, legal_name text, role text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$
    BEGIN
        IF coalesce(current_setting('app.cross_tenant', true), '') <> 'on' THEN
            RAISE EXCEPTION 'cross-tenant access outside dangerously_unscoped()'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN QUERY
            SELECT m.tenant_id, t.legal_name::text, m.role::text
            FROM memberships m JOIN tenants t ON t.id = m.tenant_id
            WHERE m.user_id = p_user_id /* open only */
            ORDER BY t.legal_name, m.tenant_id;
    END
    $$
    """
OPEN_ONLY = "/* open only */"


def _user_memberships(extra_condition: str) -> str:
    return USER_MEMBERSHIPS.replace(OPEN_ONLY, extra_condition)


DEFINERS = ("cross_tenant_purge_due_tenants(timestamptz)", "cross_tenant_purge_tenant(uuid)")


def upgrade() -> None:
    op.add_column("tenants", sa.Column("closed_at", TS))

    op.create_table(
        "tenant_deletions",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("status", sa.String(12), nullable=False, server_default="pending"),
        sa.Column("requested_by", UUID, nullable=False),
        sa.Column("requested_at", TS, nullable=False, server_default=sa.text("now()")),
        sa.Column("token_hash", pg.BYTEA),
        sa.Column("token_expires_at", TS),
        sa.Column("confirmed_by", UUID),
        sa.Column("confirmed_at", TS),
        sa.Column("cancelled_by", UUID),
        sa.Column("cancelled_at", TS),
        sa.Column("retention_ends_on", sa.Date),
        sa.Column("purge_after", TS),
        sa.Column("paused", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_tenant_deletions"),
        sa.CheckConstraint("status IN ('pending', 'closed', 'cancelled')", name="status_valid"),
        sa.CheckConstraint("status <> 'pending' OR (token_hash IS NOT NULL"
                           " AND token_expires_at IS NOT NULL)", name="pending_has_token"),
        sa.CheckConstraint("status <> 'closed' OR (confirmed_at IS NOT NULL"
                           " AND purge_after IS NOT NULL AND token_hash IS NULL)",
                           name="closed_is_confirmed"),
    )
    # One live request (pending or closed) per company.
    op.create_index("uq_tenant_deletions_live", "tenant_deletions", ["tenant_id"],
                    unique=True, postgresql_where=sa.text("status IN ('pending', 'closed')"))
    enable_tenant_rls("tenant_deletions")
    # The request's history stays; nobody deletes it but the purge.
    revoke_app("DELETE", "tenant_deletions")

    op.execute(RETENTION_ENDS_ON)
    op.execute("REVOKE ALL ON FUNCTION tenant_retention_ends_on(uuid) FROM PUBLIC")
    grant_app("EXECUTE", "FUNCTION tenant_retention_ends_on(uuid)")
    op.execute(GUARD_WITH_PURGE)
    for definition in (DUE, PURGE):
        op.execute(definition)
    for signature in DEFINERS:
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        grant_app("EXECUTE", f"FUNCTION {signature}")
    op.execute(_user_memberships("AND t.closed_at IS NULL"))
    # Deleting a company cascades into its audit log: only the purge function may.
    revoke_app("DELETE, TRUNCATE", "tenants")


def downgrade() -> None:
    grant_app("DELETE", "tenants")
    op.execute(_user_memberships(""))
    for signature in DEFINERS:
        op.execute(f"DROP FUNCTION {signature}")
    op.execute(GUARD_ORIGINAL)
    op.execute("DROP FUNCTION tenant_retention_ends_on(uuid)")
    op.drop_table("tenant_deletions")
    op.drop_column("tenants", "closed_at")
