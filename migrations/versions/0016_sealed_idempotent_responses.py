"""Sealed idempotent responses: a stored response that carries a secret shown once (a new
API key, a webhook endpoint's signing secret) is kept encrypted, never in clear; expired
keys are purged (ADR 0044).

- `idempotency_keys.response_sealed`: true when `response_body` holds a 2xx response sealed
  with the key ring (INTEGRATION_ENCRYPTION_KEYS), or nothing when it could not be sealed
  (a retry is then told the response was not kept). The table keeps its RLS.
- API-key creations stored before this revision held the new key in clear: their bodies
  are dropped and the rows marked sealed (a retry gets the 409, not a second key).
- `cross_tenant_purge_idempotency_keys(before)`: the daily purge of keys that expired
  before `before` and the database's now (security definer, only inside
  dangerously_unscoped()).

Revision ID: 0016_sealed_idempotent_responses
Revises: 0015_closed_tenants_rest
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from smbfinance.migration_tools import grant_app

revision = "0016_sealed_idempotent_responses"
down_revision = "0015_closed_tenants_rest"
branch_labels = None
depends_on = None

PURGE = "cross_tenant_purge_idempotency_keys(timestamptz)"
NOT_KEPT = ('{"type": "about:blank", "title": "Conflict", "status": 409, "detail": '
            '"the request with this Idempotency-Key succeeded, but its response held a '
            'secret that is shown once and is not kept: list the resources to find what was '
            'created"}')


def upgrade() -> None:
    op.add_column("idempotency_keys", sa.Column(
        "response_sealed", sa.Boolean, nullable=False, server_default=sa.false()))
    # The owner role bypasses RLS: every company's rows.
    op.execute("UPDATE idempotency_keys SET response_body = NULL, response_sealed = true "
               "WHERE method = 'POST' AND path = '/api/v1/api-keys' "
               "AND response_status BETWEEN 200 AND 299")
    op.execute(
        """
        CREATE FUNCTION cross_tenant_purge_idempotency_keys(p_before timestamptz)
        RETURNS bigint
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER
        SET search_path = public, pg_temp
        AS $$
        DECLARE
            removed bigint;
        BEGIN
            IF coalesce(current_setting('app.cross_tenant', true), '') <> 'on' THEN
                RAISE EXCEPTION 'cross-tenant access outside dangerously_unscoped()'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            -- Never a key still alive, whatever the caller's clock says.
            DELETE FROM idempotency_keys WHERE expires_at < least(p_before, now());
            GET DIAGNOSTICS removed = ROW_COUNT;
            RETURN removed;
        END
        $$
        """
    )
    op.execute(f"REVOKE ALL ON FUNCTION {PURGE} FROM PUBLIC")
    grant_app("EXECUTE", f"FUNCTION {PURGE}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {PURGE}")
    # Earlier code would replay a sealed body as the response: keep each key (so a retry
    # still creates nothing twice) as a stored 409 that holds no secret.
    op.execute(sa.text(
        "UPDATE idempotency_keys SET response_status = 409, "
        "response_body = convert_to(:body, 'UTF8'), "
        "response_headers = '{\"Content-Type\": \"application/problem+json\"}'::jsonb "
        "WHERE response_sealed").bindparams(body=NOT_KEPT))
    op.drop_column("idempotency_keys", "response_sealed")
