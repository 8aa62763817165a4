"""Idempotency-Key on POST (Stripe's semantics).

- Same key, same request → the first response is replayed (`Idempotent-Replayed: true`).
- Same key, different request → 422. A retry while the first is still running → 409.
- Keys are scoped per tenant (RLS) and kept 24 hours. 5xx responses are not stored, so a
  retry after a server error runs again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Response, make_response, request
from sqlalchemy import text

from smbfinance.db import utcnow
from smbfinance.errors import DomainError
from smbfinance.extensions import db
from smbfinance.web.auth import current_actor
from smbfinance.web.problems import domain_problem, problem

HEADER = "Idempotency-Key"
TTL = timedelta(hours=24)
F = TypeVar("F", bound=Callable[..., Any])

_CLAIM = text(
    "INSERT INTO idempotency_keys (key, method, path, request_sha256, state, expires_at)"
    " VALUES (:key, :method, :path, :sha, 'running', :expires)"
    " ON CONFLICT (tenant_id, key) DO UPDATE"
    "   SET method = EXCLUDED.method, path = EXCLUDED.path,"
    "       request_sha256 = EXCLUDED.request_sha256, state = 'running',"
    "       response_status = NULL, response_body = NULL, response_headers = NULL,"
    "       created_at = now(), expires_at = EXCLUDED.expires_at"
    "   WHERE idempotency_keys.expires_at <= now()"
    " RETURNING key"
)
_EXISTING = text(
    "SELECT method, path, request_sha256, state, response_status, response_body,"
    " response_headers FROM idempotency_keys WHERE key = :key"
)
_COMPLETE = text(
    "UPDATE idempotency_keys SET state = 'done', response_status = :status,"
    " response_body = :body, response_headers = CAST(:headers AS jsonb) WHERE key = :key"
)
_RELEASE = text("DELETE FROM idempotency_keys WHERE key = :key AND state = 'running'")
_KEPT_HEADERS = ("Content-Type", "ETag", "Location")


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.query_string.decode("latin-1")):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def idempotent(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not 1 <= len(key) <= 255 or not key.isprintable():
            return problem(422, "Idempotency-Key must be 1-255 printable characters",
                           errors=[{"field": HEADER, "message": "1-255 printable characters"}])
        current_actor()  # the key lives in the caller's tenant
        sha = _fingerprint()
        session = db.session
        claimed = session.execute(_CLAIM, {
            "key": key, "method": request.method, "path": request.path, "sha": sha,
            "expires": utcnow() + TTL}).scalar_one_or_none()
        if claimed is None:
            existing = session.execute(_EXISTING, {"key": key}).one()
            session.commit()
            return _replay_or_refuse(existing, sha)
        session.commit()
        try:
            response = make_response(view(*args, **kwargs))
        except DomainError as error:
            response = domain_problem(error)
        except BaseException:
            session.rollback()
            session.execute(_RELEASE, {"key": key})
            session.commit()
            raise
        if response.status_code >= 500:
            session.execute(_RELEASE, {"key": key})
        else:
            headers = {h: response.headers[h] for h in _KEPT_HEADERS if h in response.headers}
            session.execute(_COMPLETE, {
                "key": key, "status": response.status_code, "body": response.get_data(),
                "headers": json.dumps(headers)})
        session.commit()
        return response

    return wrapper  # type: ignore[return-value]


def _replay_or_refuse(existing: Any, sha: str) -> Response:
    if existing.request_sha256 != sha:
        return problem(422, "this Idempotency-Key was used with a different request: use a new "
                            "key for a new request",
                       errors=[{"field": HEADER, "message": "reused with a different request"}])
    if existing.state == "running":
        return problem(409, "a request with this Idempotency-Key is still being processed: "
                            "retry in a moment", headers={"Retry-After": "1"})
    response = Response(existing.response_body, status=existing.response_status)
    for name, value in (existing.response_headers or {}).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response
