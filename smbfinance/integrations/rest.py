"""REST routes for integrations (Ponto, Yuki)."""

from __future__ import annotations

from typing import Any

from smbfinance.extensions import db
from smbfinance.integrations import schemas
from smbfinance.integrations import service as integrations
from smbfinance.web.api import AuthenticatedView, Blueprint
from smbfinance.web.auth import current_actor

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
