"""Integrations with Ponto and Yuki: connections, encrypted credentials, sync logs.

Revision ID: 0007_integrations
Revises: 0006_cashflow
Create Date: 2026-11-22
"""

revision = "0007_integrations"
down_revision = "0006_cashflow"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
