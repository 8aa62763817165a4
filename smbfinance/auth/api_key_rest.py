"""REST routes for partner API keys (owner and admin)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from smbfinance.auth import api_key_schemas as schemas
from smbfinance.auth import api_key_service as api_keys
from smbfinance.extensions import db
from smbfinance.web.api import AuthenticatedView, Blueprint
from smbfinance.web.auth import current_actor
from smbfinance.web.idempotency import idempotent

blp = Blueprint("api_keys", __name__, url_prefix="/api/v1/api-keys",
                description="Keys for partner systems: scoped, shown once, revocable.")
BEARER = [{"bearerAuth": []}]


@blp.route("")
class ApiKeys(AuthenticatedView):
    @blp.arguments(schemas.ApiKeyListArgs, location="query")
    @blp.response(200, schemas.ApiKeyList)
    @blp.doc(security=BEARER)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Keys, newest first (never the keys themselves)."""
        page = api_keys.list_keys(session=db.session, actor=current_actor(), **args)
        return {"data": page.items, "has_more": page.has_more}

    @blp.arguments(schemas.ApiKeyIn)
    @idempotent(sealed=True)  # the secret is in the stored response: kept encrypted
    @blp.response(201, schemas.ApiKeyCreatedOut)
    @blp.doc(security=BEARER)
    def post(self, body: dict[str, Any]) -> Any:
        """Create a key; its `secret` is in this response only (Idempotency-Key supported)."""
        created = api_keys.create_key(session=db.session, actor=current_actor(), **body)
        shown = {name: getattr(created.key, name) for name in schemas.ApiKeyOut().fields
                 if name != "object"}
        return {**shown, "secret": created.secret}


@blp.route("/<uuid:key_id>")
class ApiKeyView(AuthenticatedView):
    @blp.response(200, schemas.ApiKeyOut)
    @blp.doc(security=BEARER)
    def get(self, key_id: UUID) -> Any:
        """One key."""
        return api_keys.get_key(session=db.session, actor=current_actor(), key_id=key_id)

    @blp.arguments(schemas.ApiKeyPatch)
    @blp.response(200, schemas.ApiKeyOut)
    @blp.doc(security=BEARER)
    def patch(self, body: dict[str, Any], key_id: UUID) -> Any:
        """Rename a key."""
        return api_keys.rename_key(session=db.session, actor=current_actor(), key_id=key_id,
                                   name=body["name"])

    @blp.response(200, schemas.ApiKeyOut)
    @blp.alt_response(409, description="Already revoked")
    @blp.doc(security=BEARER)
    def delete(self, key_id: UUID) -> Any:
        """Revoke a key: it stops working at once."""
        return api_keys.revoke_key(session=db.session, actor=current_actor(), key_id=key_id)
