"""Bank accounts, bank transactions (exactly once via a per-account dedupe key) and
statement import batches.

Revision ID: 0003_bank_transactions
Revises: 0002_invoices_contacts
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from smbfinance.migration_tools import enable_tenant_rls, tenant_id_column

revision = "0003_bank_transactions"
down_revision = "0002_invoices_contacts"
branch_labels = None
depends_on = None

UUID = pg.UUID(as_uuid=True)
NOW = sa.text("now()")
MONEY = sa.Numeric(18, 2)
TS = sa.DateTime(timezone=True)




def upgrade() -> None:
    op.create_table(
        "bank_accounts",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("iban", sa.String(34)),
        sa.Column("account_number", sa.String(64)),
        sa.Column("bic", sa.String(11)),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("holder", sa.String(200)),
        sa.Column("name", sa.String(200)),
        sa.Column("current_balance", MONEY),
        sa.Column("balance_date", sa.Date),
        sa.Column("balance_source", sa.String(16)),
        sa.Column("synchronized_at", TS),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("csv_mapping", pg.JSONB),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("deleted_at", TS),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("updated_at", TS, nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_bank_accounts"),
        sa.CheckConstraint("iban IS NOT NULL OR account_number IS NOT NULL",
                           name="identified"),
    )
    op.create_index("uq_bank_accounts_iban", "bank_accounts", ["tenant_id", "iban"],
                    unique=True,
                    postgresql_where=sa.text("iban IS NOT NULL AND deleted_at IS NULL"))
    op.create_index("uq_bank_accounts_number", "bank_accounts", ["tenant_id", "account_number"],
                    unique=True, postgresql_where=sa.text(
                        "iban IS NULL AND deleted_at IS NULL"))
    enable_tenant_rls("bank_accounts")

    op.create_table(
        "import_batches",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("format", sa.String(16)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("file_name", sa.String(255)),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("file_size", sa.BigInteger, nullable=False),
        sa.Column("strict", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("bank_account_id", UUID),
        sa.Column("read_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("duplicate_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("skipped_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("statements", pg.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("warnings", pg.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("errors", pg.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("created_by", UUID),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("completed_at", TS),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_import_batches"),
        sa.ForeignKeyConstraint(["tenant_id", "bank_account_id"],
                                ["bank_accounts.tenant_id", "bank_accounts.id"],
                                name="fk_import_batches_account"),
        sa.CheckConstraint(
            "status IN ('processing', 'completed', 'rejected', 'failed')", name="status_valid"),
    )
    op.create_index("ix_import_batches_tenant_created", "import_batches",
                    ["tenant_id", "created_at", "id"])
    enable_tenant_rls("import_batches")

    op.create_table(
        "bank_transactions",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("bank_account_id", UUID, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("booking_date", sa.Date, nullable=False),
        sa.Column("value_date", sa.Date),
        sa.Column("counterparty_name", sa.String(200)),
        sa.Column("counterparty_iban", sa.String(64)),
        sa.Column("counterparty_bic", sa.String(11)),
        sa.Column("remittance", sa.Text),
        sa.Column("structured_reference", sa.String(35)),
        sa.Column("bank_reference", sa.String(100)),
        sa.Column("end_to_end_id", sa.String(100)),
        sa.Column("transaction_code", sa.String(50)),
        sa.Column("status", sa.String(8), nullable=False, server_default="booked"),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("import_batch_id", UUID),
        sa.Column("category_id", UUID),
        sa.Column("contact_id", UUID),
        sa.Column("ignore_for_forecast", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("notes", sa.Text),
        sa.Column("details", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("matched_amount", MONEY, nullable=False, server_default="0"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("updated_at", TS, nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_bank_transactions"),
        sa.ForeignKeyConstraint(["tenant_id", "bank_account_id"],
                                ["bank_accounts.tenant_id", "bank_accounts.id"],
                                name="fk_bank_transactions_account"),
        sa.ForeignKeyConstraint(["tenant_id", "import_batch_id"],
                                ["import_batches.tenant_id", "import_batches.id"],
                                name="fk_bank_transactions_batch"),
        sa.ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"],
                                name="fk_bank_transactions_contact"),
        sa.CheckConstraint("status IN ('pending', 'booked')", name="status_valid"),
        sa.CheckConstraint(
            "source IN ('ponto', 'coda', 'camt053', 'mt940', 'ofx', 'csv', 'manual', 'partner')",
            name="source_valid"),
    )
    # Exactly once: one row per account and dedupe key (docs/decisions/0014).
    op.create_index("uq_bank_transactions_dedupe", "bank_transactions",
                    ["tenant_id", "bank_account_id", "dedupe_key"], unique=True)
    op.create_index("ix_bank_transactions_tenant_booked", "bank_transactions",
                    ["tenant_id", "booking_date", "id"])
    op.create_index("ix_bank_transactions_tenant_account_booked", "bank_transactions",
                    ["tenant_id", "bank_account_id", "booking_date"])
    op.create_index("ix_bank_transactions_tenant_reference", "bank_transactions",
                    ["tenant_id", "structured_reference"])
    op.create_index("ix_bank_transactions_tenant_counterparty_iban", "bank_transactions",
                    ["tenant_id", "counterparty_iban"])
    enable_tenant_rls("bank_transactions")


def downgrade() -> None:
    for table in ("bank_transactions", "import_batches", "bank_accounts"):
        op.drop_table(table)
