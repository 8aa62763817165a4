"""Helpers for Alembic migrations: tenant row-level security in one line.

Every tenant-owned table gets `enable_tenant_rls("table")` right after its CREATE TABLE.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from flask import current_app
from sqlalchemy.dialects import postgresql as pg

from smbfinance.tenancy import TENANT_DEFAULT, TENANT_SETTING

POLICY_NAME = "tenant_isolation"


def tenant_rls_sql(table: str, *, column: str = "tenant_id") -> list[str]:
    condition = f"{column} = {TENANT_SETTING}"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {POLICY_NAME} ON {table} USING ({condition}) WITH CHECK ({condition})",
    ]


def enable_tenant_rls(table: str, *, column: str = "tenant_id") -> None:
    """Enable and FORCE RLS on `table` with the one tenant policy (USING = WITH CHECK)."""
    for statement in tenant_rls_sql(table, column=column):
        op.execute(statement)


def disable_tenant_rls(table: str) -> None:
    op.execute(f"DROP POLICY IF EXISTS {POLICY_NAME} ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")


def tenant_id_column_default() -> str:
    """Server default for tenant_id: raw SQL inserts inherit the transaction's tenant."""
    return TENANT_SETTING


def app_role() -> str:
    """The application's database role, from configuration (DB_APP_ROLE)."""
    role = current_app.config["DB_APP_ROLE"]
    if not role.replace("_", "").isalnum():
        raise ValueError(f"DB_APP_ROLE {role!r} is not a plain identifier")
    return role


def grant_app(privileges: str, on: str) -> None:
    op.execute(f"GRANT {privileges} ON {on} TO {app_role()}")


def revoke_app(privileges: str, on: str) -> None:
    op.execute(f"REVOKE {privileges} ON {on} FROM {app_role()}")


def tenant_id_column() -> sa.Column:
    """tenant_id for a new tenant-owned table: NOT NULL, filled from the transaction's
    tenant by default, cascading with its tenant."""
    return sa.Column("tenant_id", pg.UUID(as_uuid=True),
                     sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False,
                     server_default=sa.text(TENANT_DEFAULT))
