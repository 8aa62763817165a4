"""Typed GraphQL errors: payload errors for mutations, coded errors for queries, and a
mask that hides only the unexpected."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError

from smbfinance.errors import DomainError, Invalid


@strawberry.type(description="A problem with the input or the request, for one field.")
class UserError:
    field: str | None = strawberry.field(description="Dotted path of the input field, if any")
    code: str
    message: str


def user_errors(error: DomainError) -> list[UserError]:
    if error.errors:
        return [UserError(field=e.field, code=e.code, message=e.message) for e in error.errors]
    field = error.extra.get("field") if isinstance(error.extra.get("field"), str) else None
    return [UserError(field=field, code=error.code, message=error.detail)]


def validation_user_errors(messages: dict[str, object]) -> list[UserError]:
    from smbfinance.web.problems import flatten_messages

    return [UserError(field=e["field"], code="invalid", message=e["message"])
            for e in flatten_messages(messages)]


class DomainGraphQLError(GraphQLError):
    """A domain error raised from a query resolver, with a machine-readable code."""

    def __init__(self, error: DomainError) -> None:
        extensions: dict[str, object] = {"code": error.code.upper()}
        if error.errors:
            extensions["fields"] = [
                {"field": e.field, "code": e.code, "message": e.message} for e in error.errors
            ]
        super().__init__(error.detail, extensions=extensions, original_error=error)


def should_mask_error(error: GraphQLError) -> bool:
    """Mask only unexpected exceptions. Validation errors (depth, aliases, tokens, unknown
    fields) have no original error; domain errors are meant for the caller."""
    original = error.original_error
    if original is None:
        return False
    if isinstance(original, DomainGraphQLError | DomainError | Invalid):
        return False
    if isinstance(original, GraphQLError):
        return should_mask_error(original)
    return True
