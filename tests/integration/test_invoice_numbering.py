"""Generated receivable numbers: a sequence per year that survives five digits, and a
separate sequence for credit notes."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import TenantFixture
from tests.invoicing import create_contact, create_invoice


def test_the_sequence_goes_past_99999(client: FlaskClient, tenant_a: TenantFixture) -> None:
    # given a receivable numbered INV-2026-99999
    contact = create_contact(client, tenant_a)
    create_invoice(client, tenant_a, contact["id"], number="INV-2026-99999",
                   issue_date="2026-03-01", due_date="2026-04-01")
    # when the next one is numbered by us
    following = create_invoice(client, tenant_a, contact["id"], issue_date="2026-03-02",
                               due_date="2026-04-02")
    # then it is INV-2026-100000, not a second INV-2026-99999 (or a conflict)
    assert following["number"] == "INV-2026-100000"


def test_credit_notes_have_their_own_sequence(
    client: FlaskClient, tenant_a: TenantFixture
) -> None:
    contact = create_contact(client, tenant_a)
    invoice = create_invoice(client, tenant_a, contact["id"], issue_date="2026-03-01",
                             due_date="2026-04-01", open=True)
    credit = create_invoice(client, tenant_a, contact["id"], kind="credit_note",
                            corrects_invoice_id=invoice["id"], issue_date="2026-03-05",
                            due_date="2026-04-05")
    assert invoice["number"] == "INV-2026-00001"
    assert credit["number"] == "CN-2026-00001"
