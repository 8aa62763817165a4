"""Foundation: tenants, users, memberships, refresh-token families; RLS; cross-tenant path.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from smbfinance.migration_tools import enable_tenant_rls, grant_app, revoke_app
from smbfinance.tenancy import TENANT_DEFAULT

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None

UUID = pg.UUID(as_uuid=True)
NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("legal_name", sa.String(200), nullable=False),
        sa.Column("vat_number", sa.String(20)),
        sa.Column("enterprise_number", sa.String(10)),
        sa.Column("base_currency", sa.String(3), nullable=False, server_default="EUR"),
        sa.Column("time_zone", sa.String(64), nullable=False, server_default="Europe/Brussels"),
        sa.Column("settings", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    # The tenant row itself: visible and writable only inside its own scope.
    enable_tenant_rls("tenants", column="id")

    op.create_table(
        "users",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("full_name", sa.String(200)),
        sa.Column("last_login_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    op.create_index("uq_users_email_lower", "users", [sa.text("lower(email)")], unique=True)

    op.create_table(
        "memberships",
        sa.Column("tenant_id", UUID, sa.ForeignKey("tenants.id", ondelete="CASCADE"),
                  primary_key=True, server_default=sa.text(TENANT_DEFAULT)),
        sa.Column("user_id", UUID, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.CheckConstraint("role IN ('owner', 'admin', 'accountant', 'viewer')",
                           name="role_valid"),
    )
    op.create_index("ix_memberships_user", "memberships", ["user_id"])
    enable_tenant_rls("memberships")

    op.create_table(
        "refresh_token_families",
        sa.Column("tenant_id", UUID, primary_key=True, server_default=sa.text(TENANT_DEFAULT)),
        sa.Column("id", UUID, primary_key=True),
        sa.Column("user_id", UUID, nullable=False),
        sa.Column("current_jti", UUID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("rotated_at", sa.DateTime(timezone=True)),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_reason", sa.String(40)),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["memberships.tenant_id", "memberships.user_id"],
            ondelete="CASCADE",
            name="fk_refresh_token_families_tenant_id_user_id_memberships",
        ),
    )
    op.create_index("ix_refresh_token_families_tenant_user", "refresh_token_families",
                    ["tenant_id", "user_id"])
    enable_tenant_rls("refresh_token_families")

    # The narrow cross-tenant path: a user's own memberships, for login and /me. It runs as
    # the owner (SECURITY DEFINER) and refuses unless the caller opened
    # dangerously_unscoped(), which sets app.cross_tenant for that transaction only.
    op.execute(
        """
        CREATE FUNCTION cross_tenant_user_memberships(p_user_id uuid)
        RETURNS TABLE (tenant_id uuid, legal_name text, role text)
        LANGUAGE plpgsql STABLE SECURITY DEFINER
        SET search_path = public, pg_temp
        AS $$
        BEGIN
            IF coalesce(current_setting('app.cross_tenant', true), '') <> 'on' THEN
                RAISE EXCEPTION 'cross-tenant access outside dangerously_unscoped()'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN QUERY
                SELECT m.tenant_id, t.legal_name::text, m.role::text
                FROM memberships m JOIN tenants t ON t.id = m.tenant_id
                WHERE m.user_id = p_user_id
                ORDER BY t.legal_name, m.tenant_id;
        END
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION cross_tenant_user_memberships(uuid) FROM PUBLIC")
    grant_app("EXECUTE", "FUNCTION cross_tenant_user_memberships(uuid)")
    # The application reads the migration bookkeeping (readiness) but never changes it.
    revoke_app("INSERT, UPDATE, DELETE, TRUNCATE", "TABLE alembic_version")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS cross_tenant_user_memberships(uuid)")
    op.drop_table("refresh_token_families")
    op.drop_table("memberships")
    op.drop_table("users")
    op.drop_table("tenants")
