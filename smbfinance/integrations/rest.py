"""REST routes for integrations (Ponto, Yuki)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from smbfinance.extensions import db
from smbfinance.integrations import schemas
from smbfinance.integrations import service as integrations
from smbfinance.web.api import AuthenticatedView, Blueprint
from smbfinance.web.auth import current_actor
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
