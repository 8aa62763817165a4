"""Categories and categorisation rules; bank transactions point at their category and say
who categorised them (a rule or a person), so a rule never overwrites a person's choice.

Revision ID: 0004_categories_rules
Revises: 0003_bank_transactions
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from smbfinance.migration_tools import enable_tenant_rls, tenant_id_column

revision = "0004_categories_rules"
down_revision = "0003_bank_transactions"
branch_labels = None
depends_on = None

UUID = pg.UUID(as_uuid=True)
NOW = sa.text("now()")
TS = sa.DateTime(timezone=True)




def timestamps() -> list[sa.Column]:
    return [sa.Column("created_at", TS, nullable=False, server_default=NOW),
            sa.Column("updated_at", TS, nullable=False, server_default=NOW)]


def upgrade() -> None:
    op.create_table(
        "categories",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16)),
        sa.Column("color", sa.String(7)),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("deleted_at", TS),
        *timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_categories"),
        sa.CheckConstraint("kind IN ('income', 'expense', 'transfer')", name="kind_valid"),
        sa.CheckConstraint("color ~ '^#[0-9a-f]{6}$'", name="color_valid"),
    )
    # Names are unique per tenant, case-insensitively, among categories not deleted; the
    # index also serves the list order (lower(name)), which only shows those.
    op.create_index("uq_categories_tenant_name", "categories",
                    ["tenant_id", sa.text("lower(name)")], unique=True,
                    postgresql_where=sa.text("deleted_at IS NULL"))
    enable_tenant_rls("categories")

    op.create_table(
        "rules",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("conditions", pg.JSONB, nullable=False),
        sa.Column("actions", pg.JSONB, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("deleted_at", TS),
        *timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_rules"),
        sa.CheckConstraint("jsonb_typeof(conditions) = 'object'", name="conditions_object"),
        sa.CheckConstraint("jsonb_typeof(actions) = 'object'", name="actions_object"),
    )
    # Rules run in priority order, then in the order they were created (ids are UUIDv7).
    op.create_index("ix_rules_tenant_priority", "rules",
                    ["tenant_id", "priority", "created_at", "id"])
    enable_tenant_rls("rules")

    op.add_column("bank_transactions", sa.Column("categorised_by", sa.String(8)))
    op.create_check_constraint("categorised_by_valid", "bank_transactions",
                               "categorised_by IN ('rule', 'user')")
    op.create_foreign_key("fk_bank_transactions_category", "bank_transactions", "categories",
                          ["tenant_id", "category_id"], ["tenant_id", "id"])
    op.create_index("ix_bank_transactions_tenant_category", "bank_transactions",
                    ["tenant_id", "category_id"])
    # An import applies the rules to the rows it wrote: found by their batch.
    op.create_index("ix_bank_transactions_tenant_batch", "bank_transactions",
                    ["tenant_id", "import_batch_id"])


def downgrade() -> None:
    op.drop_index("ix_bank_transactions_tenant_batch", table_name="bank_transactions")
    op.drop_index("ix_bank_transactions_tenant_category", table_name="bank_transactions")
    op.drop_constraint("fk_bank_transactions_category", "bank_transactions", type_="foreignkey")
    op.drop_constraint("categorised_by_valid", "bank_transactions", type_="check")
    op.drop_column("bank_transactions", "categorised_by")
    for table in ("rules", "categories"):
        op.drop_table(table)
