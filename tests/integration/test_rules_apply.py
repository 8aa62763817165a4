"""Applying categorisation rules against real PostgreSQL (RLS on): in bulk (one UPDATE per
chunk, never one per row), idempotent, a person's choice never overwritten, rules that
change or lose their category, imports categorised in the import's own transaction, and
one tenant's rules never reaching another tenant's transactions."""

from __future__ import annotations

import io
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from smbfinance.audit.models import AuditEntry
from smbfinance.auth.models import Role
from smbfinance.auth.permissions import Actor
from smbfinance.categorisation import service as categorisation
from smbfinance.contacts import service as contacts
from smbfinance.errors import Invalid, NotFound, PreconditionFailed
from smbfinance.tenancy import tenant_scope
from smbfinance.transactions import import_service
from smbfinance.transactions import service as transactions
from smbfinance.transactions.models import BankAccount, BankTransaction
from tests.conftest import TenantFixture

CODA = (Path(__file__).resolve().parents[2].parent / "shared" / "data" / "formats" / "coda"
        / "oca-l10n-belgium-7.0__Coda_iban_v2_3_single_statement.txt")


def add_transactions(session: Session, specs: list[dict[str, Any]]) -> list[uuid.UUID]:
    """Bank transactions on a new account, inserted in one statement."""
    account = BankAccount(iban=None, account_number=uuid.uuid4().hex[:12], currency="EUR")
    session.add(account)
    session.flush()
    rows = [{"id": uuid.uuid4(), "bank_account_id": account.id, "currency": "EUR",
             "booking_date": date(2026, 1, 5), "source": "manual",
             "dedupe_key": f"k{index}", **spec} for index, spec in enumerate(specs)]
    session.execute(insert(BankTransaction), rows)
    session.commit()
    return [row["id"] for row in rows]


def state(session: Session, ids: list[uuid.UUID]) -> list[tuple[Any, ...]]:
    session.expire_all()
    rows = session.execute(select(
        BankTransaction.id, BankTransaction.category_id, BankTransaction.contact_id,
        BankTransaction.ignore_for_forecast, BankTransaction.categorised_by,
        BankTransaction.version).where(BankTransaction.id.in_(ids))).all()
    order = {tid: index for index, tid in enumerate(ids)}
    return [tuple(row[1:]) for row in sorted(rows, key=lambda row: order[row[0]])]


def category(session: Session, actor: Actor, name: str) -> uuid.UUID:
    return categorisation.create_category(session=session, actor=actor, data={"name": name}).id


def rule(session: Session, actor: Actor, conditions: dict[str, Any], actions: dict[str, Any],
         **extra: Any) -> Any:
    return categorisation.create_rule(session=session, actor=actor, data={
        "name": extra.pop("name", "Rule"), "conditions": conditions, "actions": actions,
        **extra})


class StatementCounter:
    """Counts the UPDATE statements on bank_transactions that reach the server."""

    def __init__(self, session: Session) -> None:
        self.engine = session.get_bind()
        self.updates = 0

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE BANK_TRANSACTIONS"):
            self.updates += 1


