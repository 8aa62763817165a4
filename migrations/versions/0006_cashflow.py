"""Cash flow: position snapshots, planned items, recurring series, scenarios, alerts.

Revision ID: 0006_cashflow
Revises: 0005_reconciliation
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from smbfinance.migration_tools import enable_tenant_rls, grant_app, tenant_id_column

revision = "0006_cashflow"
down_revision = "0005_reconciliation"
branch_labels = None
depends_on = None

UUID = pg.UUID(as_uuid=True)
NOW = sa.text("now()")
TS = sa.DateTime(timezone=True)
MONEY = sa.Numeric(18, 2)
PERIODS = "('weekly', 'monthly', 'quarterly')"
WORK_FUNCTION = "cross_tenant_cashflow_work(timestamptz, date)"
TABLES = ("cashflow_detections", "alerts", "cashflow_scenarios", "cashflow_recurring_series",
          "cashflow_planned_items", "cash_position_snapshots")


def timestamps() -> list[sa.Column]:
    return [sa.Column("created_at", TS, nullable=False, server_default=NOW),
            sa.Column("updated_at", TS, nullable=False, server_default=NOW)]


def upgrade() -> None:
    # One row per tenant per day: the position at the end of that day in base currency,
    # with each account's balance. Rebuilt from transactions, so it can always be redone.
    op.create_table(
        "cash_position_snapshots",
        tenant_id_column(),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total", MONEY, nullable=False),
        sa.Column("accounts", pg.JSONB, nullable=False, server_default=sa.text("'[]'")),
        sa.Column("oldest_synchronized_at", TS),
        *timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "day", name="pk_cash_position_snapshots"),
        sa.CheckConstraint("jsonb_typeof(accounts) = 'array'", name="accounts_array"),
    )
    enable_tenant_rls("cash_position_snapshots")

    op.create_table(
        "cashflow_planned_items",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("period", sa.String(12)),
        sa.Column("end_date", sa.Date),
        sa.Column("notes", sa.Text),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("deleted_at", TS),
        *timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_cashflow_planned_items"),
        sa.CheckConstraint(f"period IS NULL OR period IN {PERIODS}", name="period_valid"),
        sa.CheckConstraint("amount <> 0", name="amount_not_zero"),
        sa.CheckConstraint("end_date IS NULL OR (period IS NOT NULL AND end_date >= day)",
                           name="end_date_valid"),
    )
    op.create_index("ix_cashflow_planned_items_tenant_day", "cashflow_planned_items",
                    ["tenant_id", "day", "id"], postgresql_where=sa.text("deleted_at IS NULL"))
    enable_tenant_rls("cashflow_planned_items")

    # A detected series exists only in memory until a person decides about it; its id is
    # derived from (tenant, key), so the decision row and the detection meet on that id.
    op.create_table(
        "cashflow_recurring_series",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("period", sa.String(12), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("next_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date),
        sa.Column("detected", pg.JSONB, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("decided_by", UUID),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        *timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_cashflow_recurring_series"),
        sa.CheckConstraint("status IN ('confirmed', 'dismissed')", name="status_valid"),
        sa.CheckConstraint(f"period IN {PERIODS}", name="period_valid"),
    )
    op.create_index("uq_cashflow_recurring_series_tenant_key", "cashflow_recurring_series",
                    ["tenant_id", "key"], unique=True)
    enable_tenant_rls("cashflow_recurring_series")

    op.create_table(
        "cashflow_scenarios",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("adjustments", pg.JSONB, nullable=False, server_default=sa.text("'[]'")),
        sa.Column("created_by", UUID),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("deleted_at", TS),
        *timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_cashflow_scenarios"),
        sa.CheckConstraint("jsonb_typeof(adjustments) = 'array'", name="adjustments_array"),
    )
    op.create_index("ix_cashflow_scenarios_tenant_created", "cashflow_scenarios",
                    ["tenant_id", "created_at", "id"],
                    postgresql_where=sa.text("deleted_at IS NULL"))
    enable_tenant_rls("cashflow_scenarios")

    # An episode of a forecast line (expected or P10) below the threshold: raised once when
    # it starts, updated while it lasts, cleared (cleared_at) when the forecast recovers.
    op.create_table(
        "alerts",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("line", sa.String(12), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("crossing_date", sa.Date, nullable=False),
        sa.Column("balance", MONEY, nullable=False),
        sa.Column("threshold", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("raised_at", TS, nullable=False, server_default=NOW),
        sa.Column("acknowledged_at", TS),
        sa.Column("acknowledged_by", UUID),
        sa.Column("resolved_at", TS),
        sa.Column("resolved_by", UUID),
        sa.Column("cleared_at", TS),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        *timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_alerts"),
        sa.CheckConstraint("kind IN ('low_cash')", name="kind_valid"),
        sa.CheckConstraint("line IN ('expected', 'p10')", name="line_valid"),
        sa.CheckConstraint("status IN ('open', 'acknowledged', 'resolved', 'cleared')",
                           name="status_valid"),
    )
    # At most one live episode per line: the database itself stops a second raise.
    op.create_index("uq_alerts_tenant_live", "alerts", ["tenant_id", "kind", "line"],
                    unique=True, postgresql_where=sa.text("cleared_at IS NULL"))
    op.create_index("ix_alerts_tenant_raised", "alerts", ["tenant_id", "raised_at", "id"])
    enable_tenant_rls("alerts")

    # The latest detection of recurring series per tenant, written by the refresh task after
    # imports, syncs and once a day: a forecast reads this one row instead of grouping the
    # whole transaction history on every request.
    op.create_table(
        "cashflow_detections",
        tenant_id_column(),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("series", pg.JSONB, nullable=False, server_default=sa.text("'[]'")),
        sa.Column("warnings", pg.JSONB, nullable=False, server_default=sa.text("'[]'")),
        *timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_cashflow_detections"),
        sa.CheckConstraint("jsonb_typeof(series) = 'array'", name="series_array"),
    )
    enable_tenant_rls("cashflow_detections")

    # The scheduler's one question across tenants: whose cash picture is stale? Tenants
    # with an import finished or an account synchronised since p_since, and tenants with an
    # active account but no snapshot for p_day. Only tenant ids leave this function.
    op.execute(
        """
        CREATE FUNCTION cross_tenant_cashflow_work(p_since timestamptz, p_day date)
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
                SELECT b.tenant_id FROM import_batches b WHERE b.completed_at > p_since
                UNION
                SELECT a.tenant_id FROM bank_accounts a
                WHERE a.synchronized_at > p_since AND a.deleted_at IS NULL
                UNION
                SELECT a.tenant_id FROM bank_accounts a
                WHERE a.is_active AND a.deleted_at IS NULL AND NOT EXISTS (
                    SELECT 1 FROM cash_position_snapshots s
                    WHERE s.tenant_id = a.tenant_id AND s.day = p_day);
        END
        $$
        """
    )
    op.execute(f"REVOKE ALL ON FUNCTION {WORK_FUNCTION} FROM PUBLIC")
    grant_app("EXECUTE", f"FUNCTION {WORK_FUNCTION}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {WORK_FUNCTION}")
    for table in TABLES:
        op.drop_table(table)
