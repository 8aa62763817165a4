"""Contacts, invoices (lines, allowances/charges, payments), exchange rates, idempotency
keys and a plain audit table. Every table is tenant-owned: tenant_id leads its primary
key, its foreign keys and its indexes.

Revision ID: 0002_invoices_contacts
Revises: 0001_foundation
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from smbfinance.migration_tools import enable_tenant_rls, revoke_app, tenant_id_column

revision = "0002_invoices_contacts"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

UUID = pg.UUID(as_uuid=True)
NOW = sa.text("now()")
MONEY = sa.Numeric(18, 2)
TS = sa.DateTime(timezone=True)




def timestamps() -> list[sa.Column]:
    return [sa.Column("created_at", TS, nullable=False, server_default=NOW),
            sa.Column("updated_at", TS, nullable=False, server_default=NOW)]


def upgrade() -> None:
    # Users are global identities without RLS: the application may read, create and update
    # them (sign-up, profile) but never delete or truncate them.
    revoke_app("DELETE, TRUNCATE", "TABLE users")
    # The company's Peppol participant id (scheme:identifier), to recognise documents
    # addressed to it; defaults to 0208:<enterprise number> when not set.
    op.add_column("tenants", sa.Column("peppol_id", sa.String(100)))

    op.create_table(
        "contacts",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("vat_number", sa.String(20)),
        sa.Column("enterprise_number", sa.String(10)),
        sa.Column("email", sa.String(254)),
        sa.Column("phone", sa.String(40)),
        sa.Column("street", sa.String(200)),
        sa.Column("postal_code", sa.String(20)),
        sa.Column("city", sa.String(100)),
        sa.Column("country_code", sa.String(2)),
        sa.Column("peppol_id", sa.String(100)),
        sa.Column("notes", sa.Text),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("deleted_at", TS),
        *timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_contacts"),
    )
    op.create_index("ix_contacts_tenant_name", "contacts",
                    ["tenant_id", sa.text("lower(name)"), "id"])
    op.create_index("ix_contacts_tenant_vat", "contacts", ["tenant_id", "vat_number"])
    op.create_index("ix_contacts_tenant_enterprise", "contacts", ["tenant_id", "enterprise_number"])
    enable_tenant_rls("contacts")

    op.create_table(
        "contact_ibans",
        tenant_id_column(),
        sa.Column("contact_id", UUID, nullable=False),
        sa.Column("iban", sa.String(34), nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("tenant_id", "contact_id", "iban", name="pk_contact_ibans"),
        sa.ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"],
                                ondelete="CASCADE", name="fk_contact_ibans_contact"),
    )
    op.create_index("ix_contact_ibans_tenant_iban", "contact_ibans", ["tenant_id", "iban"])
    enable_tenant_rls("contact_ibans")

    op.create_table(
        "invoices",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("direction", sa.String(12), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False, server_default="invoice"),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("contact_id", UUID, nullable=False),
        sa.Column("issue_date", sa.Date, nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
        sa.Column("corrects_invoice_id", UUID),
        sa.Column("payment_reference", sa.String(140)),
        sa.Column("payment_reference_structured", sa.Boolean, nullable=False,
                  server_default=sa.false()),
        sa.Column("payment_iban", sa.String(34)),
        sa.Column("payment_bic", sa.String(11)),
        sa.Column("net_total", MONEY, nullable=False, server_default="0"),
        sa.Column("vat_total", MONEY, nullable=False, server_default="0"),
        sa.Column("gross_total", MONEY, nullable=False, server_default="0"),
        sa.Column("amount_paid", MONEY, nullable=False, server_default="0"),
        sa.Column("amount_credited", MONEY, nullable=False, server_default="0"),
        sa.Column("outstanding", MONEY, nullable=False, server_default="0"),
        sa.Column("base_currency", sa.String(3), nullable=False),
        sa.Column("gross_total_base", MONEY, nullable=False, server_default="0"),
        sa.Column("exchange_rate", sa.Numeric(20, 10), nullable=False, server_default="1"),
        sa.Column("exchange_rate_date", sa.Date),
        sa.Column("manual_urgency", sa.SmallInteger),
        sa.Column("notes", sa.Text),
        sa.Column("source", sa.String(16), nullable=False, server_default="manual"),
        sa.Column("external_ids", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("document_sha256", sa.String(64)),
        sa.Column("opened_at", TS),
        sa.Column("paid_at", TS),
        sa.Column("cancelled_at", TS),
        sa.Column("deleted_at", TS),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        *timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_invoices"),
        sa.ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"],
                                name="fk_invoices_contact"),
        sa.ForeignKeyConstraint(["tenant_id", "corrects_invoice_id"],
                                ["invoices.tenant_id", "invoices.id"], name="fk_invoices_corrects"),
        sa.CheckConstraint("direction IN ('receivable', 'payable')", name="direction_valid"),
        sa.CheckConstraint("kind IN ('invoice', 'credit_note')", name="kind_valid"),
        sa.CheckConstraint(
            "status IN ('draft', 'open', 'partially_paid', 'paid', 'cancelled')",
            name="status_valid"),
        sa.CheckConstraint("manual_urgency BETWEEN 1 AND 5", name="manual_urgency_valid"),
        sa.CheckConstraint("due_date >= issue_date", name="due_after_issue"),
    )
    # Numbers are unique per tenant for receivables, per tenant + supplier for payables.
    op.create_index("uq_invoices_receivable_number", "invoices", ["tenant_id", "number"],
                    unique=True,
                    postgresql_where=sa.text("direction = 'receivable' AND deleted_at IS NULL"))
    op.create_index("uq_invoices_payable_number", "invoices",
                    ["tenant_id", "contact_id", "number"], unique=True,
                    postgresql_where=sa.text("direction = 'payable' AND deleted_at IS NULL"))
    op.create_index("uq_invoices_receivable_ogm", "invoices", ["tenant_id", "payment_reference"],
                    unique=True, postgresql_where=sa.text(
                        "direction = 'receivable' AND payment_reference_structured"
                        " AND deleted_at IS NULL"))
    op.create_index("uq_invoices_document", "invoices", ["tenant_id", "document_sha256"],
                    unique=True, postgresql_where=sa.text("document_sha256 IS NOT NULL"))
    op.create_index("ix_invoices_tenant_created", "invoices", ["tenant_id", "created_at", "id"])
    op.create_index("ix_invoices_tenant_due", "invoices", ["tenant_id", "due_date", "id"])
    op.create_index("ix_invoices_tenant_issue", "invoices", ["tenant_id", "issue_date", "id"])
    op.create_index("ix_invoices_tenant_contact", "invoices", ["tenant_id", "contact_id"])
    op.create_index("ix_invoices_tenant_status_due", "invoices",
                    ["tenant_id", "status", "due_date"])
    enable_tenant_rls("invoices")

    op.create_table(
        "invoice_lines",
        tenant_id_column(),
        sa.Column("invoice_id", UUID, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("quantity", sa.Numeric(18, 4), nullable=False),
        sa.Column("unit_code", sa.String(10)),
        sa.Column("unit_price", sa.Numeric(18, 6), nullable=False),
        sa.Column("vat_rate", sa.Numeric(5, 2), nullable=False),
        sa.Column("vat_category", sa.String(3), nullable=False, server_default="S"),
        sa.Column("allowance", MONEY, nullable=False, server_default="0"),
        sa.Column("charge", MONEY, nullable=False, server_default="0"),
        sa.Column("net_amount", MONEY, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "invoice_id", "position", name="pk_invoice_lines"),
        sa.ForeignKeyConstraint(["tenant_id", "invoice_id"], ["invoices.tenant_id", "invoices.id"],
                                ondelete="CASCADE", name="fk_invoice_lines_invoice"),
    )
    enable_tenant_rls("invoice_lines")

    op.create_table(
        "invoice_adjustments",
        tenant_id_column(),
        sa.Column("invoice_id", UUID, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("is_charge", sa.Boolean, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("vat_rate", sa.Numeric(5, 2), nullable=False),
        sa.Column("vat_category", sa.String(3), nullable=False, server_default="S"),
        sa.Column("reason", sa.String(200)),
        sa.PrimaryKeyConstraint("tenant_id", "invoice_id", "position",
                                name="pk_invoice_adjustments"),
        sa.ForeignKeyConstraint(["tenant_id", "invoice_id"], ["invoices.tenant_id", "invoices.id"],
                                ondelete="CASCADE", name="fk_invoice_adjustments_invoice"),
    )
    enable_tenant_rls("invoice_adjustments")

    op.create_table(
        "invoice_payments",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("invoice_id", UUID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
        sa.Column("credit_note_id", UUID),
        sa.Column("reference", sa.String(140)),
        sa.Column("note", sa.Text),
        sa.Column("reversed_at", TS),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_invoice_payments"),
        sa.ForeignKeyConstraint(["tenant_id", "invoice_id"], ["invoices.tenant_id", "invoices.id"],
                                name="fk_invoice_payments_invoice"),
        sa.ForeignKeyConstraint(["tenant_id", "credit_note_id"],
                                ["invoices.tenant_id", "invoices.id"],
                                name="fk_invoice_payments_credit_note"),
        sa.CheckConstraint("kind IN ('manual', 'reconciliation', 'credit_note', 'provider')",
                           name="kind_valid"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
    )
    op.create_index("ix_invoice_payments_tenant_invoice", "invoice_payments",
                    ["tenant_id", "invoice_id"])
    enable_tenant_rls("invoice_payments")

    op.create_table(
        "exchange_rates",
        tenant_id_column(),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("rate", sa.Numeric(20, 10), nullable=False),
        sa.Column("source", sa.String(20), nullable=False, server_default="ecb"),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("tenant_id", "currency", "day", name="pk_exchange_rates"),
        sa.CheckConstraint("rate > 0", name="rate_positive"),
    )
    enable_tenant_rls("exchange_rates")

    op.create_table(
        "idempotency_keys",
        tenant_id_column(),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("response_status", sa.SmallInteger),
        sa.Column("response_body", sa.LargeBinary),
        sa.Column("response_headers", pg.JSONB),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "key", name="pk_idempotency_keys"),
        sa.CheckConstraint("state IN ('running', 'done')", name="state_valid"),
    )
    op.create_index("ix_idempotency_keys_tenant_expires", "idempotency_keys",
                    ["tenant_id", "expires_at"])
    enable_tenant_rls("idempotency_keys")

    op.create_table(
        "audit_entries",
        tenant_id_column(),
        sa.Column("id", UUID, nullable=False),
        sa.Column("actor_type", sa.String(16), nullable=False),
        sa.Column("actor_id", UUID),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity_type", sa.String(40), nullable=False),
        sa.Column("entity_id", UUID),
        sa.Column("before", pg.JSONB),
        sa.Column("after", pg.JSONB),
        sa.Column("request_id", sa.String(128)),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_audit_entries"),
    )
    op.create_index("ix_audit_entries_tenant_entity", "audit_entries",
                    ["tenant_id", "entity_type", "entity_id", "created_at"])
    enable_tenant_rls("audit_entries")


def downgrade() -> None:
    for table in ("audit_entries", "idempotency_keys", "exchange_rates", "invoice_payments",
                  "invoice_adjustments", "invoice_lines", "invoices", "contact_ibans",
                  "contacts"):
        op.drop_table(table)
