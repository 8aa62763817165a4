"""REST routes for the audit log: read it, and prove it intact."""

from __future__ import annotations

from typing import Any

from smbfinance.audit import schemas
from smbfinance.audit import service as audit
from smbfinance.extensions import db
from smbfinance.web.api import AuthenticatedView, Blueprint
from smbfinance.web.auth import current_actor

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit-log",
                description="Every financial change: who, what, before and after; append-only "
                            "and hash-chained per company.")
BEARER = [{"bearerAuth": []}]


@blp.route("")
class AuditLog(AuthenticatedView):
    @blp.arguments(schemas.AuditListArgs, location="query")
    @blp.response(200, schemas.AuditList)
    @blp.doc(security=BEARER)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Entries newest first; filter by entity, action, actor and time (owner, admin,
        accountant)."""
        page = audit.list_entries(session=db.session, actor=current_actor(), **args)
        return {"data": page.items, "has_more": page.has_more}


@blp.route("/verify")
class Verify(AuthenticatedView):
    @blp.response(200, schemas.VerificationOut)
    @blp.doc(security=BEARER)
    def get(self) -> Any:
        """Recompute the hash chain; `ok` false names the first entry that does not hold."""
        return audit.verify_chain(session=db.session, actor=current_actor())
