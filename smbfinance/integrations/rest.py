"""REST routes for integrations (Ponto, Yuki)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response, current_app, request

from smbfinance.extensions import db
from smbfinance.integrations import schemas, sync_requests
from smbfinance.integrations import service as integrations
from smbfinance.web.api import AuthenticatedView, Blueprint
from smbfinance.web.auth import current_actor
from smbfinance.web.problems import problem
from smbfinance.web.schemas import ListArgs

blp = Blueprint("integrations", __name__, url_prefix="/api/v1",
                description="Connections to Ponto (bank) and Yuki (accounting), their health "
                            "and freshness.")
BEARER = [{"bearerAuth": []}]


@blp.route("/integrations")
class Integrations(AuthenticatedView):
    @blp.arguments(schemas.IntegrationListArgs, location="query")
    @blp.response(200, schemas.IntegrationList)
    @blp.doc(security=BEARER)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The company's integrations with health and `synchronized_at` (no secrets)."""
        page = integrations.list_integrations(session=db.session, actor=current_actor(), **args)
        return {"data": page.items, "has_more": page.has_more}


@blp.route("/integrations/<uuid:integration_id>/sync-logs")
class SyncLogs(AuthenticatedView):
    @blp.arguments(ListArgs, location="query")
    @blp.response(200, schemas.SyncLogList)
    @blp.doc(security=BEARER)
    def get(self, args: dict[str, Any], integration_id: UUID) -> dict[str, Any]:
        """The integration's sync runs, newest first: start, end, status, counts, error."""
        page = integrations.list_sync_logs(session=db.session, actor=current_actor(),
                                           integration_id=integration_id, **args)
        return {"data": page.items, "has_more": page.has_more}


def _enqueue_sync(*args: Any, **kwargs: Any) -> None:
    if current_app.config.get("SYNC_DISPATCH", True):
        from smbfinance.integrations.tasks import enqueue_sync

        enqueue_sync(*args, **kwargs)


@blp.route("/integrations/<uuid:integration_id>/sync")
class SyncNow(AuthenticatedView):
    @blp.response(202, schemas.SyncRequestedOut)
    @blp.alt_response(429, description="Budget spent: Retry-After and next_allowed_at")
    @blp.doc(security=BEARER)
    def post(self, integration_id: UUID) -> Any:
        """Ask for a sync now (attended: your IP goes to Ponto); 429 when the budget is spent."""
        try:
            return sync_requests.request_sync(
                session=db.session, actor=current_actor(), integration_id=integration_id,
                customer_ip=request.remote_addr, enqueue=_enqueue_sync)
        except sync_requests.SyncBudgetSpent as spent:
            return _budget_spent(spent)


def _budget_spent(spent: sync_requests.SyncBudgetSpent) -> Response:
    wait = max(1, int((spent.next_allowed_at - spent.next_allowed_at.now(
        spent.next_allowed_at.tzinfo)).total_seconds() + 0.999))
    return problem(429, spent.detail, title=spent.title, code=spent.code,
                   headers={"Retry-After": str(wait)}, **spent.extra)
