"""Reconciliation use cases: run the engine and apply its plan; review suggestions; match
by hand; undo. Rules of the engine: engine.py; decisions: ADR 0015.

Locking order, the same in every writer: bank transactions (id order), then invoices (id
order), so a run, a manual match and an undo never wait on each other in a circle.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from smbfinance import events
from smbfinance.audit import service as audit
from smbfinance.auth import tenant_settings
from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.auth.profile import tenant_profile
from smbfinance.db import new_id, transaction, utcnow
from smbfinance.errors import Conflict, ErrorList, Invalid, NotFound
from smbfinance.invoices import settlement_service as settlement
from smbfinance.invoices.models import Invoice
from smbfinance.invoices.service import tenant_context
from smbfinance.money import MoneyError, parse_amount
from smbfinance.pagination import Page, check_limit, page_of
from smbfinance.reconciliation import model, sources
from smbfinance.reconciliation.engine import match as plan_matches
from smbfinance.reconciliation.models import Allocation, Match, Suggestion
from smbfinance.reconciliation.presenters import representation
from smbfinance.transactions.models import BankTransaction

KINDS = ("automatic", "manual")
STATUSES = ("active", "undone")
MAX_ALLOCATIONS = 50
PAGE = 2_000  # transactions matched at a time


@dataclass(frozen=True)
class RunResult:
    transactions: int
    matches: int
    allocations: int
    suggestions: int


@dataclass(frozen=True)
class SuggestionView:
    id: uuid.UUID
    transaction_id: uuid.UUID
    currency: str
    score: Decimal
    signals: list[str]
    allocations: list[dict[str, Any]]
    created_at: datetime


@dataclass(frozen=True)
class _Settling:
    """One allocation about to be written."""

    invoice: Invoice
    amount: Decimal


# ------------------------------------------------------------------ running the engine

def reconcile(*, session: Session, actor: Actor, import_batch_id: uuid.UUID | None = None,
              transaction_ids: Sequence[uuid.UUID] | None = None) -> RunResult:
    """Match the booked transactions that still have money to allocate — those of one
    import, the given ones, or all — against every open invoice. Joins the caller's
    transaction when there is one (an import reconciles in its own commit)."""
    require(actor, Permission.FINANCE_WRITE)
    where: ColumnElement[bool] | None = None
    if import_batch_id is not None:
        where = BankTransaction.import_batch_id == import_batch_id
    elif transaction_ids is not None:
        where = BankTransaction.id.in_(list(transaction_ids))
    with transaction(session):
        # An import's own rows need no lock: its transaction wrote (or updated) them, so
        # nobody else can see or change them until it commits.
        return _reconcile(session, actor, where, lock=import_batch_id is None)


def _reconcile(session: Session, actor: Actor, where: ColumnElement[bool] | None, *,
               lock: bool = True) -> RunResult:
    """Match page by page: memory follows the page and the open invoices, never the number
    of transactions; invoices are read again after a page that settled some."""
    invoices = sources.open_invoices(session)
    if not invoices:
        return RunResult(0, 0, 0, 0)  # nothing is owed: nothing to match or suggest
    threshold, today = _settings(session, actor)
    result = RunResult(0, 0, 0, 0)
    for payments in sources.payment_pages(session, where=where, lock=lock, size=PAGE,
                                          currencies={i.currency for i in invoices}):
        plan = plan_matches(payments, invoices, threshold=threshold, today=today)
        made = _apply(session, actor, {p.id: p for p in payments}, plan.automatic)
        stored = _store_suggestions(session, [p.id for p in payments], plan.suggestions)
        result = RunResult(result.transactions + len(payments), result.matches + len(made),
                           result.allocations + sum(len(m.allocations) for m in made),
                           result.suggestions + stored)
        if made:
            invoices = sources.open_invoices(session)
            if not invoices:
                break
    return result


def _settings(session: Session, actor: Actor) -> tuple[Decimal, date]:
    profile = tenant_profile(session, actor.tenant_id)
    if profile is None:
        raise NotFound("tenant not found")
    threshold = Decimal(str(tenant_settings.effective(profile.settings)["auto_match_threshold"]))
    return threshold, tenant_context(session, actor.tenant_id).today


def _apply(session: Session, actor: Actor, payments: dict[uuid.UUID, model.Payment],
           automatic: Sequence[model.Allocation]) -> list[Match]:
    by_payment: dict[uuid.UUID, list[model.Allocation]] = defaultdict(list)
    for allocation in automatic:
        by_payment[allocation.payment_id].append(allocation)
    locked = settlement.lock_invoices(session, (a.invoice_id for a in automatic))
    made = []
    for payment_id, allocations in by_payment.items():
        settling = [_Settling(locked[a.invoice_id], a.amount) for a in allocations
                    if a.invoice_id in locked and _fits(locked[a.invoice_id], a.amount)]
        if len(settling) != len(allocations):
            continue  # an invoice changed since it was read: the plan is applied whole or not
        payment = payments[payment_id]
        made.append(_make_match(
            session, actor, payment_id=payment_id, currency=payment.currency,
            paid_on=payment.booking_date, reference=payment.structured_reference,
            settling=settling, kind="automatic", certain=all(a.certain for a in allocations),
            score=min((a.score for a in allocations if a.score is not None), default=None),
            signals=sorted({str(s) for a in allocations for s in a.signals})))
    return made


def _fits(invoice: Invoice, amount: Decimal) -> bool:
    return (invoice.deleted_at is None and settlement.settleable(invoice)
            and Decimal(0) < amount <= invoice.outstanding)


def _make_match(session: Session, actor: Actor, *, payment_id: uuid.UUID, currency: str,
                paid_on: date, reference: str | None, settling: Sequence[_Settling], kind: str,
                certain: bool, score: Decimal | None, signals: list[str]) -> Match:
    total = sum((s.amount for s in settling), Decimal(0))
    found = Match(id=new_id(), transaction_id=payment_id, kind=kind, certain=certain,
                  score=score, signals=signals, status="active", amount=total,
                  currency=currency, created_by=actor.user_id, created_at=utcnow())
    session.add(found)
    payments = [settlement.settle(session, actor=actor, invoice=s.invoice, amount=s.amount,
                                  paid_on=paid_on, reference=reference) for s in settling]
    session.flush()  # the match and invoice payments exist before allocations point at them
    for item, invoice_payment in zip(settling, payments, strict=True):
        session.add(Allocation(match_id=found.id, transaction_id=payment_id,
                               invoice_id=item.invoice.id, invoice_payment_id=invoice_payment.id,
                               amount=item.amount, currency=currency))
    _add_matched(session, payment_id, total)
    session.flush()
    session.refresh(found, ["allocations"])
    audit.record(session, actor=actor, action="reconciliation.matched",
                 entity_type="bank_transaction", entity_id=payment_id, after=_state(found))
    events.emit(session=session, type="reconciliation.matched", object_id=found.id,
                obj=representation(found))
    return found


def _add_matched(session: Session, transaction_id: uuid.UUID, amount: Decimal) -> None:
    session.execute(update(BankTransaction).where(BankTransaction.id == transaction_id).values(
        matched_amount=BankTransaction.matched_amount + amount,
        version=BankTransaction.version + 1, updated_at=func.now()),
        execution_options={"synchronize_session": "fetch"})


def _store_suggestions(session: Session, transaction_ids: list[uuid.UUID],
                       candidates: Sequence[model.Candidate]) -> int:
    """Replace the open suggestions of these transactions with the engine's; a suggestion
    a person dismissed stays dismissed (its key conflicts and nothing is written)."""
    session.execute(Suggestion.__table__.delete().where(
        Suggestion.transaction_id.in_(transaction_ids), Suggestion.dismissed_at.is_(None)))
    grouped: dict[tuple[uuid.UUID, tuple[uuid.UUID, ...]], list[model.Candidate]] = (
        defaultdict(list))
    for candidate in candidates:
        grouped[(candidate.payment_id, candidate.group or (candidate.invoice_id,))].append(
            candidate)
    rows = [{
        "id": new_id(), "transaction_id": payment_id,
        "invoice_key": ",".join(sorted(str(i) for i in invoices)),
        "allocations": [{"invoice_id": str(c.invoice_id), "amount": str(c.amount)}
                        for c in members],
        "score": members[0].score,
        "signals": sorted({str(s) for c in members for s in c.signals}),
    } for (payment_id, invoices), members in grouped.items()]
    if not rows:
        return 0
    written = session.execute(insert(Suggestion).values(rows).on_conflict_do_nothing(
        index_elements=["tenant_id", "transaction_id", "invoice_key"])
        .returning(Suggestion.id)).all()
    return len(written)


# ------------------------------------------------------------------ matching by hand

def create_match(*, session: Session, actor: Actor, transaction_id: uuid.UUID | None = None,
                 allocations: Sequence[dict[str, Any]] | None = None,
                 suggestion_id: uuid.UUID | None = None) -> Match:
    """A person's match: explicit allocations, or an accepted suggestion."""
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        score: Decimal | None = None
        signals: list[str] = []
        if suggestion_id is not None:
            if transaction_id is not None or allocations:
                raise Invalid.field("suggestion_id", "send either a suggestion_id or a "
                                    "transaction_id with allocations, not both")
            suggestion = _open_suggestion(session, suggestion_id, field="suggestion_id")
            transaction_id, allocations = suggestion.transaction_id, suggestion.allocations
            score, signals = suggestion.score, list(suggestion.signals)
        if transaction_id is None:
            raise Invalid.field("transaction_id", "required (or a suggestion_id)")
        if not allocations:
            raise Invalid.field("allocations", "at least one invoice to settle")
        bank = _locked_transaction(session, transaction_id)
        settling = _checked(session, bank, allocations)
        made = _make_match(session, actor, payment_id=bank.id, currency=bank.currency,
                           paid_on=bank.booking_date, reference=bank.structured_reference,
                           settling=settling, kind="manual", certain=False, score=score,
                           signals=signals)
        if suggestion_id is not None:
            session.execute(Suggestion.__table__.delete().where(Suggestion.id == suggestion_id))
        return made


