"""Partner API keys: stored as a SHA-256 of the key (shown once), with scopes, a visible
prefix for support, last use, optional expiry and revocation.

Revision ID: 0010_api_keys
Revises: 0009_audit_chain
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from smbfinance.migration_tools import enable_tenant_rls, tenant_id_column

revision = "0010_api_keys"
down_revision = "0009_audit_chain"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        tenant_id_column(),
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(64), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("scopes", pg.ARRAY(sa.String(40)), nullable=False),
        sa.Column("created_by", pg.UUID(as_uuid=True)),
        sa.Column("created_at", TS, nullable=False, server_default=sa.text("now()")),
        sa.Column("last_used_at", TS),
        sa.Column("expires_at", TS),
        sa.Column("revoked_at", TS),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_api_keys"),
        sa.UniqueConstraint("tenant_id", "key_hash", name="uq_api_keys_tenant_hash"),
        sa.CheckConstraint("key_hash ~ '^[0-9a-f]{64}$'", name="key_hash_sha256"),
        sa.CheckConstraint("cardinality(scopes) > 0", name="scopes_given"),
    )
    enable_tenant_rls("api_keys")


def downgrade() -> None:
    op.drop_table("api_keys")
