"""POST/GET /graphql. GraphiQL only when configured (development)."""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, Response
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import PyJWTError
from strawberry.flask.views import GraphQLView

from smbfinance.errors import DomainError, Unauthenticated
from smbfinance.extensions import db
from smbfinance.graphql.context import Context
from smbfinance.graphql.schema import build_schema
from smbfinance.web.auth import authenticate_request
from smbfinance.web.problems import token_error_detail


class SmbGraphQLView(GraphQLView):
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
