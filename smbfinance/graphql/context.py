"""Per-request GraphQL context: the actor (when a valid token came), the session."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session
from strawberry.types import Info

from smbfinance.auth.permissions import Actor
from smbfinance.errors import DomainError, Unauthenticated
from smbfinance.graphql.errors import DomainGraphQLError
from smbfinance.graphql.loaders import FACTORIES


@dataclass
class Context:
    session: Session
    actor: Actor | None
    auth_error: DomainError | None = None
    loaders: dict[str, Any] = field(default_factory=dict)

    def loader(self, name: str) -> Any:
        """The request's batching loader `name` (graphql/loaders.py), created on first use."""
        if name not in self.loaders:
            self.loaders[name] = FACTORIES[name](self)
        return self.loaders[name]

    def require_actor(self) -> Actor:
        if self.actor is None:
            raise DomainGraphQLError(
                self.auth_error
                or Unauthenticated("send an access token: Authorization: Bearer <token>")
            )
        return self.actor


def actor_of(info: Info) -> Actor:
    return info.context.require_actor()  # type: ignore[no-any-return]
