"""REST routes for reconciliation: suggestions to review, matches (automatic and by
hand), undo, and a run on demand."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from smbfinance.extensions import db
from smbfinance.reconciliation import schemas
from smbfinance.reconciliation import service as reconciliation
from smbfinance.web.api import AuthenticatedView, Blueprint
from smbfinance.web.auth import current_actor
from smbfinance.web.idempotency import idempotent

blp = Blueprint("reconciliation", __name__, url_prefix="/api/v1/reconciliation",
                description="Which bank transactions pay which invoices: automatic matches "
                            "with their evidence, suggestions to review, matches by hand.")
BEARER = [{"bearerAuth": []}]


@blp.route("/suggestions")
class Suggestions(AuthenticatedView):
    @blp.arguments(schemas.SuggestionListArgs, location="query")
    @blp.response(200, schemas.SuggestionList)
    @blp.doc(security=BEARER)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Matches proposed but not applied, best score first; only those that still fit."""
        page = reconciliation.list_suggestions(session=db.session, actor=current_actor(), **args)
        return {"data": page.items, "has_more": page.has_more}


@blp.route("/suggestions/<uuid:suggestion_id>")
class SuggestionView(AuthenticatedView):
    @blp.response(204)
    @blp.doc(security=BEARER)
    def delete(self, suggestion_id: UUID) -> None:
        """Dismiss a suggestion: it is not offered again, even by later runs."""
        reconciliation.dismiss_suggestion(session=db.session, actor=current_actor(),
                                          suggestion_id=suggestion_id)


@blp.route("/matches")
class Matches(AuthenticatedView):
    @blp.arguments(schemas.MatchListArgs, location="query")
    @blp.response(200, schemas.MatchList)
    @blp.doc(security=BEARER)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Matches, newest first; filter by transaction, invoice, kind or status."""
        page = reconciliation.list_matches(session=db.session, actor=current_actor(), **args)
        return {"data": page.items, "has_more": page.has_more}

    @blp.arguments(schemas.MatchIn)
    @idempotent
    @blp.response(201, schemas.MatchOut)
    @blp.doc(security=BEARER)
    def post(self, body: dict[str, Any]) -> Any:
        """Match by hand (a transaction and allocations) or accept a suggestion
        (Idempotency-Key supported)."""
        return reconciliation.create_match(session=db.session, actor=current_actor(), **body)


@blp.route("/matches/<uuid:match_id>")
class MatchView(AuthenticatedView):
    @blp.response(200, schemas.MatchOut)
    @blp.doc(security=BEARER)
    def get(self, match_id: UUID) -> Any:
        """One match with its allocations."""
        return reconciliation.get_match(session=db.session, actor=current_actor(),
                                        match_id=match_id)

    @blp.response(200, schemas.MatchOut)
    @blp.alt_response(409, description="The match is already undone")
    @blp.doc(security=BEARER)
    def delete(self, match_id: UUID) -> Any:
        """Undo a match: its invoice payments are reversed and the invoices are outstanding
        again. The match is kept, marked undone."""
        return reconciliation.undo_match(session=db.session, actor=current_actor(),
                                         match_id=match_id)


@blp.route("/runs")
class Runs(AuthenticatedView):
    @blp.arguments(schemas.RunIn)
    @blp.response(200, schemas.RunOut)
    @blp.doc(security=BEARER)
    def post(self, body: dict[str, Any]) -> Any:
        """Run matching now over the transactions not fully matched (imports do this by
        themselves); running twice changes nothing the second time."""
        return reconciliation.reconcile(session=db.session, actor=current_actor(), **body)
