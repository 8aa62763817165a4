"""REST routes for integrations (Ponto, Yuki)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response, current_app, request
from flask.views import MethodView

from smbfinance.extensions import db
from smbfinance.integrations import (
    connect_service,
    connectors,
    disconnect_service,
    schemas,
    sync_requests,
    webhook_service,
    yuki_connect_service,
)
from smbfinance.integrations import service as integrations
from smbfinance.integrations import settings as app_settings
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


@blp.route("/integrations/<uuid:integration_id>")
class IntegrationById(AuthenticatedView):
    @blp.response(200, schemas.IntegrationOut)
    @blp.doc(security=BEARER)
    def delete(self, integration_id: UUID) -> Any:
        """Disconnect (Ponto: revoke at Ponto first); credentials forgotten, data and sync
        logs kept; idempotent."""
        return disconnect_service.disconnect(
            session=db.session, actor=current_actor(), integration_id=integration_id,
            box=app_settings.box(), ponto_settings=app_settings.ponto_settings(),
            redis=app_settings.redis())


@blp.route("/integrations/yuki")
class YukiConnect(AuthenticatedView):
    @blp.arguments(schemas.YukiConnectIn)
    @blp.response(201, schemas.IntegrationOut)
    @blp.alt_response(502, description="Yuki answered wrongly; nothing stored")
    @blp.alt_response(503, description="Yuki unreachable or its quota spent; nothing stored")
    @blp.doc(security=BEARER)
    def post(self, body: dict[str, Any]) -> Any:
        """Connect Yuki with its web-service access key (checked at Yuki, stored sealed)."""
        try:
            return yuki_connect_service.connect_yuki(
                session=db.session, actor=current_actor(), box=app_settings.box(),
                enqueue=_enqueue_sync, settings=app_settings.yuki_settings(), **body)
        except yuki_connect_service.ProviderUnreachable as error:
            return problem(error.status, error.detail, title=error.title, code=error.code)


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
    # settings.enqueue_sync is looked up at each call, not bound at import; tests replace
    # this module's _enqueue_sync.
    app_settings.enqueue_sync(*args, **kwargs)


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


@blp.route("/integrations/ponto/authorize")
class PontoAuthorize(AuthenticatedView):
    @blp.response(200, schemas.ConnectStartOut)
    @blp.doc(security=BEARER)
    def get(self) -> Any:
        """Start connecting Ponto: the authorization URL to send the browser to (PKCE)."""
        return connect_service.start_ponto_connect(
            actor=current_actor(), settings=app_settings.ponto_settings(),
            redis=app_settings.redis(), box=app_settings.box())


@blp.route("/integrations/ponto/callback")
class PontoCallback(AuthenticatedView):
    @blp.arguments(schemas.ConnectCallbackArgs, location="query")
    @blp.response(201, schemas.IntegrationOut)
    @blp.doc(security=BEARER)
    def get(self, args: dict[str, Any]) -> Any:
        """Finish connecting Ponto with the code and state it sent back (same user)."""
        return connect_service.finish_ponto_connect(
            session=db.session, actor=current_actor(), settings=app_settings.ponto_settings(),
            redis=app_settings.redis(), box=app_settings.box(), code=args["code"],
            state=args["state"], enqueue=_enqueue_sync)


@blp.route("/webhooks/ponto")
class PontoWebhooks(MethodView):
    @blp.response(202, schemas.WebhookReceiptOut)
    @blp.alt_response(401, description="Forged, stale or replayed: refused and counted")
    def post(self) -> Any:
        """Ponto's signed webhook (JWT in the Signature header); schedules the sync."""
        return webhook_service.receive_ponto_webhook(
            session=db.session, verifier=connectors.ponto_webhook_verifier(current_app),
            body=request.get_data(cache=True), signature=request.headers.get("Signature"),
            redis=app_settings.redis())
