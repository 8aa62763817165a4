"""Authenticating a request: verify the access token (flask-jwt-extended: pinned
algorithm, issuer, audience, expiry, token type), then re-check membership and sign-in
state in PostgreSQL, then scope the request's session to the token's tenant."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, current_app, g
from flask_jwt_extended import get_jwt, verify_jwt_in_request

from smbfinance.auth import service as auth_service
from smbfinance.auth import tokens
from smbfinance.auth.permissions import Actor
from smbfinance.errors import DomainError, Unauthenticated
from smbfinance.extensions import db
from smbfinance.logs import bind_log_context
from smbfinance.tenancy import PUBLIC, Scope, set_scope

F = TypeVar("F", bound=Callable[..., Any])


def token_settings(app: Flask | None = None) -> tokens.TokenSettings:
    config = (app or current_app).config
    return tokens.TokenSettings(
        secret=config["JWT_SECRET_KEY"],
        algorithm=config["JWT_ALGORITHM"],
        issuer=config["JWT_ISSUER"],
        audience=config["JWT_AUDIENCE"],
        access_ttl=config["JWT_ACCESS_TOKEN_EXPIRES"],
        refresh_ttl=config["JWT_REFRESH_TOKEN_EXPIRES"],
    )


def authenticate_request(*, optional: bool = False) -> Actor | None:
    """The Actor of this request, or None when `optional` and no token was sent."""
    if "actor" in g:
        return g.actor  # type: ignore[no-any-return]
    result = verify_jwt_in_request(optional=optional)
    if result is None:
        set_scope(db.session, PUBLIC)
        return None
    ids = tokens.parse_ids(get_jwt())
    set_scope(db.session, Scope(tenant_id=ids.tenant_id))
    try:
        actor = auth_service.authenticate(
            session=db.session, user_id=ids.user_id, tenant_id=ids.tenant_id,
            family_id=ids.family_id,
        )
    except DomainError:
        # Never leave an unverified tenant on the session (GraphQL goes on without actor).
        db.session.rollback()
        set_scope(db.session, PUBLIC)
        raise
    bind_log_context(tenant_id=actor.tenant_id)
    g.actor = actor
    return actor


def current_actor() -> Actor:
    actor = authenticate_request()
    if actor is None:
        raise Unauthenticated("send an access token: Authorization: Bearer <token>")
    return actor


def refresh_claims() -> dict[str, Any]:
    """Claims of a verified refresh token (type enforced: an access token is refused)."""
    verify_jwt_in_request(refresh=True)
    return get_jwt()


def public_request() -> None:
    """Mark this request as deliberately tenant-less (sign-up, sign-in, health)."""
    set_scope(db.session, PUBLIC)


def login_required(fn: F) -> F:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        current_actor()
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
