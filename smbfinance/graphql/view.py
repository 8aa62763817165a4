"""POST/GET /graphql. GraphiQL only when configured (development)."""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, Response, jsonify
from flask import request as flask_request
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import PyJWTError
from strawberry.flask.views import GraphQLView

from smbfinance.errors import DomainError, Unauthenticated
from smbfinance.extensions import db
from smbfinance.graphql import idempotency
from smbfinance.graphql.context import Context
from smbfinance.graphql.schema import build_schema
from smbfinance.web.api import nul_field
from smbfinance.web.auth import authenticate_request
from smbfinance.web.problems import token_error_detail


class SmbGraphQLView(GraphQLView):
    def dispatch_request(self) -> Any:
        # PostgreSQL text cannot hold NUL: refuse it up front as a typed error naming where
        # it was, as the REST door does, instead of an unexpected error later.
        body = flask_request.get_json(silent=True) if flask_request.is_json else None
        field = nul_field(body) if isinstance(body, dict) else None
        if field is None:
            field = next((f"query:{key}" for key, value in flask_request.args.items(multi=True)
                          if "\x00" in key or "\x00" in value), None)
        if field is not None:
            message = f"{field}: must not contain NUL (\\u0000) characters"
            return jsonify({"data": None, "errors": [{
                "message": message, "extensions": {"code": "INVALID", "field": field}}]})
        return idempotency.dispatch(super().dispatch_request)

    def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        try:
            actor = authenticate_request(optional=True)
            return Context(session=db.session, actor=actor)
        except DomainError as error:
            return Context(session=db.session, actor=None, auth_error=error)
        except (JWTExtendedException, PyJWTError) as error:
            return Context(session=db.session, actor=None,
                           auth_error=Unauthenticated(token_error_detail(error)))


def register_graphql(app: Flask) -> None:
    config = app.config
    schema = build_schema(
        max_depth=config["GRAPHQL_MAX_DEPTH"],
        max_aliases=config["GRAPHQL_MAX_ALIASES"],
        max_tokens=config["GRAPHQL_MAX_TOKENS"],
        mask_errors=config["GRAPHQL_MASK_ERRORS"],
    )
    app.extensions["graphql_schema"] = schema
    view: Any = SmbGraphQLView.as_view(
        "graphql", schema=schema, graphql_ide="graphiql" if config["GRAPHIQL"] else None,
        allow_queries_via_get=True,
    )
    app.add_url_rule("/graphql", view_func=view, methods=["GET", "POST"])
