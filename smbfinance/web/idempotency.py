"""Idempotency-Key on POST (Stripe's semantics).

- Same key, same request → the first response is replayed (`Idempotent-Replayed: true`).
- Same key, different request → 422. A retry while the first is still running → 409.
- Keys are scoped per tenant (RLS) and kept 24 hours. 5xx responses are not stored, so a
  retry after a server error runs again.
- A success that carries a secret shown once (`@idempotent(sealed=True)`: a new API key, a
  webhook signing secret) is stored sealed with the key ring (INTEGRATION_ENCRYPTION_KEYS),
  bound to its tenant and key, never in clear (ADR 0044). Without a usable key ring, or
  once the key that sealed it is gone, it is not replayed: a retry gets a 409 that says so.
- Expired keys are purged daily (`purge_expired`, through a cross-tenant definer function).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Response, current_app, make_response, request
from sqlalchemy import text
from sqlalchemy.orm import Session

from smbfinance.db import utcnow
from smbfinance.errors import DomainError
from smbfinance.extensions import db
from smbfinance.integrations.secrets import SecretBox, SecretError
from smbfinance.tenancy import dangerously_unscoped
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
    "       response_sealed = false,"
    "       created_at = now(), expires_at = EXCLUDED.expires_at"
    "   WHERE idempotency_keys.expires_at <= now()"
    " RETURNING key"
)
_EXISTING = text(
    "SELECT method, path, request_sha256, state, response_status, response_body,"
    " response_headers, response_sealed FROM idempotency_keys WHERE key = :key"
)
_COMPLETE = text(
    "UPDATE idempotency_keys SET state = 'done', response_status = :status,"
    " response_body = :body, response_headers = CAST(:headers AS jsonb),"
    " response_sealed = :sealed WHERE key = :key"
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


def _key_ring() -> SecretBox | None:
    """The ring, or None when it is not configured or cannot be read (the response is then
    not kept, which a retry is told: never a 500 after the view has committed)."""
    keys = current_app.config.get("INTEGRATION_ENCRYPTION_KEYS")
    try:
        return SecretBox.from_config(keys) if keys else None
    except SecretError:
        return None


def _seal_context(tenant_id: Any, key: str) -> str:
    # Bound to the tenant and the key: a sealed body copied to another row does not open.
    return f"idempotency-response:{tenant_id}:{key}"


@dataclass(frozen=True)
class Refusal:
    """Why a keyed request is not run (or not replayed): each door words it its own way."""
    status: int  # the REST status
    code: str  # the GraphQL error code
    message: str
    field_message: str
    retry_after: str | None = None


INVALID_KEY = Refusal(422, "INVALID", "Idempotency-Key must be 1-255 printable characters",
                      "1-255 printable characters")
REUSED = Refusal(422, "IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with a "
                 "different request: use a new key for a new request",
                 "reused with a different request")
IN_PROGRESS = Refusal(409, "IDEMPOTENCY_KEY_IN_USE", "a request with this Idempotency-Key is "
                      "still being processed: retry in a moment", "still being processed",
                      retry_after="1")
NOT_KEPT = Refusal(409, "IDEMPOTENCY_RESPONSE_NOT_KEPT", "the request with this "
                   "Idempotency-Key succeeded, but its response held a secret that is shown "
                   "once and could not be kept to replay: list the resources to find what was "
                   "created, and revoke it and create another if you lost the secret",
                   "response not kept")


def problem_refusal(refusal: Refusal) -> Response:
    """A refusal on the REST door: problem+json naming the header."""
    headers = {"Retry-After": refusal.retry_after} if refusal.retry_after else None
    return problem(refusal.status, refusal.message, headers=headers,
                   errors=[{"field": HEADER, "message": refusal.field_message}])


def valid_key(key: str) -> bool:
    return 1 <= len(key) <= 255 and key.isprintable()


def run_keyed(*, key: str, tenant_id: Any, run: Callable[[], Response], sealed: bool,
              keep: Callable[[Response], bool], refuse: Callable[[Refusal], Response]
              ) -> Response:
    """Run `run` once per (tenant, key) and request: claim the key, run, keep the response
    when `keep` says so (else release the key, so a retry runs again), replay it to a retry
    with the same request, and refuse the rest through `refuse`."""
    sha = _fingerprint()
    session = db.session
    claimed = session.execute(_CLAIM, {
        "key": key, "method": request.method, "path": request.path, "sha": sha,
        "expires": utcnow() + TTL}).scalar_one_or_none()
    if claimed is None:
        existing = session.execute(_EXISTING, {"key": key}).one()
        session.commit()
        return _replay_or_refuse(existing, sha, _seal_context(tenant_id, key), refuse)
    session.commit()
    ring = _key_ring() if sealed else None  # read before the view commits anything
    try:
        response = run()
    except BaseException:
        session.rollback()
        session.execute(_RELEASE, {"key": key})
        session.commit()
        raise
    if not keep(response):
        session.execute(_RELEASE, {"key": key})
    else:
        headers = {h: response.headers[h] for h in _KEPT_HEADERS if h in response.headers}
        body: bytes | None = response.get_data()
        # Only a success carries the secret; a refusal is kept in clear and replayed.
        seal = sealed and 200 <= response.status_code < 300
        if seal:
            body = None if ring is None else ring.encrypt(
                response.get_data(as_text=True),
                context=_seal_context(tenant_id, key)).encode("ascii")
        session.execute(_COMPLETE, {
            "key": key, "status": response.status_code, "body": body,
            "headers": json.dumps(headers), "sealed": seal})
    session.commit()
    return response


def idempotent(view: F | None = None, *, sealed: bool = False) -> Any:
    """`@idempotent`, or `@idempotent(sealed=True)` on a view whose response carries a secret
    shown once. Sits above `@blp.response` (it stores the serialised response)."""
    if view is None:
        return lambda inner: idempotent(inner, sealed=sealed)

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not valid_key(key):
            return problem_refusal(INVALID_KEY)
        tenant_id = current_actor().tenant_id  # the key lives in the caller's tenant

        def run() -> Response:
            try:
                return make_response(view(*args, **kwargs))
            except DomainError as error:
                return domain_problem(error)

        return run_keyed(key=key, tenant_id=tenant_id, run=run, sealed=sealed,
                         keep=lambda response: response.status_code < 500,
                         refuse=problem_refusal)

    wrapper.idempotency = "sealed" if sealed else "plain"  # type: ignore[attr-defined]
    return wrapper


def _replay_or_refuse(existing: Any, sha: str, context: str,
                      refuse: Callable[[Refusal], Response]) -> Response:
    if existing.request_sha256 != sha:
        return refuse(REUSED)
    if existing.state == "running":
        return refuse(IN_PROGRESS)
    body = existing.response_body
    if existing.response_sealed:
        ring = _key_ring()
        try:
            if body is None or ring is None:
                raise SecretError("not kept")
            body = ring.decrypt(bytes(body).decode("ascii"), context=context)
        except SecretError:
            return refuse(NOT_KEPT)
    response = Response(body, status=existing.response_status)
    for name, value in (existing.response_headers or {}).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def purge_expired(*, session: Session, now: datetime) -> int:
    """Delete every company's keys that expired before `now` (their stored responses with
    them): the daily task's body."""
    with dangerously_unscoped(session, reason="idempotency key retention across tenants"):
        removed = session.execute(text("SELECT cross_tenant_purge_idempotency_keys(:before)"),
                                  {"before": now}).scalar_one()
        session.commit()
    return int(removed)
