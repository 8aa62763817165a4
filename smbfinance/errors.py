"""Domain errors raised by services. Each door maps them: REST to problem+json, GraphQL
to payload errors. Services never know about HTTP status codes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    code: str = "invalid"


class DomainError(Exception):
    code = "error"
    title = "Error"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra or {}


class Invalid(DomainError):
    code = "invalid"
    title = "Validation failed"

    @classmethod
    def field(cls, name: str, message: str, code: str = "invalid") -> Invalid:
        return cls(f"{name}: {message}", errors=[FieldError(name, message, code)])


class NotFound(DomainError):
    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    code = "conflict"
    title = "Conflict"


class Forbidden(DomainError):
    code = "forbidden"
    title = "Forbidden"


class Unauthenticated(DomainError):
    code = "unauthenticated"
    title = "Authentication required"


class PreconditionFailed(DomainError):
    code = "precondition_failed"
    title = "Precondition failed"


class Unavailable(DomainError):
    """The request could not be completed now, through no fault of its input, and nothing
    was written: trying again may work."""

    code = "unavailable"
    title = "Service unavailable"


@dataclass
class ErrorList:
    """Collects field errors while validating, then raises them together."""

    errors: list[FieldError] = field(default_factory=list)

    def add(self, name: str, message: str, code: str = "invalid") -> None:
        self.errors.append(FieldError(name, message, code))

    def raise_if_any(self) -> None:
        if self.errors:
            summary = "; ".join(f"{e.field}: {e.message}" for e in self.errors)
            raise Invalid(summary, errors=list(self.errors))
