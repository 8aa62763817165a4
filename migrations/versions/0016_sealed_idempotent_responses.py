"""Sealed idempotent responses: a stored response that carries a secret shown once (a new
API key, a webhook endpoint's signing secret) is kept encrypted, never in clear (ADR 0044).

- `idempotency_keys.response_sealed`: true when `response_body` holds the response sealed
  with the key ring (INTEGRATION_ENCRYPTION_KEYS), or nothing at all when no key ring is
  configured (a retry is then told the response is not kept). The table keeps its RLS.

Revision ID: 0016_sealed_idempotent_responses
Revises: 0015_closed_tenants_rest
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_sealed_idempotent_responses"
down_revision = "0015_closed_tenants_rest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("idempotency_keys", sa.Column(
        "response_sealed", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    # A sealed body would be replayed as if it were the response: forget those keys.
    op.execute("DELETE FROM idempotency_keys WHERE response_sealed")
    op.drop_column("idempotency_keys", "response_sealed")
