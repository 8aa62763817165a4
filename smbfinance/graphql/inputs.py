"""From strawberry inputs to what services take, and from domain errors to what GraphQL
callers see.

Inputs are loaded with the same marshmallow schemas as REST, so validation is identical;
field names in errors are given back as the GraphQL input names them (`lines.0.unitPrice`,
`dueDate`, `first` for the REST `limit`)."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import strawberry
from marshmallow import Schema, ValidationError

from smbfinance.errors import DomainError, FieldError, Invalid, NotFound
from smbfinance.graphql.errors import DomainGraphQLError, UserError

T = TypeVar("T")

# REST list arguments and their GraphQL names.
RENAMES = {"limit": "first", "starting_after": "after"}


# ------------------------------------------------------------------ names

def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def snake(name: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in name)


def field_name(path: str | None, renames: Mapping[str, str] = RENAMES) -> str | None:
    """`lines.0.unit_price` → `lines.0.unitPrice`; `limit` → `first`."""
    if path is None:
        return None
    return ".".join(renames.get(part, camel(part)) for part in path.split("."))


# ------------------------------------------------------------------ inputs

def plain(value: Any) -> Any:
    """A strawberry input (or a list of them) as JSON-like data with snake_case keys, as a
    REST body would arrive: fields never given are left out, explicit nulls kept."""
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if hasattr(value, "__strawberry_definition__"):
        return {key: plain(item) for key, item in vars(value).items()
                if item is not strawberry.UNSET}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def given(**arguments: Any) -> dict[str, Any]:
    """Query arguments that were given (not null), as plain values keyed as in REST."""
    return {key: plain(value) for key, value in arguments.items() if value is not None}


def load(schema: Schema, data: Mapping[str, Any]) -> dict[str, Any]:
    """Load with a REST schema; a ValidationError becomes Invalid with dotted fields."""
    from smbfinance.web.problems import flatten_messages

    try:
        return dict(schema.load(data))
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {
            "_schema": error.messages}
        errors = [FieldError(e["field"], e["message"]) for e in flatten_messages(messages)]
        raise Invalid("; ".join(f"{e.field}: {e.message}" for e in errors),
                      errors=errors) from None


# ------------------------------------------------------------------ errors

def payload_errors(error: DomainError, renames: Mapping[str, str] = RENAMES) -> list[UserError]:
    """A domain error as mutation payload errors (code as the service gives it)."""
    if error.errors:
        return [UserError(field=field_name(e.field, renames), code=e.code, message=e.message)
                for e in error.errors]
    extra_field = error.extra.get("field")
    return [UserError(field=field_name(extra_field, renames) if isinstance(extra_field, str)
                      else None, code=error.code, message=error.detail)]


def attempt(action: Callable[[], T]) -> tuple[T | None, list[UserError]]:
    """Run a mutation's use case: (result, []) or (None, payload errors)."""
    try:
        return action(), []
    except DomainError as error:
        return None, payload_errors(error)


def with_graphql_fields(error: DomainError, renames: Mapping[str, str] = RENAMES) -> DomainError:
    """The error, its field names now spelled as in GraphQL (errors are raised afresh for
    each call, so renaming in place is safe)."""
    if error.errors:
        error.errors = [FieldError(field_name(e.field, renames) or e.field, e.message, e.code)
                        for e in error.errors]
        error.detail = "; ".join(f"{e.field}: {e.message}" for e in error.errors)
    return error


@contextmanager
def graphql_errors(renames: Mapping[str, str] = RENAMES) -> Iterator[None]:
    """In a query resolver: a domain error becomes a coded GraphQL error."""
    try:
        yield
    except DomainError as error:
        raise DomainGraphQLError(with_graphql_fields(error, renames)) from error


def fetch_or_none(action: Callable[[], T]) -> T | None:
    """A single-object read: not found (or another tenant's) → None; other domain errors
    → coded GraphQL errors."""
    try:
        with graphql_errors():
            return action()
    except DomainGraphQLError as error:
        if isinstance(error.original_error, NotFound):
            return None
        raise