def _locked_transaction(session: Session, transaction_id: uuid.UUID) -> BankTransaction:
    bank = session.execute(select(BankTransaction).where(BankTransaction.id == transaction_id)
                           .with_for_update()).scalar_one_or_none()
    if bank is None:
        raise Invalid.field("transaction_id", f"no transaction {transaction_id}",
                            code="not_found")
    if bank.status != "booked":
        raise Invalid.field("transaction_id", "is pending: only a booked transaction settles "
                                              "invoices", code="pending")
    return bank


def _checked(session: Session, bank: BankTransaction,
             allocations: Sequence[dict[str, Any]]) -> list[_Settling]:
    errors = ErrorList()
    if len(allocations) > MAX_ALLOCATIONS:
        raise Invalid.field("allocations", f"at most {MAX_ALLOCATIONS} invoices per match")
    ids = [_invoice_id(item.get("invoice_id")) for item in allocations]
    locked = settlement.lock_invoices(session, (i for i in ids if i is not None))
    settling: list[_Settling] = []
    seen: set[uuid.UUID] = set()
    for position, (item, invoice_id) in enumerate(zip(allocations, ids, strict=True)):
        where = f"allocations[{position}]"
        invoice = locked.get(invoice_id) if invoice_id is not None else None
        problem = _invoice_problem(invoice, invoice_id, bank, seen)
        if problem is not None:
            errors.add(f"{where}.invoice_id", *problem)
            continue
        assert invoice is not None and invoice_id is not None
        seen.add(invoice_id)
        amount = _amount(item.get("amount"), invoice, f"{where}.amount", errors)
        if amount is not None:
            settling.append(_Settling(invoice, amount))
    errors.raise_if_any()
    total = sum((s.amount for s in settling), Decimal(0))
    left = abs(bank.amount) - bank.matched_amount
    if total > left:
        raise Invalid.field("allocations", f"add up to {total} {bank.currency}, more than the "
                            f"{left} {bank.currency} left on the transaction",
                            code="overallocation")
    return settling


