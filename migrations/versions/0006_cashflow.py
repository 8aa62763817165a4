"""Cash flow: position snapshots, planned items, recurring series, scenarios, alerts.

Revision ID: 0006_cashflow
Revises: 0005_reconciliation
Create Date: 2026-11-22
"""

revision = "0006_cashflow"
down_revision = "0005_reconciliation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
