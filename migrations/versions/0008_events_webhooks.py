"""Transactional outbox, event feed, webhook endpoints and deliveries.

Revision ID: 0008_events_webhooks
Revises: 0007_integrations
Create Date: 2026-11-22
"""

revision = "0008_events_webhooks"
down_revision = "0007_integrations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
