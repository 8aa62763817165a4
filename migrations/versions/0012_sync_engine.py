"""Sync engine: the tick's claim of due integrations and the Ponto webhook's lookup (the two
narrow cross-tenant paths), their plain indexes, and the key of invoices read from an
accounting package.

Revision ID: 0012_sync_engine
Revises: 0011_gdpr
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from smbfinance.migration_tools import grant_app

revision = "0012_sync_engine"
down_revision = "0011_gdpr"
branch_labels = None
depends_on = None

CLAIM_FUNCTION = "cross_tenant_claim_due_integrations(timestamptz, integer, integer)"
WEBHOOK_FUNCTION = "cross_tenant_ponto_webhook_integrations(text, timestamptz)"


def upgrade() -> None:
    # The tick asks across tenants "what is due?": an index that leads with tenant_id
    # cannot answer that, so this one does not (listed in INDEX_EXCEPTIONS).
    op.create_index("ix_integrations_due", "integrations", ["next_sync_at"],
                    postgresql_where=sa.text("status = 'connected'"))
    # A Ponto webhook names the organization, not our tenant (also an exception).
    op.create_index("ix_integrations_provider_external", "integrations",
                    ["provider", "external_id"],
                    postgresql_where=sa.text("status = 'connected'"))
    # An open item of the accounting package maps to one invoice of ours, whatever its
    # number: the upsert key of the Yuki sync.
    op.create_index("uq_invoices_tenant_yuki_item", "invoices",
                    ["tenant_id", sa.text("(external_ids ->> 'yuki')")], unique=True,
                    postgresql_where=sa.text("external_ids ? 'yuki'"))

    # Claim up to p_limit due integrations: rows locked by another claimer are skipped,
    # and each claimed row's next_sync_at moves p_lease_seconds ahead, so the next tick
    # does not enqueue it again while its task waits or runs (the task sets the real next
    # time; a task dropped on expiry makes the row due again when the lease ends).
    # Only ids leave this function.
    op.execute(
        """
        CREATE FUNCTION cross_tenant_claim_due_integrations(
            p_now timestamptz, p_limit integer, p_lease_seconds integer)
        RETURNS TABLE (tenant_id uuid, integration_id uuid)
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER
        SET search_path = public, pg_temp
        AS $$
        BEGIN
            IF coalesce(current_setting('app.cross_tenant', true), '') <> 'on' THEN
                RAISE EXCEPTION 'cross-tenant access outside dangerously_unscoped()'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            IF p_limit < 1 OR p_limit > 10000 OR p_lease_seconds < 1 THEN
                RAISE EXCEPTION 'limit 1-10000, lease at least a second'
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            RETURN QUERY
                WITH due AS (
                    SELECT i.tenant_id, i.id FROM integrations i
                    WHERE i.status = 'connected' AND i.next_sync_at <= p_now
                    ORDER BY i.next_sync_at
                    LIMIT p_limit
                    FOR UPDATE SKIP LOCKED)
                UPDATE integrations u
                SET next_sync_at = p_now + make_interval(secs => p_lease_seconds)
                FROM due WHERE u.tenant_id = due.tenant_id AND u.id = due.id
                RETURNING u.tenant_id, u.id;
        END
        $$
        """
    )
    # A signed Ponto webhook names an organization: mark its integration as having a
    # webhook pending and due now. Only ids leave this function.
    op.execute(
        """
        CREATE FUNCTION cross_tenant_ponto_webhook_integrations(
            p_organization text, p_now timestamptz)
        RETURNS TABLE (tenant_id uuid, integration_id uuid)
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER
        SET search_path = public, pg_temp
        AS $$
        BEGIN
            IF coalesce(current_setting('app.cross_tenant', true), '') <> 'on' THEN
                RAISE EXCEPTION 'cross-tenant access outside dangerously_unscoped()'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN QUERY
                UPDATE integrations u
                SET webhook_pending_at = coalesce(u.webhook_pending_at, p_now),
                    next_sync_at = least(coalesce(u.next_sync_at, p_now), p_now)
                WHERE u.provider = 'ponto' AND u.status = 'connected'
                  AND u.external_id = p_organization
                RETURNING u.tenant_id, u.id;
        END
        $$
        """
    )
    for signature in (CLAIM_FUNCTION, WEBHOOK_FUNCTION):
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        grant_app("EXECUTE", f"FUNCTION {signature}")


def downgrade() -> None:
    for signature in (WEBHOOK_FUNCTION, CLAIM_FUNCTION):
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    op.drop_index("uq_invoices_tenant_yuki_item", table_name="invoices")
    op.drop_index("ix_integrations_provider_external", table_name="integrations")
    op.drop_index("ix_integrations_due", table_name="integrations")
