"""Closed companies rest: background work across tenants leaves them out (ADR 0038).

- `cross_tenant_overdue_invoice_tenants(since)` (the hourly overdue scan) and
  `cross_tenant_cashflow_work(since, day)` (the cash-flow tick) list only tenants whose
  `closed_at` is empty. Before, a closed company's overdue invoices were still scanned and
  its cash picture rebuilt (alerts written) by tasks acting for nobody.

Same signatures, security definer, pinned search_path and grants as in 0008 and 0006;
the downgrade restores those bodies.

Revision ID: 0015_closed_tenants_rest
Revises: 0014_events_alerts
Create Date: 2026-11-22
"""

from alembic import op

from smbfinance.migration_tools import grant_app

revision = "0015_closed_tenants_rest"
down_revision = "0014_events_alerts"
branch_labels = None
depends_on = None

OVERDUE = "cross_tenant_overdue_invoice_tenants(date)"
CASHFLOW = "cross_tenant_cashflow_work(timestamptz, date)"

# The bodies of 0008 and 0006, with markers where the closed-tenant filter goes.
OPEN_ONLY = "/* open only */"

OVERDUE_SQL = """
CREATE OR REPLACE FUNCTION cross_tenant_overdue_invoice_tenants(p_since date)
RETURNS TABLE (tenant_id uuid)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    IF coalesce(current_setting('app.cross_tenant', true), '') <> 'on' THEN
        RAISE EXCEPTION 'cross-tenant access outside dangerously_unscoped()'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY
        SELECT DISTINCT i.tenant_id FROM invoices i /* open only */
        WHERE i.status IN ('open', 'partially_paid') AND i.deleted_at IS NULL
          AND i.due_date >= p_since AND i.due_date <= current_date;
END
$$
"""
OVERDUE_OPEN_ONLY = "JOIN tenants t ON t.id = i.tenant_id AND t.closed_at IS NULL"

CASHFLOW_SQL = """
CREATE OR REPLACE FUNCTION cross_tenant_cashflow_work(p_since timestamptz, p_day date)
RETURNS TABLE (tenant_id uuid)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    IF coalesce(current_setting('app.cross_tenant', true), '') <> 'on' THEN
        RAISE EXCEPTION 'cross-tenant access outside dangerously_unscoped()'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY
        /* work */;
END
$$
"""
WORK = "/* work */"
CASHFLOW_WORK = """SELECT b.tenant_id FROM import_batches b WHERE b.completed_at > p_since
        UNION
        SELECT a.tenant_id FROM bank_accounts a
        WHERE a.synchronized_at > p_since AND a.deleted_at IS NULL
        UNION
        SELECT a.tenant_id FROM bank_accounts a
        WHERE a.is_active AND a.deleted_at IS NULL AND NOT EXISTS (
            SELECT 1 FROM cash_position_snapshots s
            WHERE s.tenant_id = a.tenant_id AND s.day = p_day)"""
CASHFLOW_WORK_OPEN_ONLY = """SELECT w.tenant_id FROM (/* work */) w
        JOIN tenants t ON t.id = w.tenant_id WHERE t.closed_at IS NULL"""


def _cashflow(*, open_only: bool) -> str:
    work = CASHFLOW_WORK_OPEN_ONLY.replace(WORK, CASHFLOW_WORK) if open_only else CASHFLOW_WORK
    return CASHFLOW_SQL.replace(WORK, work)


def _replace(*, open_only: bool) -> None:
    op.execute(OVERDUE_SQL.replace(OPEN_ONLY, OVERDUE_OPEN_ONLY if open_only else ""))
    op.execute(_cashflow(open_only=open_only))
    for signature in (OVERDUE, CASHFLOW):
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        grant_app("EXECUTE", f"FUNCTION {signature}")


def upgrade() -> None:
    _replace(open_only=True)


def downgrade() -> None:
    _replace(open_only=False)
