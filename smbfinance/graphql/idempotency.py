"""Idempotency-Key on GraphQL mutations (ADR 0045): a mobile app retrying a mutation over a
flaky network gets the first response again instead of a second invoice or payment.

The REST door's rules and storage (smbfinance/web/idempotency.py), keyed on the same
request fingerprint (the POSTed document, variables and operation name):
- only a POST whose operation is a mutation is keyed, and only for a signed-in caller (a
  key belongs to a company); a query, or a caller without a company, runs as if no key
  was sent;
- the response is kept when the operation ran (`data` is not null), errors in payloads
  included, and replayed with `Idempotent-Replayed: true`; a request that failed as a
  whole (invalid document, not signed in, an unexpected error) is not kept, so a retry
  runs again;
- a mutation that shows a secret once (SECRET_MUTATIONS) is kept sealed with the key ring,
  as on REST;
- refusals are typed errors (`extensions.code`, `extensions.field: "Idempotency-Key"`),
  HTTP 200 like every GraphQL error, with `Retry-After` while the first still runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from flask import Response, current_app, jsonify, make_response, request
from flask_jwt_extended.exceptions import JWTExtendedException
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse
from jwt import PyJWTError

from smbfinance.errors import DomainError
from smbfinance.web import idempotency
from smbfinance.web.auth import authenticate_request

# Mutations whose payload carries a secret shown once (kept sealed, never in clear).
SECRET_MUTATIONS = frozenset({"webhookEndpointCreate", "webhookEndpointRotateSecret"})


def mutation_fields(body: Any) -> frozenset[str] | None:
    """The root fields of the operation a POSTed body runs, when it is a mutation; None for
    anything else (a query, or a document that does not parse: GraphQL reports that)."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return None
    try:
        document = parse(body["query"], max_tokens=current_app.config["GRAPHQL_MAX_TOKENS"])
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    name = body.get("operationName")
    if name:
        operations = [o for o in operations if o.name is not None and o.name.value == name]
    if len(operations) != 1 or operations[0].operation != OperationType.MUTATION:
        return None
    # A fragment spread at the root hides its fields: the empty name makes it sealed.
    return frozenset(s.name.value if isinstance(s, FieldNode) else ""
                     for s in operations[0].selection_set.selections)


def _sealed(fields: frozenset[str]) -> bool:
    return bool(fields & SECRET_MUTATIONS) or "" in fields


def refusal(refused: idempotency.Refusal) -> Response:
    response = jsonify({"data": None, "errors": [{
        "message": refused.message,
        "extensions": {"code": refused.code, "field": idempotency.HEADER}}]})
    if refused.retry_after:
        response.headers["Retry-After"] = refused.retry_after
    return response


def _ran(response: Response) -> bool:
    if response.status_code >= 500:
        return False
    try:
        body = orjson.loads(response.get_data())
    except orjson.JSONDecodeError:
        return False
    return isinstance(body, dict) and body.get("data") is not None


def dispatch(view: Callable[[], Any]) -> Response:
    """Run a GraphQL POST, once per Idempotency-Key when it is a signed-in mutation."""

    def run() -> Response:
        return make_response(view())

    key = request.headers.get(idempotency.HEADER)
    if key is None or request.method != "POST":
        return run()
    fields = mutation_fields(request.get_json(silent=True))
    if fields is None:
        return run()
    if not idempotency.valid_key(key):
        return refusal(idempotency.INVALID_KEY)
    try:
        actor = authenticate_request(optional=True)
    except (DomainError, JWTExtendedException, PyJWTError):
        return run()  # the context reports the sign-in problem as a typed error
    if actor is None:
        return run()
    return idempotency.run_keyed(key=key, tenant_id=actor.tenant_id, run=run,
                                 sealed=_sealed(fields), keep=_ran, refuse=refusal)
