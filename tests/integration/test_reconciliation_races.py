"""Reconciliation under concurrency, with real commits: two runs racing over the same
payment make one match, and a run racing a person's manual match never over-allocates."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from smbfinance.auth.models import Role
from smbfinance.auth.permissions import Actor
from smbfinance.errors import DomainError
from smbfinance.extensions import db
from smbfinance.invoices.models import Invoice
from smbfinance.reconciliation import service as reconciliation
from smbfinance.reconciliation.models import Match
from smbfinance.tenancy import tenant_scope
from smbfinance.transactions.models import BankTransaction
from tests.api.test_reconciliation_api import CLIENT_IBAN
from tests.conftest import TenantFixture, register_tenant
from tests.invoicing import INVOICES, create_contact, days
from tests.reconciling import Paid, camt


def _race(app: Flask, tenant: TenantFixture, *actions: Callable[[Session, Actor], Any]) -> list:
    """Run the actions at once, each in its own session and commit; their results (or
    the domain error each raised)."""
    actor = Actor(user_id=tenant.user_id, tenant_id=tenant.tenant_id, role=Role.OWNER)
    start = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def worker(position: int, action: Callable[[Session, Actor], Any]) -> None:
        with app.app_context():
            session = Session(db.engine, expire_on_commit=False)
            try:
                with tenant_scope(session, tenant.tenant_id):
                    start.wait()
                    results[position] = action(session, actor)
            except DomainError as error:
                results[position] = error
            finally:
                session.close()

    threads = [threading.Thread(target=worker, args=(n, a)) for n, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _state(app: Flask, tenant: TenantFixture) -> tuple[list[Match], Invoice, BankTransaction]:
    with app.app_context():
        session = Session(db.engine)
        with tenant_scope(session, tenant.tenant_id), session.begin():
            found = list(session.execute(select(Match).where(Match.status == "active"))
                         .scalars())
            invoice = session.execute(select(Invoice)).scalar_one()
            paying = session.execute(select(BankTransaction)).scalar_one()
            session.expunge_all()
        session.close()
    return found, invoice, paying


def _import_then_open(app: Flask) -> tuple[TenantFixture, dict]:
    """A tenant with a payment carrying a draft's OGM, then the draft opened: nothing is
    matched yet, and a run would match it with certainty."""
    client = app.test_client()
    tenant = register_tenant(client, "Racing Bakery")
    customer = create_contact(client, tenant, "Client NV", ibans=[CLIENT_IBAN])
    draft = client.post(INVOICES, headers=tenant.headers, json={
        "direction": "receivable", "contact_id": customer["id"], "due_date": days(10),
        "lines": [{"description": "Bread", "quantity": "1", "unit_price": "100.00",
                   "vat_rate": "21"}]}).get_json()
    data = camt([Paid("121.00", days(0), ogm=draft["payment_reference"])])
    imported = client.post("/api/v1/imports", headers=tenant.headers,
                           content_type="multipart/form-data",
                           data={"file": (io.BytesIO(data), "camt.xml")})
    assert imported.status_code == 201, imported.get_json()
    opened = client.post(f"{INVOICES}/{draft['id']}/open", headers=tenant.headers)
    assert opened.status_code == 200, opened.get_json()
    return tenant, draft


def test_two_runs_racing_make_one_match(app: Flask) -> None:
    tenant, _draft = _import_then_open(app)
    # when two runs start at the same moment
    first, second = _race(app, tenant,
                          lambda s, a: reconciliation.reconcile(session=s, actor=a),
                          lambda s, a: reconciliation.reconcile(session=s, actor=a))
    # then one made the match; the other found nothing left to allocate
    assert sorted([first.matches, second.matches]) == [0, 1]
    found, invoice, paying = _state(app, tenant)
    assert len(found) == 1
    assert invoice.status == "paid" and invoice.amount_paid == Decimal("121.00")
    assert paying.matched_amount == Decimal("121.00")


def test_a_run_racing_a_manual_match_never_over_allocates(app: Flask) -> None:
    tenant, draft = _import_then_open(app)
    _found, _invoice, paying = _state(app, tenant)

    def by_hand(session: Session, actor: Actor) -> Any:
        return reconciliation.create_match(
            session=session, actor=actor, transaction_id=paying.id,
            allocations=[{"invoice_id": draft["id"], "amount": "121.00"}])

    results = _race(app, tenant, by_hand,
                    lambda s, a: reconciliation.reconcile(session=s, actor=a))
    # then exactly one of them allocated the payment; the loser was told or found nothing
    found, invoice, paying = _state(app, tenant)
    assert len(found) == 1
    assert invoice.amount_paid == Decimal("121.00") == paying.matched_amount
    manual, run = results
    assert isinstance(manual, DomainError) or run.matches == 0