def _invoice_id(raw: Any) -> uuid.UUID | None:
    try:
        return raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw))
    except ValueError:
        return None


def _invoice_problem(invoice: Invoice | None, invoice_id: uuid.UUID | None,
                     bank: BankTransaction, seen: set[uuid.UUID]) -> tuple[str, str] | None:
    if invoice is None or invoice.deleted_at is not None:
        return (f"no invoice {invoice_id}" if invoice_id else "not an invoice id", "not_found")
    if invoice_id in seen:
        return ("appears twice: allocate to each invoice once", "duplicate")
    if not settlement.settleable(invoice):
        return (f"the invoice is {invoice.status}: only open invoices are settled",
                "not_open")
    if invoice.currency != bank.currency:
        return (f"the invoice is in {invoice.currency}, the transaction in {bank.currency}",
                "currency_mismatch")
    if (invoice.direction == "receivable") != (bank.amount > 0):
        return ("money in pays receivables and money out pays payables; this transaction "
                "and invoice go opposite ways", "direction_mismatch")
    return None


def _amount(raw: Any, invoice: Invoice, field: str, errors: ErrorList) -> Decimal | None:
    try:
        amount = parse_amount(raw, invoice.currency)
    except MoneyError as error:
        errors.add(field, str(error))
        return None
    if amount <= 0:
        errors.add(field, "must be positive")
        return None
    if amount > invoice.outstanding:
        errors.add(field, f"exceeds what is outstanding ({invoice.outstanding} "
                          f"{invoice.currency})", "overpayment")
        return None
    return amount


