"""Fast JSON responses for list pages: rows are encoded with orjson, while marshmallow
schemas still document them in OpenAPI."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json",
                    headers=headers)


def list_body(items: list[Any], has_more: bool) -> dict[str, Any]:
    return {"object": "list", "data": items, "has_more": has_more}