def test_thousands_of_transactions_are_categorised_a_chunk_per_statement(
        session: Session, actor: Actor) -> None:
    # given 4,500 transactions, a third of them rent payments
    ids = add_transactions(session, [
        {"amount": Decimal("-950.00") if i % 3 == 0 else Decimal("12.50"),
         "counterparty_name": "Immo Vastgoed" if i % 3 == 0 else f"Client {i}",
         "remittance": "Huur januari" if i % 3 == 0 else None}
        for i in range(4500)])
    rent = category(session, actor, "Rent")
    rule(session, actor, {"counterparty_name_contains": "IMMO", "direction": "out"},
         {"category_id": str(rent)})
    # when the rules are applied to everything
    with StatementCounter(session) as counter:
        result = categorisation.apply_rules(session=session, actor=actor)
    # then every rent payment is categorised, in one UPDATE per chunk of rows read
    assert result == categorisation.ApplyResult(examined=4500, matched=1500, updated=1500)
    assert 1 <= counter.updates <= -(-4500 // categorisation.CHUNK)
    rows = state(session, ids)
    assert {rows[i][0] for i in range(0, 4500, 3)} == {rent}
    assert {rows[i][0] for i in range(1, 4500, 3)} == {None}
    assert rows[0][3:] == ("rule", 2)
    # and a second run finds everything already as the rules say
    with StatementCounter(session) as counter:
        again = categorisation.apply_rules(session=session, actor=actor)
    assert again == categorisation.ApplyResult(examined=4500, matched=1500, updated=0)
    assert counter.updates == 0
    assert state(session, ids) == rows


def test_a_persons_choice_is_never_overwritten(session: Session, actor: Actor) -> None:
    ids = add_transactions(session, [
        {"amount": Decimal("-10.00"), "counterparty_name": "Proximus"} for _ in range(3)])
    telecom, mine = category(session, actor, "Telecom"), category(session, actor, "Mine")
    # given a person set the category of one, and the forecast flag of another
    transactions.update_transaction(session=session, actor=actor, transaction_id=ids[0],
                                    changes={"category_id": mine})
    transactions.update_transaction(session=session, actor=actor, transaction_id=ids[1],
                                    changes={"ignore_for_forecast": True})
    rule(session, actor, {"counterparty_name_contains": "proximus"},
         {"category_id": str(telecom), "ignore_for_forecast": False})
    # when the rules are applied
    result = categorisation.apply_rules(session=session, actor=actor)
    # then only the third changed
    assert result == categorisation.ApplyResult(examined=1, matched=1, updated=1,
                                                kept_by_user=2)
    assert [row[:4] for row in state(session, ids)] == [
        (mine, None, False, "user"), (None, None, True, "user"),
        (telecom, None, False, "rule")]


def test_rules_fill_in_never_clear_and_keep_a_contact_found_elsewhere(
        session: Session, actor: Actor) -> None:
    found_elsewhere = contacts.create_contact(session=session, actor=actor,
                                              data={"name": "Reconciled"}).id
    by_rule = contacts.create_contact(session=session, actor=actor, data={"name": "Ruled"}).id
    # given one transaction whose contact reconciliation found, one without
    ids = add_transactions(session, [
        {"amount": Decimal("100.00"), "remittance": "INV-1", "contact_id": found_elsewhere},
        {"amount": Decimal("100.00"), "remittance": "INV-2"}])
    rule(session, actor, {"text_contains": "inv-"}, {"contact_id": str(by_rule)})
    categorisation.apply_rules(session=session, actor=actor)
    assert [row[:2] for row in state(session, ids)] == [(None, found_elsewhere),
                                                        (None, by_rule)]


def test_changed_and_deleted_rules_and_categories(session: Session, actor: Actor) -> None:
    ids = add_transactions(session, [{"amount": Decimal("-5.00"), "remittance": "Frais"}])
    fees, bank = category(session, actor, "Fees"), category(session, actor, "Bank")
    first = rule(session, actor, {"text_contains": "frais"}, {"category_id": str(fees)})
    categorisation.apply_rules(session=session, actor=actor)
    assert state(session, ids)[0][0] == fees
    # when the rule now says another category / then re-applying follows it
    categorisation.update_rule(session=session, actor=actor, rule_id=first.id,
                               changes={"actions": {"category_id": str(bank)}})
    assert categorisation.apply_rules(session=session, actor=actor).updated == 1
    assert state(session, ids)[0][0] == bank
    # when its category is deleted / then the rule stops setting it, its other actions run,
    # and the transaction keeps the category it has
    categorisation.update_rule(session=session, actor=actor, rule_id=first.id, changes={
        "actions": {"category_id": str(bank), "ignore_for_forecast": True}},
        expected_version=2)
    categorisation.delete_category(session=session, actor=actor, category_id=bank)
    assert categorisation.apply_rules(session=session, actor=actor).updated == 1
    assert state(session, ids)[0][:3] == (bank, None, True)
    # when the rule is disabled, or deleted / then nothing runs any more
    categorisation.update_rule(session=session, actor=actor, rule_id=first.id,
                               changes={"enabled": False})
    assert categorisation.apply_rules(session=session, actor=actor).matched == 0
    categorisation.delete_rule(session=session, actor=actor, rule_id=first.id)
    with pytest.raises(NotFound):
        categorisation.get_rule(session=session, actor=actor, rule_id=first.id)
    assert state(session, ids)[0][:3] == (bank, None, True)


def test_stale_versions_and_limits(session: Session, actor: Actor) -> None:
    fees = category(session, actor, "Fees")
    with pytest.raises(PreconditionFailed):
        categorisation.update_category(session=session, actor=actor, category_id=fees,
                                       changes={"name": "x"}, expected_version=7)
    with pytest.raises(Invalid) as error:
        categorisation.apply_rules(session=session, actor=actor,
                                   transaction_ids=[uuid.uuid4() for _ in range(1001)])
    assert [e.field for e in error.value.errors] == ["transaction_ids"]


def test_on_demand_runs_are_audited(session: Session, actor: Actor) -> None:
    categorisation.apply_rules(session=session, actor=actor)
    entry = session.execute(select(AuditEntry).where(
        AuditEntry.action == "rules.applied")).scalar_one()
    assert entry.after == {"examined": 0, "matched": 0, "updated": 0, "kept_by_user": 0,
                           "transaction_ids": None}


@pytest.mark.skipif(not CODA.exists(), reason="shared/data/formats missing")
def test_an_import_is_categorised_in_its_own_transaction(session: Session,
                                                         actor: Actor) -> None:
    transfers = category(session, actor, "Transfers")
    rule(session, actor, {"counterparty_iban": "BE38 7330 4038 5372"},
         {"category_id": str(transfers), "ignore_for_forecast": True})
    batch = import_service.import_statements(session=session, actor=actor,
                                             stream=io.BytesIO(CODA.read_bytes()))
    rows = session.execute(select(BankTransaction.amount, BankTransaction.category_id,
                                  BankTransaction.categorised_by).where(
        BankTransaction.import_batch_id == batch.id)).all()
    assert len(rows) == 17
    assert sorted((str(r.amount), r.category_id, r.categorised_by)
                  for r in rows if r.category_id) == [
        ("-2608.00", transfers, "rule"), ("62095.01", transfers, "rule")]
    # and a re-import (duplicates only) leaves the rows alone
    again = import_service.import_statements(session=session, actor=actor,
                                             stream=io.BytesIO(CODA.read_bytes()))
    assert again.created_count == 0


def test_one_tenants_rules_never_reach_another_tenants_transactions(
        db_session: Any, tenant_a: TenantFixture, tenant_b: TenantFixture) -> None:
    a = Actor(user_id=tenant_a.user_id, tenant_id=tenant_a.tenant_id, role=Role.OWNER)
    b = Actor(user_id=tenant_b.user_id, tenant_id=tenant_b.tenant_id, role=Role.OWNER)
    with tenant_scope(db_session, tenant_a.tenant_id) as session:
        a_ids = add_transactions(session, [{"amount": Decimal("-1.00"), "remittance": "x"}])
        a_category = category(session, a, "Alpha")
        before = state(session, a_ids)
    with tenant_scope(db_session, tenant_b.tenant_id) as session:
        b_category = category(session, b, "Beta")
        rule(session, b, {"text_contains": "x"}, {"category_id": str(b_category)})
        result = categorisation.apply_rules(session=session, actor=b, transaction_ids=a_ids)
        assert result == categorisation.ApplyResult()
        assert categorisation.live_category_ids(session=session, actor=b,
                                                category_ids=[a_category]) == set()
        with pytest.raises(Invalid) as error:
            rule(session, b, {"text_contains": "x"}, {"category_id": str(a_category)})
        assert [e.field for e in error.value.errors] == ["actions.category_id"]
        with pytest.raises(NotFound):
            transactions.update_transaction(session=session, actor=b, transaction_id=a_ids[0],
                                            changes={"category_id": b_category})
    with tenant_scope(db_session, tenant_a.tenant_id) as session:
        assert state(session, a_ids) == before
