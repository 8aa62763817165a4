"""X-Request-ID: accepted from the caller when sane, generated otherwise, always echoed,
and carried into every log line of the request."""

from __future__ import annotations

import re
import uuid

from flask import Flask, Response, g, request

from smbfinance.logs import bind_log_context, clear_log_context

HEADER = "X-Request-ID"
_SANE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def register_request_id(app: Flask) -> None:
    @app.before_request
    def _assign() -> None:
        given = request.headers.get(HEADER, "")
        g.request_id = given if _SANE.match(given) else str(uuid.uuid4())
        clear_log_context()
        bind_log_context(request_id=g.request_id)

    @app.after_request
    def _echo(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id:
            response.headers[HEADER] = request_id
        return response

    @app.teardown_request
    def _clear(_exc: BaseException | None) -> None:
        clear_log_context()
