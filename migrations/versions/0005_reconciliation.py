"""Reconciliation matches and their allocations.

Revision ID: 0005_reconciliation
Revises: 0004_categories_rules
Create Date: 2026-11-22
"""

revision = "0005_reconciliation"
down_revision = "0004_categories_rules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
