"""REST routes for webhook endpoints and their deliveries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from smbfinance.extensions import db
from smbfinance.web.api import AuthenticatedView, Blueprint
from smbfinance.web.auth import current_actor
from smbfinance.web.etag import expected_version, with_etag
from smbfinance.web.idempotency import idempotent
from smbfinance.webhooks import schemas, settings
from smbfinance.webhooks import service as webhooks

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1/webhook-endpoints",
                description="Signed webhooks (Standard Webhooks) to partners' endpoints.")
BEARER = [{"bearerAuth": []}]
STALE = "If-Match does not match the current version"


class _ShownOnce:
    """The endpoint's fields plus its new secret, for the one response that shows it."""

    def __init__(self, created: webhooks.WithSecret) -> None:
        self._endpoint = created.endpoint
        self.secret = created.secret

    def __getattr__(self, name: str) -> Any:
        return getattr(self._endpoint, name)


def _shown_once(created: webhooks.WithSecret) -> _ShownOnce:
    return _ShownOnce(created)


@blp.route("")
class Endpoints(AuthenticatedView):
    @blp.arguments(schemas.EndpointListArgs, location="query")
    @blp.response(200, schemas.EndpointList)
    @blp.doc(security=BEARER)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Webhook endpoints, oldest first (owners and admins)."""
        page = webhooks.list_endpoints(session=db.session, actor=current_actor(), **args)
        return {"data": page.items, "has_more": page.has_more}

    @blp.arguments(schemas.EndpointIn)
    @idempotent(sealed=True)  # the secret is in the stored response: kept encrypted
    @blp.response(201, schemas.EndpointWithSecret)
    @blp.doc(security=BEARER)
    def post(self, body: dict[str, Any]) -> Any:
        """Subscribe a URL to event types; the signing secret is in this response only
        (Idempotency-Key supported)."""
        created = webhooks.create_endpoint(session=db.session, actor=current_actor(),
                                           data=body, policy=settings.policy(),
                                           box=settings.secret_box())
        return with_etag(_shown_once(created), created.endpoint.version, 201)


@blp.route("/<uuid:endpoint_id>")
class EndpointView(AuthenticatedView):
    @blp.response(200, schemas.EndpointOut)
    @blp.doc(security=BEARER)
    def get(self, endpoint_id: UUID) -> Any:
        """One endpoint (without its secret)."""
        endpoint = webhooks.get_endpoint(session=db.session, actor=current_actor(),
                                         endpoint_id=endpoint_id)
        return with_etag(endpoint, endpoint.version)

    @blp.arguments(schemas.EndpointPatch)
    @blp.response(200, schemas.EndpointOut)
    @blp.alt_response(412, description=STALE)
    @blp.doc(security=BEARER)
    def patch(self, body: dict[str, Any], endpoint_id: UUID) -> Any:
        """Change URL, event types, filter, description; `enabled: true` re-enables."""
        endpoint = webhooks.update_endpoint(
            session=db.session, actor=current_actor(), endpoint_id=endpoint_id, changes=body,
            policy=settings.policy(), expected_version=expected_version())
        return with_etag(endpoint, endpoint.version)

    @blp.response(204)
    @blp.alt_response(412, description=STALE)
    @blp.doc(security=BEARER)
    def delete(self, endpoint_id: UUID) -> None:
        """Delete an endpoint; its pending deliveries are given up."""
        webhooks.delete_endpoint(session=db.session, actor=current_actor(),
                                 endpoint_id=endpoint_id, expected_version=expected_version())


@blp.route("/<uuid:endpoint_id>/rotate-secret")
class RotateSecret(AuthenticatedView):
    @blp.arguments(schemas.RotateIn)
    @idempotent(sealed=True)  # the new secret is in the stored response: kept encrypted
    @blp.response(200, schemas.EndpointWithSecret)
    @blp.doc(security=BEARER)
    def post(self, body: dict[str, Any], endpoint_id: UUID) -> Any:
        """A new secret (shown once); the old one also signs during the overlap
        (Idempotency-Key supported: a retry gets the same new secret, not a third one)."""
        seconds = body.get("overlap_seconds")
        rotated = webhooks.rotate_secret(
            session=db.session, actor=current_actor(), endpoint_id=endpoint_id,
            box=settings.secret_box(),
            overlap=None if seconds is None else timedelta(seconds=seconds))
        return with_etag(_shown_once(rotated), rotated.endpoint.version)


@blp.route("/<uuid:endpoint_id>/test")
class SendTest(AuthenticatedView):
    @blp.response(202, schemas.DeliveryOut)
    @blp.doc(security=BEARER)
    def post(self, endpoint_id: UUID) -> Any:
        """Queue a `webhook.test` event to this endpoint."""
        return webhooks.send_test(session=db.session, actor=current_actor(),
                                  endpoint_id=endpoint_id)


@blp.route("/<uuid:endpoint_id>/deliveries")
class Deliveries(AuthenticatedView):
    @blp.arguments(schemas.DeliveryListArgs, location="query")
    @blp.response(200, schemas.DeliveryList)
    @blp.doc(security=BEARER)
    def get(self, args: dict[str, Any], endpoint_id: UUID) -> dict[str, Any]:
        """Deliveries to this endpoint with their attempts, newest first."""
        page = webhooks.list_deliveries(session=db.session, actor=current_actor(),
                                        endpoint_id=endpoint_id, **args)
        return {"data": page.items, "has_more": page.has_more}


@blp.route("/<uuid:endpoint_id>/deliveries/<uuid:delivery_id>")
class DeliveryView(AuthenticatedView):
    @blp.response(200, schemas.DeliveryOut)
    @blp.doc(security=BEARER)
    def get(self, endpoint_id: UUID, delivery_id: UUID) -> Any:
        """One delivery with its attempts."""
        return webhooks.get_delivery(session=db.session, actor=current_actor(),
                                     endpoint_id=endpoint_id, delivery_id=delivery_id)


@blp.route("/<uuid:endpoint_id>/deliveries/<uuid:delivery_id>/retry")
class RetryDelivery(AuthenticatedView):
    @blp.response(202, schemas.DeliveryOut)
    @blp.alt_response(409, description="The endpoint is disabled")
    @blp.doc(security=BEARER)
    def post(self, endpoint_id: UUID, delivery_id: UUID) -> Any:
        """Send this delivery again now."""
        return webhooks.retry_delivery(session=db.session, actor=current_actor(),
                                       endpoint_id=endpoint_id, delivery_id=delivery_id)
