"""The REST door: flask-smorest at /api/v1 with problem+json errors everywhere."""

from __future__ import annotations

import http
from collections.abc import Iterable
from functools import wraps
from typing import Any

from flask import Flask, Response, request
from flask.views import MethodView
from flask_smorest import Api
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest.spec import prepare_response
from marshmallow import RAISE, Schema, fields
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from smbfinance.web.problems import PROBLEM_JSON, http_problem, problem


class FieldErrorSchema(Schema):
    field = fields.String(required=True, metadata={"description": "Dotted path of the field"})
    message = fields.String(required=True)
    code = fields.String()


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    class Meta:
        unknown = "include"

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.List(fields.Nested(FieldErrorSchema))
    request_id = fields.String()
    code = fields.String()


class RestApi(Api):  # type: ignore[misc]
    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: HTTPException) -> Response:
        return http_problem(error)

    def _register_responses(self) -> None:
        # Error responses are documented as application/problem+json, which they are.
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


JSON_TYPES = ("application/json",)
BODY_METHODS = ("POST", "PUT", "PATCH")


def register_media_type_check(app: Flask) -> None:
    """415 for a body that is not JSON on the JSON API (uploads opt out per endpoint)."""

    @app.before_request
    def _require_json() -> Response | None:
        if request.method not in BODY_METHODS or not request.path.startswith("/api/v1/"):
            return None
        view = app.view_functions.get(request.endpoint or "")
        view_class = getattr(view, "view_class", None)
        accepted = getattr(view_class, "accepted_media_types", JSON_TYPES)
        has_body = (request.content_length or 0) > 0 or request.headers.get(
            "Transfer-Encoding", ""
        ).lower() == "chunked"
        if not has_body:
            return None
        if request.mimetype in accepted or request.mimetype.endswith("+json"):
            return None
        return problem(
            415,
            f"send the body as {' or '.join(accepted)} (got {request.mimetype or 'none'})",
        )

    @app.before_request
    def _refuse_nul() -> Response | None:
        # PostgreSQL text cannot hold NUL (psycopg2 raises ValueError): refuse it as input
        # for every endpoint at once, naming the field, instead of answering 500.
        if not request.path.startswith("/api/v1/"):
            return None
        field = next((f"query:{key}" for key, value in request.args.items(multi=True)
                      if "\x00" in key or "\x00" in value), None)
        if field is None and request.is_json and request.method in BODY_METHODS:
            field = nul_field(request.get_json(silent=True))
        if field is None:
            return None
        message = "must not contain NUL (\\u0000) characters"
        return problem(422, f"{field}: {message}", errors=[{"field": field, "message": message}])


def nul_field(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string (or key) in a JSON value that holds a NUL."""
    if isinstance(value, str):
        return (path or "(body)") if "\x00" in value else None
    pairs: Iterable[tuple[Any, Any]]
    if isinstance(value, dict):
        pairs = value.items()
    elif isinstance(value, list):
        pairs = enumerate(value)
    else:
        return None
    for key, item in pairs:
        name = f"{path}.{key}" if path else str(key)
        found = name if "\x00" in str(key) else nul_field(item, name)
        if found is not None:
            return found
    return None


class _StrictQueryParser(FlaskParser):
    """Unknown query parameters are refused (422) like unknown body fields: a typo such as
    `?stauts=open` must not silently return everything."""

    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": RAISE, "querystring": RAISE}


class Blueprint(SmorestBlueprint):  # type: ignore[misc]
    """The blueprint every REST domain uses."""

    ARGUMENTS_PARSER = _StrictQueryParser()


def _authenticate_first(view: Any) -> Any:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from smbfinance.web.auth import current_actor

        current_actor()  # before the body is parsed: 401 comes before 422
        return view(*args, **kwargs)

    return wrapper


class AuthenticatedView(MethodView):
    """A REST resource that needs an access token for every method."""

    decorators = [_authenticate_first]
