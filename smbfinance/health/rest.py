"""GET /health/live and /health/ready — no authentication."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify
from flask.views import MethodView
from marshmallow import Schema, fields

from smbfinance.extensions import db
from smbfinance.health.service import check_readiness
from smbfinance.platform import migration_heads, redis_client
from smbfinance.web.api import Blueprint
from smbfinance.web.problems import problem

blp = Blueprint("health", __name__, url_prefix="/health", description="Probes for orchestrators.")


class LiveOut(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})


class ReadyOut(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})
    checks = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


@blp.route("/live")
class Live(MethodView):
    @blp.response(200, LiveOut)
    def get(self) -> dict[str, Any]:
        """The process is up."""
        return {"status": "ok"}


@blp.route("/ready")
class Ready(MethodView):
    @blp.response(200, ReadyOut)
    @blp.alt_response(503, description="A dependency failed; `checks` says which")
    def get(self) -> Response:
        """Database, Redis and migrations are ready."""
        readiness = check_readiness(
            session=db.session,
            ping_redis=lambda: redis_client(current_app).ping(),
            expected_heads=migration_heads(current_app),
        )
        if readiness.ok:
            return jsonify({"status": "ok", "checks": readiness.checks})
        failed = ", ".join(k for k, v in readiness.checks.items() if v != "ok")
        return problem(503, f"not ready: {failed}", checks=readiness.checks)
