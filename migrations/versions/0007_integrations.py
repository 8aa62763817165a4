"""Integrations with Ponto and Yuki: connections, encrypted credentials, sync logs.

Revision ID: 0007_integrations
Revises: 0006_cashflow
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from smbfinance.migration_tools import enable_tenant_rls, tenant_id_column

revision = "0007_integrations"
down_revision = "0006_cashflow"
branch_labels = None
depends_on = None

UUID = pg.UUID(as_uuid=True)
NOW = sa.text("now()")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "integrations",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("health", sa.String(20), nullable=False, server_default="ok"),
        sa.Column("display_name", sa.String(200)),
        # Ponto organization id / Yuki administration id, once connected.
        sa.Column("external_id", sa.String(100)),
        # Every secret of the integration (tokens, access key) as one AES-GCM value; the
        # key id is repeated in clear so rotation finds the rows still under an old key.
        sa.Column("credentials", sa.Text),
        sa.Column("credentials_key_id", sa.String(32)),
        sa.Column("token_expires_at", TS),
        sa.Column("consent_expires_at", TS),
        # Per provider account: the paging cursor (Ponto) or last read marker (Yuki).
        sa.Column("cursors", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("next_sync_at", TS),
        sa.Column("last_sync_started_at", TS),
        sa.Column("last_success_at", TS),
        sa.Column("last_error_code", sa.String(60)),
        sa.Column("last_error", sa.String(500)),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("backoff_until", TS),
        sa.Column("webhook_pending_at", TS),
        # Budget for the provider's day: calls made (Yuki quota) and bank synchronizations
        # per account (Ponto's unattended accesses), reset when budget_day changes.
        sa.Column("budget_day", sa.Date),
        sa.Column("calls_today", sa.Integer, nullable=False, server_default="0"),
        sa.Column("bank_syncs_today", pg.JSONB, nullable=False,
                  server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_by", UUID),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("disconnected_at", TS),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("updated_at", TS, nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_integrations"),
        sa.CheckConstraint("provider IN ('ponto', 'yuki')", name="provider_valid"),
        sa.CheckConstraint("status IN ('pending', 'connected', 'disconnected')",
                           name="status_valid"),
        sa.CheckConstraint("health IN ('ok', 'degraded', 'failing', 'consent_expiring', "
                           "'disconnected')", name="health_valid"),
        # A last line of defence: only our sealed format can be stored, never a raw token.
        sa.CheckConstraint("credentials IS NULL OR credentials ~ '^v1\\.[A-Za-z0-9_-]+\\."
                           "[A-Za-z0-9_-]+$'", name="credentials_sealed"),
        sa.CheckConstraint("calls_today >= 0 AND consecutive_failures >= 0",
                           name="counters_positive"),
        sa.CheckConstraint("jsonb_typeof(cursors) = 'object' AND "
                           "jsonb_typeof(bank_syncs_today) = 'object'", name="json_objects"),
    )
    # One live connection per provider account per tenant.
    op.create_index("uq_integrations_tenant_provider_external", "integrations",
                    ["tenant_id", "provider", "external_id"], unique=True,
                    postgresql_where=sa.text("status <> 'disconnected' "
                                             "AND external_id IS NOT NULL"))
    # Due work: the sync tick reads integrations by next_sync_at (connected ones only).
    op.create_index("ix_integrations_tenant_next_sync", "integrations",
                    ["tenant_id", "next_sync_at"],
                    postgresql_where=sa.text("status = 'connected'"))
    op.create_index("ix_integrations_tenant_created", "integrations", ["tenant_id", "id"])
    enable_tenant_rls("integrations")

    op.create_table(
        "sync_logs",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("integration_id", UUID, nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="running"),
        sa.Column("started_at", TS, nullable=False, server_default=NOW),
        sa.Column("finished_at", TS),
        sa.Column("counts", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("calls", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error_code", sa.String(60)),
        sa.Column("error", sa.String(500)),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_sync_logs"),
        sa.ForeignKeyConstraint(["tenant_id", "integration_id"],
                                ["integrations.tenant_id", "integrations.id"],
                                name="fk_sync_logs_integration", ondelete="CASCADE"),
        sa.CheckConstraint("trigger IN ('tick', 'manual', 'webhook', 'connect')",
                           name="trigger_valid"),
        sa.CheckConstraint("status IN ('running', 'success', 'partial', 'failed', 'skipped')",
                           name="status_valid"),
        sa.CheckConstraint("jsonb_typeof(counts) = 'object'", name="counts_object"),
        sa.CheckConstraint("calls >= 0", name="calls_positive"),
    )
    op.create_index("ix_sync_logs_tenant_integration_started", "sync_logs",
                    ["tenant_id", "integration_id", "started_at", "id"])
    enable_tenant_rls("sync_logs")


def downgrade() -> None:
    for table in ("sync_logs", "integrations"):
        op.drop_table(table)
