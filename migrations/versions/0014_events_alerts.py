"""Events and alerts: in-app alerts beyond low cash (a webhook endpoint disabled, a bank
consent about to end) and the sync run that last wrote a bank transaction (ADR 0036, 0037).

Revision ID: 0014_events_alerts
Revises: 0013_tenant_deletion
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0014_events_alerts"
down_revision = "0013_tenant_deletion"
branch_labels = None
depends_on = None

UUID = pg.UUID(as_uuid=True)
KINDS = "('low_cash', 'webhook_endpoint_disabled', 'integration_consent_expiring')"
LOW_CASH_FIELDS = ("line", "crossing_date", "balance", "threshold", "currency")


def upgrade() -> None:
    # Alerts about a thing (an endpoint, an integration) rather than a forecast line: the
    # low-cash columns become optional for them, and the thing and a sentence are stored.
    op.drop_constraint("kind_valid", "alerts", type_="check")
    op.create_check_constraint("kind_valid", "alerts", f"kind IN {KINDS}")
    for column in LOW_CASH_FIELDS:
        op.alter_column("alerts", column, nullable=True)
    op.create_check_constraint(
        "low_cash_complete", "alerts",
        "kind <> 'low_cash' OR (" + " AND ".join(f"{c} IS NOT NULL" for c in LOW_CASH_FIELDS)
        + ")")
    op.add_column("alerts", sa.Column("subject_id", UUID))
    op.add_column("alerts", sa.Column("message", sa.String(500)))
    # Who sees it: every finance reader (low cash), or only owners and admins (webhook
    # endpoints and integrations are theirs to fix).
    op.add_column("alerts", sa.Column("audience", sa.String(12), nullable=False,
                                      server_default="finance"))
    op.create_check_constraint("audience_valid", "alerts",
                               "audience IN ('finance', 'owners')")
    # One consent alert per integration and consent end date, whatever the scheduler
    # retries: the database refuses the second one.
    op.create_index("uq_alerts_tenant_subject_day", "alerts",
                    ["tenant_id", "kind", "subject_id", "crossing_date"], unique=True,
                    postgresql_where=sa.text("kind = 'integration_consent_expiring'"))

    # The sync run that created or last changed a bank transaction: GET /transactions
    # ?sync_log_id= lists exactly what a `sync.succeeded` event counts. Partial index, so
    # statement imports (NULL here) pay nothing for it.
    op.add_column("bank_transactions", sa.Column("sync_log_id", UUID))
    op.create_index("ix_bank_transactions_tenant_sync_log", "bank_transactions",
                    ["tenant_id", "sync_log_id"],
                    postgresql_where=sa.text("sync_log_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_bank_transactions_tenant_sync_log", table_name="bank_transactions")
    op.drop_column("bank_transactions", "sync_log_id")
    op.drop_index("uq_alerts_tenant_subject_day", table_name="alerts")
    op.execute("DELETE FROM alerts WHERE kind <> 'low_cash'")
    op.drop_constraint("audience_valid", "alerts", type_="check")
    for column in ("audience", "message", "subject_id"):
        op.drop_column("alerts", column)
    op.drop_constraint("low_cash_complete", "alerts", type_="check")
    for column in LOW_CASH_FIELDS:
        op.alter_column("alerts", column, nullable=False)
    op.drop_constraint("kind_valid", "alerts", type_="check")
    op.create_check_constraint("kind_valid", "alerts", "kind IN ('low_cash')")