# ------------------------------------------------------------------ undo

def undo_match(*, session: Session, actor: Actor, match_id: uuid.UUID) -> Match:
    """Reverse the invoice payments of a match; the invoices are outstanding again and
    their status follows. The match stays, marked undone. A transaction whose automatic
    match is undone is not matched automatically again; its candidates become
    suggestions."""
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        found = _get_match(session, match_id)
        if found.status == "undone":
            raise Conflict("this match is already undone")
        session.execute(select(BankTransaction.id).where(
            BankTransaction.id == found.transaction_id).with_for_update())
        locked = settlement.lock_invoices(session, (a.invoice_id for a in found.allocations))
        for allocation in found.allocations:
            settlement.reverse(session, actor=actor, invoice=locked[allocation.invoice_id],
                               payment_id=allocation.invoice_payment_id)
        _add_matched(session, found.transaction_id, -found.amount)
        before = _state(found)
        found.status, found.undone_at, found.undone_by = "undone", utcnow(), actor.user_id
        session.flush()
        audit.record(session, actor=actor, action="reconciliation.undone",
                     entity_type="bank_transaction", entity_id=found.transaction_id,
                     before=before, after=_state(found))
        events.emit(session=session, type="reconciliation.unmatched", object_id=found.id,
                    obj=representation(found))
        if found.kind == "automatic":
            _reconcile(session, actor, BankTransaction.id == found.transaction_id)
        return found


# ------------------------------------------------------------------ reading

def get_match(*, session: Session, actor: Actor, match_id: uuid.UUID) -> Match:
    require(actor, Permission.FINANCE_READ)
    with transaction(session):
        return _get_match(session, match_id)


