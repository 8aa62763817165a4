"""GDPR: exports (a ZIP per request, kept 24 h) and erasures (the record of each
pseudonymisation), plus the database functions erasure needs (ADR 0029).

- `gdpr_redact_audit_entry(id, before, after)`: the one way to rewrite an audit entry's
  before/after documents. The app role has no UPDATE on audit_entries; this SECURITY
  DEFINER function runs as the owner, which bypasses RLS, so it filters on the caller's
  tenant itself, and it opens the guard trigger's redaction path (migration 0009) only for
  its own UPDATE. The chain covers the digests taken at insert time, so it stays verifiable.
- `gdpr_user_other_memberships(user_id)`: how many other companies a member of the
  caller's company also belongs to (NULL when not a member here): erasing a person who
  works for another company too would erase data that company relies on.
- `gdpr_purge_expired_exports()`: the daily purge drops the content of every company's
  expired exports; only under dangerously_unscoped() (app.cross_tenant = on).

Revision ID: 0011_gdpr
Revises: 0010_api_keys
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from smbfinance.migration_tools import enable_tenant_rls, grant_app, tenant_id_column

revision = "0011_gdpr"
down_revision = "0010_api_keys"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
UUID = pg.UUID(as_uuid=True)
REDACT_AUDIT_ENTRY = """
CREATE FUNCTION gdpr_redact_audit_entry(p_id uuid, p_before jsonb, p_after jsonb)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  tenant uuid := NULLIF(current_setting('app.tenant_id', true), '')::uuid;
  changed boolean;
BEGIN
  IF tenant IS NULL THEN
    RAISE EXCEPTION 'gdpr_redact_audit_entry needs a tenant scope'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM set_config('smbfinance.audit_redaction', 'on', true);
  UPDATE audit_entries SET before = p_before, after = p_after, redacted_at = now()
    WHERE tenant_id = tenant AND id = p_id;
  changed := FOUND;
  PERFORM set_config('smbfinance.audit_redaction', '', true);
  RETURN changed;
END
$$
"""

OTHER_MEMBERSHIPS = """
CREATE FUNCTION gdpr_user_other_memberships(p_user_id uuid) RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  tenant uuid := NULLIF(current_setting('app.tenant_id', true), '')::uuid;
BEGIN
  IF tenant IS NULL OR NOT EXISTS (SELECT 1 FROM memberships
                                   WHERE tenant_id = tenant AND user_id = p_user_id) THEN
    RETURN NULL;
  END IF;
  RETURN (SELECT count(*)::integer FROM memberships
          WHERE user_id = p_user_id AND tenant_id <> tenant);
END
$$
"""

PURGE_EXPIRED = """
CREATE FUNCTION gdpr_purge_expired_exports() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  purged integer;
BEGIN
  IF current_setting('app.cross_tenant', true) IS DISTINCT FROM 'on' THEN
    RAISE EXCEPTION 'gdpr_purge_expired_exports needs the cross-tenant scope'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  UPDATE gdpr_exports SET content = NULL, status = 'expired'
    WHERE status = 'ready' AND expires_at <= now();
  GET DIAGNOSTICS purged = ROW_COUNT;
  RETURN purged;
END
$$
"""

FUNCTIONS = ("gdpr_redact_audit_entry(uuid, jsonb, jsonb)",
             "gdpr_user_other_memberships(uuid)", "gdpr_purge_expired_exports()")


def upgrade() -> None:
    op.create_table(
        "gdpr_exports",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("status", sa.String(12), nullable=False, server_default="queued"),
        sa.Column("requested_by", UUID),
        sa.Column("created_at", TS, nullable=False, server_default=sa.text("now()")),
        sa.Column("started_at", TS),
        sa.Column("completed_at", TS),
        sa.Column("expires_at", TS),
        sa.Column("size", sa.BigInteger),
        sa.Column("sha256", sa.String(64)),
        sa.Column("content", pg.BYTEA),
        sa.Column("error", sa.String(500)),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_gdpr_exports"),
        sa.CheckConstraint("status IN ('queued', 'running', 'ready', 'failed', 'expired')",
                           name="status_valid"),
        sa.CheckConstraint("status <> 'ready' OR (content IS NOT NULL AND sha256 IS NOT NULL"
                           " AND expires_at IS NOT NULL)", name="ready_has_content"),
    )
    op.create_index("ix_gdpr_exports_tenant_expires", "gdpr_exports",
                    ["tenant_id", "expires_at"])
    enable_tenant_rls("gdpr_exports")

    op.create_table(
        "gdpr_erasures",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("subject_type", sa.String(10), nullable=False),
        sa.Column("subject_id", UUID, nullable=False),
        sa.Column("pseudonym", sa.String(60), nullable=False),
        sa.Column("counts", pg.JSONB, nullable=False),
        sa.Column("requested_by", UUID),
        sa.Column("created_at", TS, nullable=False, server_default=sa.text("now()")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_gdpr_erasures"),
        sa.CheckConstraint("subject_type IN ('contact', 'user')", name="subject_type_valid"),
    )
    op.create_index("ix_gdpr_erasures_tenant_subject", "gdpr_erasures",
                    ["tenant_id", "subject_type", "subject_id"])
    enable_tenant_rls("gdpr_erasures")

    for definition, signature in zip((REDACT_AUDIT_ENTRY, OTHER_MEMBERSHIPS, PURGE_EXPIRED),
                                     FUNCTIONS, strict=True):
        op.execute(definition)
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        grant_app("EXECUTE", f"FUNCTION {signature}")


def downgrade() -> None:
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
    op.drop_table("gdpr_erasures")
    op.drop_table("gdpr_exports")
