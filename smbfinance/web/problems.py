"""RFC 9457 problem details for every error the REST door returns.

`type` is a stable URI per kind of problem (documented in docs/api/errors.md), `title` a
short summary, `detail` the specific explanation, `errors` the fields at fault.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, g, json, request
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import PyJWTError
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from smbfinance.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    PreconditionFailed,
    Unauthenticated,
    Unavailable,
)

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://docs.smbfinance.dev/problems/"

DOMAIN_STATUS: dict[type[DomainError], int] = {
    Invalid: 422,
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Unauthenticated: 401,
    PreconditionFailed: 412,
    Unavailable: 503,
}

_SLUGS = {
    400: "bad-request", 401: "unauthenticated", 403: "forbidden", 404: "not-found",
    405: "method-not-allowed", 409: "conflict", 412: "precondition-failed",
    413: "payload-too-large", 415: "unsupported-media-type", 422: "validation-error",
    429: "rate-limited", 500: "internal-error", 503: "unavailable",
}


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    errors: Iterable[Mapping[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": TYPE_BASE + _SLUGS.get(status, str(status)),
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [dict(e) for e in errors]
    request_id = g.get("request_id") if _has_request() else None
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _has_request() -> bool:
    try:
        return bool(request)
    except RuntimeError:
        return False


def flatten_messages(messages: Any, prefix: str = "") -> list[dict[str, str]]:
    """Turn marshmallow/webargs nested messages into [{field, message}] with dotted paths.

    webargs nests by location first ({"json": {"email": [...]}}); the location is dropped
    for the body and kept for the query string and headers so the field is unambiguous.
    """
    out: list[dict[str, str]] = []
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            key = str(key)
            if not prefix and key in ("json", "form", "files"):
                out.extend(flatten_messages(value, ""))
                continue
            if not prefix and key in ("query", "headers", "cookies", "path"):
                out.extend(flatten_messages(value, f"{key}:"))
                continue
            joiner = "" if not prefix or prefix.endswith(":") else "."
            name = "(body)" if key == "_schema" else key
            out.extend(flatten_messages(value, f"{prefix}{joiner}{name}"))
    elif isinstance(messages, list | tuple):
        if all(isinstance(m, str) for m in messages):
            for message in messages:
                out.append({"field": prefix or "(body)", "message": message})
        else:
            for item in messages:
                out.extend(flatten_messages(item, prefix))
    else:
        out.append({"field": prefix or "(body)", "message": str(messages)})
    return out


def domain_problem(error: DomainError) -> Response:
    status = next(
        (code for cls, code in DOMAIN_STATUS.items() if isinstance(error, cls)), 400
    )
    errors = [{"field": e.field, "message": e.message, "code": e.code} for e in error.errors]
    headers = {"WWW-Authenticate": 'Bearer realm="smbfinance"'} if status == 401 else None
    return problem(status, error.detail, title=error.title, errors=errors, headers=headers,
                   code=error.code, **error.extra)


def http_problem(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods or [])
    if status == 429:
        retry_after = _retry_after(error)
        if retry_after:
            headers["Retry-After"] = retry_after
    messages = data.get("messages") or data.get("errors")
    if messages:
        errors = flatten_messages(messages)
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        if status == 400 and not errors:
            summary = "the request could not be parsed"
        return problem(status, summary or "the request is invalid", errors=errors,
                       headers=headers)
    detail = data.get("message") or _DEFAULT_DETAIL.get(status) or error.description or ""
    return problem(status, detail, headers=headers)


_DEFAULT_DETAIL = {
    400: "the request could not be understood: check that the body is valid JSON",
    404: "no resource at this URL: check the path against /api/v1/openapi.json",
    405: "this method is not allowed here: see the Allow header",
    413: "the request body is too large",
    415: "send the body as application/json",
    500: "an unexpected error occurred; it has been logged with the request id",
}


def _retry_after(error: HTTPException) -> str | None:
    limit = getattr(error, "limit", None)
    response = getattr(error, "response", None)
    if response is not None and response.headers.get("Retry-After"):
        return str(response.headers["Retry-After"])
    if limit is not None:
        try:
            return str(int(limit.limit.get_expiry()))
        except Exception:  # noqa: BLE001  - a missing hint must not turn a 429 into a 500
            return None
    return None


def register_problem_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(error: DomainError) -> Response:
        return domain_problem(error)

    @app.errorhandler(ValidationError)
    def _validation(error: ValidationError) -> Response:
        errors = flatten_messages(error.messages)
        return problem(422, "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]),
                       errors=errors)

    @app.errorhandler(JWTExtendedException)
    @app.errorhandler(PyJWTError)
    def _token(error: Exception) -> Response:
        return domain_problem(Unauthenticated(token_error_detail(error)))

    # flask-jwt-extended registers its own plain-JSON handler (401, or 422 for a malformed
    # or wrong-type token) for each of its exact exception classes, and an exact-class
    # handler wins over ours for the base classes: take each of them over.
    for token_error in _subclasses(JWTExtendedException) | _subclasses(PyJWTError):
        app.register_error_handler(token_error, _token)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        if isinstance(error, HTTPException):
            return http_problem(error)
        log.exception("unhandled error")
        return problem(500, _DEFAULT_DETAIL[500])


def _subclasses(cls: type[Exception]) -> set[type[Exception]]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def token_error_detail(error: Exception) -> str:
    name = type(error).__name__
    if name == "NoAuthorizationError":
        return "send an access token: Authorization: Bearer <token>"
    if name == "ExpiredSignatureError":
        return "the token has expired: refresh it or sign in again"
    if name == "WrongTokenError":
        return str(error) or "wrong kind of token for this endpoint"
    return f"the token is invalid ({error}): sign in again"
