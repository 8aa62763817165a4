"""Transactional outbox, event feed, webhook endpoints and deliveries.

- `outbox_events`: written in the transaction of the change; `seq` (feed position) stays
  NULL until the relay publishes the event, in commit order per tenant.
- `webhook_endpoints`: a partner's URL, event types, filter, secrets (current and the
  previous one during a rotation overlap), and failure state.
- `webhook_deliveries`: one per (endpoint, event) — the unique key makes fan-out
  idempotent — with its attempts, schedule and outcome.
- Three loudly named cross-tenant functions for the scheduler: which tenants have work,
  the retention purge, and which tenants may have invoices that just became overdue.

Revision ID: 0008_events_webhooks
Revises: 0007_integrations
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from smbfinance.migration_tools import enable_tenant_rls, grant_app, tenant_id_column

revision = "0008_events_webhooks"
down_revision = "0007_integrations"
branch_labels = None
depends_on = None

UUID = pg.UUID(as_uuid=True)
NOW = sa.text("now()")
TS = sa.DateTime(timezone=True)


def timestamps() -> list[sa.Column]:
    return [sa.Column("created_at", TS, nullable=False, server_default=NOW),
            sa.Column("updated_at", TS, nullable=False, server_default=NOW)]


def upgrade() -> None:
    # Feed positions: taken by the relay under a per-tenant lock held to commit, so one
    # tenant's positions grow in commit order and a cursor never skips a late commit.
    op.execute("CREATE SEQUENCE outbox_feed_seq AS bigint")
    grant_app("USAGE, SELECT", "SEQUENCE outbox_feed_seq")

    op.create_table(
        "outbox_events",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(40), nullable=False),
        sa.Column("object_id", UUID),
        sa.Column("data", pg.JSONB, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("seq", sa.BigInteger),
        sa.Column("relayed_at", TS),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_outbox_events"),
        sa.CheckConstraint("jsonb_typeof(data) = 'object'", name="data_object"),
        sa.CheckConstraint("(seq IS NULL) = (relayed_at IS NULL)", name="relayed_has_seq"),
    )
    op.create_index("uq_outbox_events_tenant_seq", "outbox_events", ["tenant_id", "seq"],
                    unique=True, postgresql_where=sa.text("seq IS NOT NULL"))
    # The relay's work list: small, because rows leave it as soon as they are published.
    op.create_index("ix_outbox_events_tenant_pending", "outbox_events", ["tenant_id", "id"],
                    postgresql_where=sa.text("seq IS NULL"))
    op.create_index("ix_outbox_events_tenant_created", "outbox_events",
                    ["tenant_id", "created_at"])
    enable_tenant_rls("outbox_events")

    op.create_table(
        "webhook_endpoints",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("description", sa.String(500)),
        sa.Column("event_types", pg.ARRAY(sa.String(64)), nullable=False,
                  server_default="{}"),
        sa.Column("filter", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("disabled_reason", sa.String(200)),
        sa.Column("disabled_at", TS),
        sa.Column("secret", sa.String(300), nullable=False),
        sa.Column("previous_secret", sa.String(300)),
        sa.Column("previous_secret_expires_at", TS),
        sa.Column("failing_since", TS),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("deleted_at", TS),
        *timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_webhook_endpoints"),
        sa.CheckConstraint("jsonb_typeof(filter) = 'object'", name="filter_object"),
        sa.CheckConstraint("(previous_secret IS NULL) = (previous_secret_expires_at IS NULL)",
                           name="previous_secret_expiry"),
        # Signing secrets are stored sealed (AES-256-GCM, ADR 0028), never in clear.
        sa.CheckConstraint("secret ~ '^v1[.][A-Za-z0-9_-]+[.][A-Za-z0-9_-]+$' AND "
                           "(previous_secret IS NULL OR "
                           "previous_secret ~ '^v1[.][A-Za-z0-9_-]+[.][A-Za-z0-9_-]+$')",
                           name="secrets_sealed"),
    )
    op.create_index("ix_webhook_endpoints_tenant_created", "webhook_endpoints",
                    ["tenant_id", "created_at", "id"],
                    postgresql_where=sa.text("deleted_at IS NULL"))
    enable_tenant_rls("webhook_endpoints")

    op.create_table(
        "webhook_deliveries",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("endpoint_id", UUID, nullable=False),
        sa.Column("event_id", UUID),
        sa.Column("message_id", sa.String(100), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("object_id", UUID),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("payload", pg.JSONB),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempt_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS),
        sa.Column("last_attempt_at", TS),
        sa.Column("last_status_code", sa.Integer),
        sa.Column("last_error", sa.String(500)),
        sa.Column("attempts", pg.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("delivered_at", TS),
        *timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_webhook_deliveries"),
        sa.ForeignKeyConstraint(["tenant_id", "endpoint_id"],
                                ["webhook_endpoints.tenant_id", "webhook_endpoints.id"],
                                name="fk_webhook_deliveries_endpoint", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id", "event_id"],
                                ["outbox_events.tenant_id", "outbox_events.id"],
                                name="fk_webhook_deliveries_event", ondelete="CASCADE"),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status_valid"),
        sa.CheckConstraint("(event_id IS NULL) <> (payload IS NULL)", name="event_or_payload"),
        sa.CheckConstraint("jsonb_typeof(attempts) = 'array'", name="attempts_array"),
    )
    # Fan-out is idempotent: a relay that runs twice cannot deliver an event twice.
    op.create_index("uq_webhook_deliveries_endpoint_event", "webhook_deliveries",
                    ["tenant_id", "endpoint_id", "event_id"], unique=True,
                    postgresql_where=sa.text("event_id IS NOT NULL"))
    # Per-object ordering: the head of each (endpoint, object) queue goes first.
    op.create_index("ix_webhook_deliveries_tenant_queue", "webhook_deliveries",
                    ["tenant_id", "endpoint_id", "object_id", "seq"],
                    postgresql_where=sa.text("status = 'pending'"))
    op.create_index("ix_webhook_deliveries_tenant_due", "webhook_deliveries",
                    ["tenant_id", "next_attempt_at"],
                    postgresql_where=sa.text("status = 'pending'"))
    op.create_index("ix_webhook_deliveries_tenant_endpoint_list", "webhook_deliveries",
                    ["tenant_id", "endpoint_id", "id"])
    enable_tenant_rls("webhook_deliveries")

    # The scheduler's one question across tenants: who has events to relay or deliveries
    # due? Only tenant ids leave this function.
    op.execute(
        """
        CREATE FUNCTION cross_tenant_webhook_work(p_now timestamptz)
        RETURNS TABLE (tenant_id uuid)
        LANGUAGE plpgsql STABLE SECURITY DEFINER
        SET search_path = public, pg_temp
        AS $$
        BEGIN
            IF coalesce(current_setting('app.cross_tenant', true), '') <> 'on' THEN
                RAISE EXCEPTION 'cross-tenant access outside dangerously_unscoped()'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN QUERY
                SELECT e.tenant_id FROM outbox_events e WHERE e.seq IS NULL
                UNION
                SELECT d.tenant_id FROM webhook_deliveries d
                JOIN webhook_endpoints w ON w.tenant_id = d.tenant_id AND w.id = d.endpoint_id
                WHERE d.status = 'pending' AND d.next_attempt_at <= p_now
                  AND (d.payload IS NOT NULL OR (w.enabled AND w.deleted_at IS NULL));
        END
        $$
        """
    )
    # Retention: published events older than the cutoff go, with their deliveries.
    op.execute(
        """
        CREATE FUNCTION cross_tenant_purge_outbox(p_before timestamptz)
        RETURNS bigint
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER
        SET search_path = public, pg_temp
        AS $$
        DECLARE
            removed bigint;
        BEGIN
            IF coalesce(current_setting('app.cross_tenant', true), '') <> 'on' THEN
                RAISE EXCEPTION 'cross-tenant access outside dangerously_unscoped()'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            IF p_before > now() - interval '30 days' THEN
                RAISE EXCEPTION 'events are kept at least 30 days'
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            DELETE FROM webhook_deliveries d
            WHERE d.payload IS NOT NULL AND d.created_at < p_before;
            DELETE FROM outbox_events e WHERE e.seq IS NOT NULL AND e.created_at < p_before;
            GET DIAGNOSTICS removed = ROW_COUNT;
            RETURN removed;
        END
        $$
        """
    )
    # The hourly overdue scan: which tenants have unsettled invoices due recently (the
    # per-tenant service then applies each tenant's own "today").
    op.execute(
        """
        CREATE FUNCTION cross_tenant_overdue_invoice_tenants(p_since date)
        RETURNS TABLE (tenant_id uuid)
        LANGUAGE plpgsql STABLE SECURITY DEFINER
        SET search_path = public, pg_temp
        AS $$
        BEGIN
            IF coalesce(current_setting('app.cross_tenant', true), '') <> 'on' THEN
                RAISE EXCEPTION 'cross-tenant access outside dangerously_unscoped()'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN QUERY
                SELECT DISTINCT i.tenant_id FROM invoices i
                WHERE i.status IN ('open', 'partially_paid') AND i.deleted_at IS NULL
                  AND i.due_date >= p_since AND i.due_date <= current_date;
        END
        $$
        """
    )
    for signature in ("cross_tenant_webhook_work(timestamptz)",
                      "cross_tenant_purge_outbox(timestamptz)",
                      "cross_tenant_overdue_invoice_tenants(date)"):
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        grant_app("EXECUTE", f"FUNCTION {signature}")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS cross_tenant_overdue_invoice_tenants(date)")
    op.execute("DROP FUNCTION IF EXISTS cross_tenant_purge_outbox(timestamptz)")
    op.execute("DROP FUNCTION IF EXISTS cross_tenant_webhook_work(timestamptz)")
    for table in ("webhook_deliveries", "webhook_endpoints", "outbox_events"):
        op.drop_table(table)
    op.execute("DROP SEQUENCE IF EXISTS outbox_feed_seq")
