"""Reconciliation matches and their allocations; stored suggestions a person reviews.

A match ties one bank transaction to one or more invoices through allocations; each
allocation records the invoice payment it created, so undoing the match reverses exactly
those payments. Matches are never deleted: an undone match keeps its history and stops
the engine from applying the same pair again.

Revision ID: 0005_reconciliation
Revises: 0004_categories_rules
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from smbfinance.migration_tools import enable_tenant_rls, tenant_id_column

revision = "0005_reconciliation"
down_revision = "0004_categories_rules"
branch_labels = None
depends_on = None

UUID = pg.UUID(as_uuid=True)
NOW = sa.text("now()")
TS = sa.DateTime(timezone=True)
MONEY = sa.Numeric(18, 2)


def _fk(table: str, column: str, target: str, name: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id", column], [f"{target}.tenant_id", f"{target}.id"],
                                   name=f"fk_{table}_{name}")


def upgrade() -> None:
    op.create_table(
        "reconciliation_matches",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("transaction_id", UUID, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("certain", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("score", sa.Numeric(4, 2)),
        sa.Column("signals", pg.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("status", sa.String(8), nullable=False, server_default="active"),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("created_by", UUID),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("undone_by", UUID),
        sa.Column("undone_at", TS),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_reconciliation_matches"),
        _fk("reconciliation_matches", "transaction_id", "bank_transactions", "transaction"),
        sa.CheckConstraint("kind IN ('automatic', 'manual')", name="kind_valid"),
        sa.CheckConstraint("status IN ('active', 'undone')", name="status_valid"),
        sa.CheckConstraint("(status = 'undone') = (undone_at IS NOT NULL)", name="undone_at_set"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("jsonb_typeof(signals) = 'array'", name="signals_array"),
    )
    op.create_index("ix_reconciliation_matches_tenant_transaction", "reconciliation_matches",
                    ["tenant_id", "transaction_id"])
    op.create_index("ix_reconciliation_matches_tenant_created", "reconciliation_matches",
                    ["tenant_id", "created_at", "id"])
    enable_tenant_rls("reconciliation_matches")

    op.create_table(
        "reconciliation_allocations",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("match_id", UUID, nullable=False),
        sa.Column("transaction_id", UUID, nullable=False),
        sa.Column("invoice_id", UUID, nullable=False),
        sa.Column("invoice_payment_id", UUID, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_reconciliation_allocations"),
        _fk("reconciliation_allocations", "match_id", "reconciliation_matches", "match"),
        _fk("reconciliation_allocations", "transaction_id", "bank_transactions", "transaction"),
        _fk("reconciliation_allocations", "invoice_id", "invoices", "invoice"),
        _fk("reconciliation_allocations", "invoice_payment_id", "invoice_payments", "payment"),
        sa.UniqueConstraint("tenant_id", "match_id", "invoice_id",
                            name="uq_reconciliation_allocations_match_invoice"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
    )
    op.create_index("ix_reconciliation_allocations_tenant_invoice", "reconciliation_allocations",
                    ["tenant_id", "invoice_id"])
    op.create_index("ix_reconciliation_allocations_tenant_transaction",
                    "reconciliation_allocations", ["tenant_id", "transaction_id"])
    enable_tenant_rls("reconciliation_allocations")

    op.create_table(
        "reconciliation_suggestions",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("transaction_id", UUID, nullable=False),
        # The invoices, sorted, as text: one key for "this payment with these invoices",
        # so a dismissed suggestion stays dismissed when the engine proposes it again.
        sa.Column("invoice_key", sa.Text, nullable=False),
        sa.Column("allocations", pg.JSONB, nullable=False),
        sa.Column("score", sa.Numeric(4, 2), nullable=False),
        sa.Column("signals", pg.JSONB, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("dismissed_at", TS),
        sa.Column("dismissed_by", UUID),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_reconciliation_suggestions"),
        _fk("reconciliation_suggestions", "transaction_id", "bank_transactions", "transaction"),
        sa.UniqueConstraint("tenant_id", "transaction_id", "invoice_key",
                            name="uq_reconciliation_suggestions_pair"),
        sa.CheckConstraint("jsonb_typeof(allocations) = 'array'", name="allocations_array"),
        sa.CheckConstraint("jsonb_typeof(signals) = 'array'", name="signals_array"),
    )
    op.create_index("ix_reconciliation_suggestions_tenant_score", "reconciliation_suggestions",
                    ["tenant_id", "score", "id"])
    enable_tenant_rls("reconciliation_suggestions")

    # An invoice payment made by reconciliation is reversed by undoing its match; the
    # reversal keeps the row (history) and stops counting it.
    op.create_check_constraint(
        "matched_amount_within", "bank_transactions",
        "matched_amount >= 0 AND matched_amount <= abs(amount)")
    # Unmatched booked transactions are what each run reads.
    op.create_index("ix_bank_transactions_tenant_unmatched", "bank_transactions",
                    ["tenant_id", "booking_date"],
                    postgresql_where=sa.text("status = 'booked' AND matched_amount < abs(amount)"))

    # --- transactions (helper) ---
    # Large statement uploads are imported by a worker (ADR 0017): the batch waits as
    # 'queued' with the file's bytes in PostgreSQL (under RLS, surviving a worker restart)
    # and reports its progress; the bytes are deleted once the import is done.
    op.drop_constraint("status_valid", "import_batches", type_="check")
    op.create_check_constraint(
        "status_valid", "import_batches",
        "status IN ('queued', 'processing', 'completed', 'rejected', 'failed')")
    op.add_column("import_batches", sa.Column("progress", pg.JSONB))
    op.create_table(
        "import_uploads",
        tenant_id_column(),
        sa.Column("import_batch_id", UUID, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        # Live progress of a running import, written by a short side transaction: the
        # import's own transaction holds the batch row until it commits.
        sa.Column("progress", pg.JSONB),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("tenant_id", "import_batch_id", name="pk_import_uploads"),
        sa.ForeignKeyConstraint(["tenant_id", "import_batch_id"],
                                ["import_batches.tenant_id", "import_batches.id"],
                                name="fk_import_uploads_batch", ondelete="CASCADE"),
    )
    enable_tenant_rls("import_uploads")
    # --- end transactions (helper) ---


def downgrade() -> None:
    # --- transactions (helper) ---
    op.drop_table("import_uploads")
    op.drop_column("import_batches", "progress")
    op.execute("UPDATE import_batches SET status = 'failed' WHERE status = 'queued'")
    op.drop_constraint("status_valid", "import_batches", type_="check")
    op.create_check_constraint(
        "status_valid", "import_batches",
        "status IN ('processing', 'completed', 'rejected', 'failed')")
    # --- end transactions (helper) ---
    op.drop_index("ix_bank_transactions_tenant_unmatched", table_name="bank_transactions")
    op.drop_constraint("matched_amount_within", "bank_transactions", type_="check")
    for table in ("reconciliation_suggestions", "reconciliation_allocations",
                  "reconciliation_matches"):
        op.drop_table(table)
