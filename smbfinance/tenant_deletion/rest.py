"""REST routes for deleting the whole company: ask, confirm, read, cancel (owner, signed
in), and reopen a closed company (owner's email and password: no token works for it)."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import current_app, request
from flask.views import MethodView

from smbfinance.extensions import db, limiter
from smbfinance.tenant_deletion import schemas, service
from smbfinance.web.api import AuthenticatedView, Blueprint
from smbfinance.web.auth import current_actor, public_request

blp = Blueprint("tenant_deletion", __name__, url_prefix="/api/v1/tenant",
                description="Deleting the whole company: two steps by an owner, closed at "
                            "once, purged when the legal retention ends.")
BEARER = [{"bearerAuth": []}]


def _requested(result: service.Requested) -> dict[str, Any]:
    shown = {name: getattr(result.deletion, name) for name in schemas.DeletionOut().fields
             if name != "object"}
    return {**shown, "confirmation_token": result.token,
            "consequences": list(service.CONSEQUENCES)}


def _account_key() -> str:
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    digest = hashlib.sha256(str(email or "-").strip().lower().encode()).hexdigest()[:32]
    return f"reopen-account:{digest}"


def _owner_key() -> str:
    # Per person and company, from the verified token: a stolen access token must not
    # become a password oracle, and refreshing it (a new token each time) must not open a
    # fresh bucket. Runs after authentication (the decorators' order below), so
    # current_actor() answers from the request's memory and cannot raise here.
    actor = current_actor()
    return f"tenant-deletion:{actor.tenant_id}:{actor.user_id}"


@blp.route("/deletion")
class Deletion(AuthenticatedView):
    # as_view applies these in order, the last outermost: authentication runs first.
    decorators = [limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT_PER_ACCOUNT"],
                                key_func=_owner_key, methods=["POST"]),
                  *AuthenticatedView.decorators]

    @blp.arguments(schemas.DeletionIn)
    @blp.response(202, schemas.RequestedOut)
    @blp.alt_response(403, description="Not an owner, wrong password or company name")
    @blp.alt_response(409, description="The company is already closed")
    @blp.alt_response(429, description="Too many attempts by this owner")
    @blp.doc(security=BEARER)
    def post(self, body: dict[str, Any]) -> Any:
        """Step 1: ask to delete the company; returns a one-time confirmation token
        (15 minutes) and the earliest date its data may be purged."""
        return _requested(service.request_deletion(session=db.session, actor=current_actor(),
                                                   **body))

    @blp.response(200, schemas.DeletionOut)
    @blp.doc(security=BEARER)
    def get(self) -> Any:
        """The company's deletion request: pending, closed or (the latest) cancelled."""
        return service.get_deletion(session=db.session, actor=current_actor())

    @blp.response(200, schemas.DeletionOut)
    @blp.doc(security=BEARER)
    def delete(self) -> Any:
        """Cancel a pending deletion request (its token stops working)."""
        return service.cancel_deletion(session=db.session, actor=current_actor())


@blp.route("/deletion/confirm")
class Confirm(AuthenticatedView):
    @blp.arguments(schemas.ConfirmIn)
    @blp.response(200, schemas.DeletionOut)
    @blp.alt_response(403, description="Not the owner who asked, wrong or expired token")
    @blp.alt_response(409, description="No deletion is pending")
    @blp.doc(security=BEARER)
    def post(self, body: dict[str, Any]) -> Any:
        """Step 2: close the company at once; its data is purged when the retention ends."""
        return service.confirm_deletion(session=db.session, actor=current_actor(), **body)


@blp.route("/reopen")
class Reopen(MethodView):
    decorators = [
        limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT_PER_ACCOUNT"],
                      key_func=_account_key),
        limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT_PER_IP"]),
    ]

    @blp.arguments(schemas.ReopenIn)
    @blp.response(200, schemas.DeletionOut)
    @blp.alt_response(401, description="Wrong email or password")
    @blp.alt_response(403, description="Not an owner of the company")
    @blp.alt_response(409, description="The company is not closed")
    def post(self, body: dict[str, Any]) -> Any:
        """Reopen a closed company before its purge (an owner's email and password);
        members sign in again."""
        public_request()
        return service.reopen(session=db.session, **body)