def _get_match(session: Session, match_id: uuid.UUID) -> Match:
    found = session.execute(select(Match).where(Match.id == match_id)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no reconciliation match {match_id}")
    return found


def list_matches(*, session: Session, actor: Actor, transaction_id: uuid.UUID | None = None,
                 invoice_id: uuid.UUID | None = None, kind: str | None = None,
                 status: str | None = None, limit: int | None = None,
                 starting_after: uuid.UUID | None = None) -> Page[Match]:
    """Newest first (ids are time-ordered)."""
    require(actor, Permission.FINANCE_READ)
    limit = check_limit(limit)
    if kind is not None and kind not in KINDS:
        raise Invalid.field("kind", f"one of {', '.join(KINDS)}")
    if status is not None and status not in STATUSES:
        raise Invalid.field("status", f"one of {', '.join(STATUSES)}")
    query = select(Match)
    if transaction_id is not None:
        query = query.where(Match.transaction_id == transaction_id)
    if invoice_id is not None:
        query = query.where(exists().where(Allocation.match_id == Match.id,
                                           Allocation.invoice_id == invoice_id))
    if kind is not None:
        query = query.where(Match.kind == kind)
    if status is not None:
        query = query.where(Match.status == status)
    if starting_after is not None:
        query = query.where(Match.id < starting_after)
    with transaction(session):
        rows = session.execute(query.order_by(Match.id.desc()).limit(limit + 1)).scalars().all()
    return page_of(list(rows), limit)


# A suggestion is shown while it still fits: its transaction has the money left and every
# invoice is still open with at least the suggested amount outstanding. One that no longer
# fits is not deleted (the next run replaces it) but never offered.
_STILL_FITS = text("""
    abs(bank_transactions.amount) - bank_transactions.matched_amount >=
        (SELECT sum((e->>'amount')::numeric)
           FROM jsonb_array_elements(reconciliation_suggestions.allocations) e)
    AND NOT EXISTS (
        SELECT 1 FROM jsonb_array_elements(reconciliation_suggestions.allocations) e
        LEFT JOIN invoices i ON i.id = (e->>'invoice_id')::uuid AND i.deleted_at IS NULL
             AND i.status IN ('open', 'partially_paid')
             AND i.outstanding >= (e->>'amount')::numeric
        WHERE i.id IS NULL)
""")


def list_suggestions(*, session: Session, actor: Actor, transaction_id: uuid.UUID | None = None,
                     invoice_id: uuid.UUID | None = None, limit: int | None = None,
                     starting_after: uuid.UUID | None = None) -> Page[SuggestionView]:
    """Best first (score, then id)."""
    require(actor, Permission.FINANCE_READ)
    limit = check_limit(limit)
    query = (select(Suggestion, BankTransaction.currency)
             .join(BankTransaction, BankTransaction.id == Suggestion.transaction_id)
             .where(Suggestion.dismissed_at.is_(None), _STILL_FITS))
    if transaction_id is not None:
        query = query.where(Suggestion.transaction_id == transaction_id)
    if invoice_id is not None:
        query = query.where(Suggestion.allocations.contains([{"invoice_id": str(invoice_id)}]))
    with transaction(session):
        if starting_after is not None:
            anchor = session.execute(select(Suggestion.score, Suggestion.id).where(
                Suggestion.id == starting_after)).one_or_none()
            if anchor is None:
                raise NotFound(f"starting_after: no suggestion {starting_after}")
            query = query.where(tuple_(-Suggestion.score, Suggestion.id)
                                > tuple_(-anchor.score, anchor.id))
        rows = session.execute(query.order_by(Suggestion.score.desc(), Suggestion.id)
                               .limit(limit + 1)).all()
    return page_of([_suggestion_view(s, currency) for s, currency in rows], limit)


def _suggestion_view(found: Suggestion, currency: str) -> SuggestionView:
    return SuggestionView(id=found.id, transaction_id=found.transaction_id, currency=currency,
                          score=found.score, signals=list(found.signals),
                          allocations=[{**a, "currency": currency} for a in found.allocations],
                          created_at=found.created_at)


def dismiss_suggestion(*, session: Session, actor: Actor, suggestion_id: uuid.UUID) -> None:
    """A person says no: the suggestion is not offered again, even by later runs."""
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        found = _open_suggestion(session, suggestion_id)
        found.dismissed_at, found.dismissed_by = utcnow(), actor.user_id


def _open_suggestion(session: Session, suggestion_id: uuid.UUID,
                     field: str | None = None) -> Suggestion:
    found = session.execute(select(Suggestion).where(
        Suggestion.id == suggestion_id, Suggestion.dismissed_at.is_(None))
        .with_for_update()).scalar_one_or_none()
    if found is None:
        if field is not None:
            raise Invalid.field(field, f"no open suggestion {suggestion_id}", code="not_found")
        raise NotFound(f"no open suggestion {suggestion_id}")
    return found


def _state(found: Match) -> dict[str, Any]:
    return {"transaction_id": found.transaction_id, "kind": found.kind, "status": found.status,
            "amount": found.amount, "currency": found.currency,
            "allocations": [{"invoice_id": a.invoice_id, "amount": a.amount}
                            for a in found.allocations]}
