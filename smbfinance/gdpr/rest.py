"""REST routes for GDPR: a company's export (queued, then downloaded through a signed
link) and the erasure of a person (owners and admins)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response, current_app, url_for
from flask.views import MethodView

from smbfinance.errors import Forbidden, NotFound
from smbfinance.extensions import db
from smbfinance.gdpr import download_tokens, erasure_service, export_service, schemas, tasks
from smbfinance.gdpr.models import GdprExport
from smbfinance.tenancy import tenant_scope
from smbfinance.web.api import AuthenticatedView, Blueprint
from smbfinance.web.auth import current_actor
from smbfinance.web.idempotency import idempotent

blp = Blueprint("gdpr", __name__, url_prefix="/api/v1/gdpr",
                description="GDPR: export all of a company's data; erase a person's "
                            "personal data by pseudonymisation.")
BEARER = [{"bearerAuth": []}]


def _ttl() -> int:
    return int(current_app.config["GDPR_EXPORT_TTL_SECONDS"])


def _shown(export: GdprExport) -> dict[str, Any]:
    shown = {name: getattr(export, name) for name in (
        "id", "status", "created_at", "completed_at", "expires_at", "size", "sha256", "error")}
    shown["download_url"] = None
    if export.status == "ready":
        token = download_tokens.sign(current_app.config["SECRET_KEY"],
                                     tenant_id=export.tenant_id, export_id=export.id)
        shown["download_url"] = url_for("gdpr.Download", export_id=export.id, token=token)
    return shown


@blp.route("/export")
class Export(AuthenticatedView):
    @idempotent
    @blp.response(202, schemas.ExportOut)
    @blp.doc(security=BEARER)
    def post(self) -> Any:
        """Queue a complete export of the company's data (a ZIP of JSON files, one per
        table, plus members and a manifest); poll the export until it is ready."""
        actor = current_actor()
        export = export_service.request_export(session=db.session, actor=actor,
                                               enqueue=tasks.enqueue_for(actor))
        return _shown(export)


@blp.route("/exports")
class Exports(AuthenticatedView):
    @blp.arguments(schemas.ExportListArgs, location="query")
    @blp.response(200, schemas.ExportList)
    @blp.doc(security=BEARER)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Exports, newest first."""
        page = export_service.list_exports(session=db.session, actor=current_actor(), **args)
        return {"data": [_shown(e) for e in page.items], "has_more": page.has_more}


@blp.route("/exports/<uuid:export_id>")
class ExportView(AuthenticatedView):
    @blp.response(200, schemas.ExportOut)
    @blp.doc(security=BEARER)
    def get(self, export_id: UUID) -> Any:
        """One export; `download_url` while it is ready."""
        return _shown(export_service.get_export(session=db.session, actor=current_actor(),
                                                export_id=export_id))


@blp.route("/exports/<uuid:export_id>/download")
class Download(MethodView):
    @blp.arguments(schemas.DownloadArgs, location="query")
    @blp.response(200, content_type="application/zip", description="The export's ZIP")
    @blp.alt_response(403, description="The link is forged, altered or expired")
    @blp.alt_response(404, description="No such export, or it expired")
    def get(self, args: dict[str, Any], export_id: UUID) -> Response:
        """Download through the signed link (no bearer token: the link is the credential)."""
        try:
            grant = download_tokens.read(current_app.config["SECRET_KEY"], args["token"],
                                         max_age=_ttl())
        except download_tokens.TokenRefused as refused:
            raise Forbidden(str(refused)) from refused
        if grant.export_id != export_id:
            raise NotFound(f"no export {export_id}")
        with tenant_scope(db.session, grant.tenant_id):
            export, content = export_service.download(session=db.session, export_id=export_id)
        return Response(content, mimetype="application/zip", headers={
            "Content-Disposition": f'attachment; filename="gdpr-export-{export.id}.zip"',
            "Cache-Control": "no-store"})


@blp.route("/erasure")
class Erasure(AuthenticatedView):
    @blp.arguments(schemas.ErasureIn)
    @idempotent
    @blp.response(201, schemas.ErasureOut)
    @blp.alt_response(409, description="Already erased, the last owner, yourself, or a "
                                       "person who also belongs to another company")
    @blp.doc(security=BEARER)
    def post(self, body: dict[str, Any]) -> Any:
        """Pseudonymise a contact or a member everywhere (tables, events, audit
        before/after), keeping amounts and the audit chain intact. Cannot be undone."""
        return erasure_service.erase(session=db.session, actor=current_actor(), **body)


@blp.route("/erasures")
class Erasures(AuthenticatedView):
    @blp.arguments(schemas.ExportListArgs, location="query")
    @blp.response(200, schemas.ErasureList)
    @blp.doc(security=BEARER)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Erasures, newest first."""
        page = erasure_service.list_erasures(session=db.session, actor=current_actor(), **args)
        return {"data": page.items, "has_more": page.has_more}
