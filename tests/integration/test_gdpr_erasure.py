"""GDPR erasure of a contact with real commits, checked from outside the application: the
owner role (which bypasses RLS) scans every column of every tenant table in the catalogue
for the person's strings. Before: they are everywhere (contacts, IBANs, invoices' events,
bank transactions, the outbox/feed, audit before/after, cached idempotent responses).
After: nowhere in the company, while invoice and transaction totals are unchanged, the
audit chain verifies, and another company's identical contact is untouched."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from config import normalise_database_url
from smbfinance.events import tasks as event_tasks
from smbfinance.extensions import db
from tests.conftest import make_app, register_tenant
from tests.invoicing import create_invoice, today
from tests.reconciling import Paid, import_payments

TENANT_TABLES = text("""
    SELECT c.relname,
           CASE WHEN c.relname = 'tenants' THEN 'id' ELSE 'tenant_id' END AS tenant_column
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
      AND (c.relname = 'tenants' OR EXISTS (
            SELECT 1 FROM pg_attribute a
            WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))
    ORDER BY c.relname
""")
IBAN = "BE71096123456769"


@pytest.fixture()
def task_app(infrastructure):
    app = make_app(infrastructure)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture()
def owner_connection(infrastructure):
    engine = create_engine(normalise_database_url(infrastructure.migration_url))
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def _rendered(value: Any) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def scan(connection: Any, tenant_id: uuid.UUID, terms: list[str]) -> set[str]:
    """`table.column` wherever one of the terms occurs (any case) in the tenant's rows."""
    found = set()
    for table in connection.execute(TENANT_TABLES).mappings().all():
        rows = connection.execute(text(
            f'SELECT * FROM "{table["relname"]}" WHERE "{table["tenant_column"]}" = :t'),
            {"t": tenant_id}).mappings().all()
        for row in rows:
            for column, value in row.items():
                if value is None:
                    continue
                rendered = _rendered(value).casefold()
                if any(term.casefold() in rendered for term in terms):
                    found.add(f"{table['relname']}.{column}")
    connection.rollback()
    return found


def person(client: Any, tenant: Any, suffix: str) -> tuple[dict[str, Any], list[str]]:
    """A contact with every kind of personal data, created with an Idempotency-Key (so a
    cached response holds it too), then changed (so the audit log has before/after)."""
    fields = {"name": f"Jana Verhoeven {suffix}", "email": f"jana.{suffix}@example.org",
              "phone": "+32 470 12 34 56", "street": f"Kerkstraat {suffix}",
              "postal_code": "9000", "city": "Gent", "notes": "Prefers calls after 5",
              "ibans": [IBAN]}
    created = client.post("/api/v1/contacts", headers={**tenant.headers,
                                                       "Idempotency-Key": uuid.uuid4().hex},
                          json=fields)
    assert created.status_code == 201, created.get_json()
    contact = created.get_json()
    changed = client.patch(f"/api/v1/contacts/{contact['id']}",
                           headers={**tenant.headers, "If-Match": created.headers["ETag"]},
                           json={"notes": f"Call Jana Verhoeven {suffix} on +32 470 12 34 56"})
    assert changed.status_code == 200, changed.get_json()
    return contact, [fields["name"], fields["email"], fields["phone"], fields["street"], IBAN]


def totals(client: Any, tenant: Any) -> tuple[list[Any], list[Any]]:
    invoices = client.get("/api/v1/invoices?limit=200", headers=tenant.headers).get_json()
    transactions = client.get("/api/v1/transactions?limit=200",
                              headers=tenant.headers).get_json()
    return ([(i["id"], i["gross_total"], i["amount_paid"]) for i in invoices["data"]],
            [(t["id"], t["amount"]) for t in transactions["data"]])


def test_erasing_a_contact_leaves_no_personal_string_in_any_table(task_app,
                                                                   owner_connection) -> None:
    client = task_app.test_client()
    suffix = uuid.uuid4().hex[:6]
    a = register_tenant(client, f"Erasure Alpha {suffix}")
    b = register_tenant(client, f"Erasure Beta {suffix}")
    # given in A a contact with an invoice, a bank payment from them (name and IBAN, and
    # the name in the free text) and published events; and in B an identical contact
    contact, terms = person(client, a, suffix)
    create_invoice(client, a, contact["id"])
    import_payments(client, a, [Paid(amount="121.00", on=today().isoformat(),
                                     name=terms[0].upper(), iban=IBAN,
                                     text=f"Invoice {terms[0]}")])
    event_tasks.relay.apply(kwargs={"tenant_id": str(a.tenant_id)}, throw=True)
    person(client, b, suffix)
    before_totals = totals(client, a)
    assert sum(Decimal(t[1]["amount"]) for t in before_totals[1]) == Decimal("121.00")
    # and the strings are indeed spread over A's tables (the scan can fail)
    spread = scan(owner_connection, a.tenant_id, terms)
    assert {"contacts.name", "contact_ibans.iban", "bank_transactions.counterparty_name",
            "outbox_events.data", "audit_entries.before", "audit_entries.after",
            "idempotency_keys.response_body"} <= spread
    # when the owner erases the contact
    erased = client.post("/api/v1/gdpr/erasure", headers=a.headers,
                         json={"subject_type": "contact", "subject_id": contact["id"]})
    # then the erasure is recorded with its pseudonym and what it changed
    assert erased.status_code == 201, erased.get_json()
    record = erased.get_json()
    pseudonym = record["pseudonym"]
    assert pseudonym == f"erased-{uuid.UUID(contact['id']).hex[-8:]}"
    assert record["counts"]["contacts"] >= 1 and record["counts"]["audit_entries"] >= 2
    assert record["counts"]["bank_transactions"] >= 1
    # and no table of A holds any of the strings any more
    assert scan(owner_connection, a.tenant_id, terms) == set()
    # and the totals are what they were
    assert totals(client, a) == before_totals
    # and the contact, the transaction and the feed show the pseudonym
    shown = client.get(f"/api/v1/contacts/{contact['id']}", headers=a.headers).get_json()
    assert (shown["name"], shown["email"], shown["ibans"]) == (pseudonym, None, [])
    [transaction] = client.get("/api/v1/transactions", headers=a.headers).get_json()["data"]
    assert transaction["counterparty_name"] == pseudonym
    assert transaction["counterparty_iban"] is None
    feed = json.dumps(client.get("/api/v1/events", headers=a.headers).get_json())
    assert pseudonym in feed
    # and the audit chain still verifies, with the redacted entries marked
    verified = client.get("/api/v1/audit-log/verify", headers=a.headers).get_json()
    assert verified["ok"] is True, verified
    entries = client.get("/api/v1/audit-log?entity_type=contact",
                         headers=a.headers).get_json()["data"]
    assert any(e["redacted_at"] for e in entries)
    assert any(e["action"] == "gdpr.erased" for e in entries)
    # and B's identical contact is untouched
    assert "contacts.name" in scan(owner_connection, b.tenant_id, terms)
    # and erasing the same contact again is refused
    again = client.post("/api/v1/gdpr/erasure", headers=a.headers,
                        json={"subject_type": "contact", "subject_id": contact["id"]})
    assert again.status_code == 409
