"""Tamper-evident audit log: entries hash-chained per tenant, append-only for the app.

Each entry gets `seq` (1, 2, … per tenant), `prev_hash`, digests of its before/after
documents and `hash` = SHA-256 over the previous hash, its facts and those digests. A
BEFORE INSERT trigger computes them, serialised per tenant by locking the tenant's row in
`audit_chain_heads` (a cache of each chain's last entry; verify never trusts it). The
application role may INSERT and SELECT audit entries, never UPDATE, DELETE or TRUNCATE
them (grants), and triggers refuse those even to the owner — except the one narrow
redaction path GDPR erasure will use, which may replace before/after with pseudonymised
documents and mark the entry redacted: the chain covers the digests taken at insert
time, so it stays verifiable (ADR 0016).

Revision ID: 0009_audit_chain
Revises: 0008_events_webhooks
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from smbfinance.migration_tools import enable_tenant_rls, grant_app, revoke_app

revision = "0009_audit_chain"
down_revision = "0008_events_webhooks"
branch_labels = None
depends_on = None

HASH_FUNCTION = """
CREATE FUNCTION audit_entry_hash(e audit_entries) RETURNS bytea
LANGUAGE sql STABLE AS $$
  SELECT sha256(convert_to(concat_ws('|',
    coalesce(encode(e.prev_hash, 'hex'), ''), e.seq::text, e.tenant_id::text, e.id::text,
    e.actor_type, coalesce(e.actor_id::text, ''), e.action, e.entity_type,
    coalesce(e.entity_id::text, ''), coalesce(e.request_id, ''),
    to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
    encode(e.before_digest, 'hex'), encode(e.after_digest, 'hex')), 'UTF8'))
$$
"""

DIGEST_FUNCTION = """
CREATE FUNCTION audit_document_digest(document jsonb) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
  SELECT sha256(convert_to(coalesce(document::text, 'null'), 'UTF8'))
$$
"""

CHAIN_TRIGGER = """
CREATE FUNCTION audit_entries_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  head record;
BEGIN
  INSERT INTO audit_chain_heads (tenant_id, seq, hash) VALUES (NEW.tenant_id, 0, NULL)
    ON CONFLICT (tenant_id) DO NOTHING;
  SELECT seq, hash INTO head FROM audit_chain_heads
    WHERE tenant_id = NEW.tenant_id FOR UPDATE;
  NEW.seq := head.seq + 1;
  NEW.prev_hash := head.hash;
  NEW.before_digest := audit_document_digest(NEW.before);
  NEW.after_digest := audit_document_digest(NEW.after);
  NEW.redacted_at := NULL;
  NEW.hash := audit_entry_hash(NEW);
  UPDATE audit_chain_heads SET seq = NEW.seq, hash = NEW.hash
    WHERE tenant_id = NEW.tenant_id;
  RETURN NEW;
END
$$
"""

GUARD_TRIGGER = """
CREATE FUNCTION audit_entries_append_only() RETURNS trigger
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

BACKFILL = """
DO $$
DECLARE
  r audit_entries;
  previous bytea;
  current_tenant uuid;
  n bigint;
BEGIN
  FOR r IN SELECT * FROM audit_entries ORDER BY tenant_id, created_at, id LOOP
    IF current_tenant IS DISTINCT FROM r.tenant_id THEN
      current_tenant := r.tenant_id; previous := NULL; n := 0;
    END IF;
    n := n + 1;
    r.seq := n; r.prev_hash := previous;
    r.before_digest := audit_document_digest(r.before);
    r.after_digest := audit_document_digest(r.after);
    r.hash := audit_entry_hash(r);
    UPDATE audit_entries SET seq = r.seq, prev_hash = r.prev_hash, hash = r.hash,
      before_digest = r.before_digest, after_digest = r.after_digest
      WHERE tenant_id = r.tenant_id AND id = r.id;
    previous := r.hash;
  END LOOP;
  INSERT INTO audit_chain_heads (tenant_id, seq, hash)
    SELECT DISTINCT ON (tenant_id) tenant_id, seq, hash FROM audit_entries
    ORDER BY tenant_id, seq DESC;
END
$$
"""


def upgrade() -> None:
    for column in (sa.Column("seq", sa.BigInteger), sa.Column("prev_hash", pg.BYTEA),
                   sa.Column("hash", pg.BYTEA), sa.Column("before_digest", pg.BYTEA),
                   sa.Column("after_digest", pg.BYTEA),
                   sa.Column("redacted_at", sa.DateTime(timezone=True))):
        op.add_column("audit_entries", column)

    op.create_table(
        "audit_chain_heads",
        sa.Column("tenant_id", pg.UUID(as_uuid=True),
                  sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", pg.BYTEA),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_audit_chain_heads"),
    )
    enable_tenant_rls("audit_chain_heads")
    # Written only by the chain trigger, which runs as the inserting (app) role under RLS.
    # A forged head cannot hide anything: the next entry would chain from it, and verify
    # compares every entry's prev_hash with the hash of the entry before it.
    revoke_app("ALL", "audit_chain_heads")
    grant_app("SELECT, INSERT, UPDATE", "audit_chain_heads")

    op.execute(DIGEST_FUNCTION)
    op.execute(HASH_FUNCTION)
    op.execute(BACKFILL)
    for column in ("seq", "hash", "before_digest", "after_digest"):
        op.alter_column("audit_entries", column, nullable=False)
    op.create_unique_constraint("uq_audit_entries_tenant_seq", "audit_entries",
                                ["tenant_id", "seq"])

    op.execute(CHAIN_TRIGGER)
    op.execute("CREATE TRIGGER audit_entries_chain BEFORE INSERT ON audit_entries "
               "FOR EACH ROW EXECUTE FUNCTION audit_entries_chain()")
    op.execute(GUARD_TRIGGER)
    op.execute("CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE "
               "ON audit_entries FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()")
    op.execute("CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
               "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()")
    revoke_app("UPDATE, DELETE, TRUNCATE", "audit_entries")
    grant_app("SELECT, INSERT", "audit_entries")


def downgrade() -> None:
    grant_app("UPDATE, DELETE", "audit_entries")
    for trigger in ("audit_entries_no_truncate", "audit_entries_append_only",
                    "audit_entries_chain"):
        op.execute(f"DROP TRIGGER {trigger} ON audit_entries")
    for function in ("audit_entries_append_only()", "audit_entries_chain()",
                     "audit_entry_hash(audit_entries)", "audit_document_digest(jsonb)"):
        op.execute(f"DROP FUNCTION {function}")
    op.drop_constraint("uq_audit_entries_tenant_seq", "audit_entries", type_="unique")
    op.drop_table("audit_chain_heads")
    for column in ("redacted_at", "after_digest", "before_digest", "hash", "prev_hash", "seq"):
        op.drop_column("audit_entries", column)
