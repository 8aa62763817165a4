"""GraphQL face of reconciliation: suggestions, matches, and the mutations to match by
hand, accept, dismiss, undo and run — the same services as REST."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from smbfinance.graphql.context import actor_of
from smbfinance.graphql.errors import UserError
from smbfinance.graphql.inputs import attempt, fetch_or_none, given, graphql_errors, load
from smbfinance.graphql.relay import (
    Connection,
    Node,
    connection,
    decode_id,
    encode_id,
    page_args,
    register_node,
)
from smbfinance.graphql.types import Money
from smbfinance.reconciliation import schemas
from smbfinance.reconciliation import service as reconciliation


def _money(amount: Any, currency: str) -> Money:
    return Money(amount=str(amount), currency=currency)


@strawberry.type(name="ReconciliationAllocation",
                 description="The part of a payment that settles one invoice.")
class AllocationType:
    invoice_id: strawberry.ID
    amount: Money


def _allocation(invoice_id: Any, amount: Any, currency: str) -> AllocationType:
    return AllocationType(invoice_id=strawberry.ID(encode_id("Invoice", str(invoice_id))),
                          amount=_money(amount, currency))


@strawberry.type(name="ReconciliationMatch",
                 description="A bank transaction settling invoices, automatically or by hand.")
class MatchType(Node):
    transaction_id: strawberry.ID
    kind: str = strawberry.field(description="automatic or manual")
    status: str = strawberry.field(description="active or undone")
    certain: bool = strawberry.field(description="Made on an equal structured reference")
    score: str | None = strawberry.field(description="0 to 1; null for a manual match")
    signals: list[str]
    amount: Money
    allocations: list[AllocationType]
    created_at: datetime
    undone_at: datetime | None

    @classmethod
    def of(cls, found: Any) -> MatchType:
        return cls(id=strawberry.ID(encode_id("ReconciliationMatch", found.id)),
                   transaction_id=strawberry.ID(encode_id("Transaction", found.transaction_id)),
                   kind=found.kind, status=found.status, certain=found.certain,
                   score=None if found.score is None else str(found.score),
                   signals=list(found.signals), amount=_money(found.amount, found.currency),
                   allocations=[_allocation(a.invoice_id, a.amount, a.currency)
                                for a in found.allocations],
                   created_at=found.created_at, undone_at=found.undone_at)


@strawberry.type(name="ReconciliationSuggestion",
                 description="A match proposed with its evidence, for a person to review.")
class SuggestionType(Node):
    transaction_id: strawberry.ID
    score: str
    signals: list[str]
    allocations: list[AllocationType]
    created_at: datetime

    @classmethod
    def of(cls, found: reconciliation.SuggestionView) -> SuggestionType:
        return cls(id=strawberry.ID(encode_id("ReconciliationSuggestion", found.id)),
                   transaction_id=strawberry.ID(encode_id("Transaction", found.transaction_id)),
                   score=str(found.score), signals=found.signals,
                   allocations=[_allocation(a["invoice_id"], a["amount"], found.currency)
                                for a in found.allocations],
                   created_at=found.created_at)


@strawberry.type(name="ReconciliationRun")
class RunType:
    transactions: int
    matches: int
    allocations: int
    suggestions: int


@strawberry.input(name="ReconciliationAllocationInput")
class AllocationInput:
    invoice_id: strawberry.ID
    amount: str = strawberry.field(description="Positive decimal string, at most what the "
                                               "invoice has outstanding")


@strawberry.input(name="ReconciliationMatchInput",
                  description="A transaction with allocations, or a suggestion to accept.")
class MatchInput:
    transaction_id: strawberry.ID | None = None
    allocations: list[AllocationInput] | None = None
    suggestion_id: strawberry.ID | None = None


@strawberry.type
class MatchPayload:
    match: MatchType | None
    errors: list[UserError]


@strawberry.type
class DismissPayload:
    dismissed: bool
    errors: list[UserError]


@strawberry.type
class RunPayload:
    run: RunType | None
    errors: list[UserError]


def _ids(value: strawberry.ID | None, type_name: str, field: str) -> str | None:
    return None if value is None else str(decode_id(value, type_name, field=field))


def _match_body(input: MatchInput) -> dict[str, Any]:
    body = given(transaction_id=_ids(input.transaction_id, "Transaction", "transactionId"),
                 suggestion_id=_ids(input.suggestion_id, "ReconciliationSuggestion",
                                    "suggestionId"))
    if input.allocations is not None:
        body["allocations"] = [
            {"invoice_id": str(decode_id(a.invoice_id, "Invoice",
                                         field=f"allocations.{n}.invoiceId")),
             "amount": a.amount} for n, a in enumerate(input.allocations)]
    return load(schemas.MatchIn(), body)


def _get(info: Info, match_id: uuid.UUID) -> MatchType:
    return MatchType.of(reconciliation.get_match(session=info.context.session,
                                                 actor=actor_of(info), match_id=match_id))


register_node("ReconciliationMatch", _get)


@strawberry.type
class Query:
    @strawberry.field(description="Suggestions still worth reviewing, best score first.")
    def reconciliation_suggestions(
            self, info: Info, first: int | None = 50, after: str | None = None,
            transaction_id: strawberry.ID | None = None,
            invoice_id: strawberry.ID | None = None) -> Connection[SuggestionType]:
        with graphql_errors():
            args = load(schemas.SuggestionListArgs(), {
                **page_args(first, after, "ReconciliationSuggestion"),
                **given(transaction_id=_ids(transaction_id, "Transaction", "transactionId"),
                        invoice_id=_ids(invoice_id, "Invoice", "invoiceId"))})
            page = reconciliation.list_suggestions(session=info.context.session,
                                                   actor=actor_of(info), **args)
        return connection(page, SuggestionType.of)

    @strawberry.field(description="Matches, newest first; kind automatic|manual, status "
                                  "active|undone.")
    def reconciliation_matches(
            self, info: Info, first: int | None = 50, after: str | None = None,
            transaction_id: strawberry.ID | None = None, invoice_id: strawberry.ID | None = None,
            kind: str | None = None, status: str | None = None) -> Connection[MatchType]:
        with graphql_errors():
            args = load(schemas.MatchListArgs(), {
                **page_args(first, after, "ReconciliationMatch"),
                **given(transaction_id=_ids(transaction_id, "Transaction", "transactionId"),
                        invoice_id=_ids(invoice_id, "Invoice", "invoiceId"),
                        kind=kind, status=status)})
            page = reconciliation.list_matches(session=info.context.session,
                                               actor=actor_of(info), **args)
        return connection(page, MatchType.of)

    @strawberry.field(description="One match (null when not found).")
    def reconciliation_match(self, info: Info, id: strawberry.ID) -> MatchType | None:
        return fetch_or_none(lambda: _get(info, decode_id(id, "ReconciliationMatch")))


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Match by hand, or accept a suggestion.")
    def reconciliation_match_create(self, info: Info, input: MatchInput) -> MatchPayload:
        found, errors = attempt(lambda: reconciliation.create_match(
            session=info.context.session, actor=actor_of(info), **_match_body(input)))
        return MatchPayload(match=MatchType.of(found) if found else None, errors=errors)

    @strawberry.mutation(description="Undo a match: its invoice payments are reversed.")
    def reconciliation_match_undo(self, info: Info, id: strawberry.ID) -> MatchPayload:
        found, errors = attempt(lambda: reconciliation.undo_match(
            session=info.context.session, actor=actor_of(info),
            match_id=decode_id(id, "ReconciliationMatch")))
        return MatchPayload(match=MatchType.of(found) if found else None, errors=errors)

    @strawberry.mutation(description="Dismiss a suggestion: it is not offered again.")
    def reconciliation_suggestion_dismiss(self, info: Info, id: strawberry.ID) -> DismissPayload:
        _done, errors = attempt(lambda: reconciliation.dismiss_suggestion(
            session=info.context.session, actor=actor_of(info),
            suggestion_id=decode_id(id, "ReconciliationSuggestion")))
        return DismissPayload(dismissed=not errors, errors=errors)

    @strawberry.mutation(description="Run matching now over transactions not fully matched.")
    def reconciliation_run(self, info: Info,
                           transaction_ids: list[strawberry.ID] | None = None) -> RunPayload:
        def run() -> reconciliation.RunResult:
            ids = None if transaction_ids is None else [
                decode_id(t, "Transaction", field=f"transactionIds.{n}")
                for n, t in enumerate(transaction_ids)]
            return reconciliation.reconcile(session=info.context.session, actor=actor_of(info),
                                            transaction_ids=ids)
        result, errors = attempt(run)
        return RunPayload(run=RunType(**vars(result)) if result else None, errors=errors)
