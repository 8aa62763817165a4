"""Authenticating a request: verify the access token (flask-jwt-extended: pinned
algorithm, issuer, audience, expiry, token type), then re-check membership and sign-in
state in PostgreSQL, then scope the request's session to the token's tenant.

A token's signature and claims are verified once per worker: the exact Authorization
header that passed is remembered (per app, bounded) with its claims, and later requests
carrying the same header only re-check the expiry. Revocation is not part of what is
remembered — the membership and sign-in check runs on every request."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, NamedTuple, TypeVar

from flask import Flask, current_app, g, request
from flask_jwt_extended import get_jwt, verify_jwt_in_request
from flask_jwt_extended.config import config as jwt_config
from flask_jwt_extended.default_callbacks import (
    default_blocklist_callback,
    default_token_verification_callback,
)

from smbfinance.auth import api_key_service as api_keys
from smbfinance.auth import profile, tokens
from smbfinance.auth import scopes as key_scopes
from smbfinance.auth import service as auth_service
from smbfinance.auth.models import Role
from smbfinance.auth.permissions import Actor
from smbfinance.db import utcnow
from smbfinance.errors import DomainError, Forbidden, Unauthenticated
from smbfinance.extensions import db
from smbfinance.logs import bind_log_context
from smbfinance.tenancy import PUBLIC, Scope, set_scope
from smbfinance.web import auth_cache

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


class _Verified(NamedTuple):
    header: dict[str, Any]
    claims: dict[str, Any]
    expires: float


_VERIFIED_KEY = "smbfinance.verified_access_tokens"
_VERIFIED_MAX = 4096


def _verified_tokens() -> dict[str, _Verified]:
    return current_app.extensions.setdefault(_VERIFIED_KEY, {})  # type: ignore[no-any-return]


def _plain_verification() -> bool:
    """True while no JWTManager callback could make a verified token fail later (a
    blocklist or custom check, a user lookup): only then is remembering it safe."""
    manager = current_app.extensions["flask-jwt-extended"]
    return (manager._token_in_blocklist_callback is default_blocklist_callback
            and manager._token_verification_callback is default_token_verification_callback
            and manager._user_lookup_callback is None)


def _verify_access_token(optional: bool) -> bool:
    """verify_jwt_in_request(optional=optional), without decoding a token again that this
    worker verified already (two PyJWT decodes and two header parses per request)."""
    authorization = request.headers.get(jwt_config.header_name)
    if not authorization or request.method in jwt_config.exempt_methods:
        return verify_jwt_in_request(optional=optional) is not None
    verified = _verified_tokens()
    known = verified.get(authorization)
    # PyJWT refuses a token once exp <= now - leeway; everything else it checked (signature,
    # issuer, audience, type, nbf, iat) cannot change for the same bytes.
    if known is not None and known.expires > time.time() - jwt_config.leeway:
        g._jwt_extended_jwt_user = None  # what _load_user gives without a user lookup
        g._jwt_extended_jwt_header = dict(known.header)
        g._jwt_extended_jwt = dict(known.claims)
        g._jwt_extended_jwt_location = "headers"
        return True
    verified.pop(authorization, None)
    result = verify_jwt_in_request(optional=optional)
    if result is None:
        return False
    header, claims = result
    expires = claims.get("exp")
    if isinstance(expires, int | float) and _plain_verification() and \
            g.get("_jwt_extended_jwt_location") == "headers":
        if len(verified) >= _VERIFIED_MAX:
            verified.pop(next(iter(verified)), None)  # the oldest
        verified[authorization] = _Verified(dict(header), dict(claims), float(expires))
    return True


def authenticate_request(*, optional: bool = False) -> Actor | None:
    """The Actor of this request, or None when `optional` and no token was sent."""
    if "actor" in g:
        return g.actor  # type: ignore[no-any-return]
    key = _api_key()
    if key is not None:
        return _authenticate_key(key)
    if not _verify_access_token(optional):
        set_scope(db.session, PUBLIC)
        return None
    ids = tokens.parse_ids(get_jwt())
    set_scope(db.session, Scope(tenant_id=ids.tenant_id))
    try:
        actor = _check_sign_in(ids)
    except DomainError:
        # Never leave an unverified tenant on the session (GraphQL goes on without actor).
        db.session.rollback()
        set_scope(db.session, PUBLIC)
        raise
    bind_log_context(tenant_id=actor.tenant_id)
    g.actor = actor
    return actor


def _check_sign_in(ids: tokens.RefreshClaims) -> Actor:
    """auth_service.authenticate (membership and sign-in still valid, tenant profile),
    answered from memory while the tenant's auth epoch is unchanged (ADR 0019)."""
    session = db.session
    remembered = auth_cache.recall(ids.tenant_id, ids.user_id, ids.family_id)
    if remembered is not None:
        real = session()
        if not real.in_transaction():
            real.begin()  # the profile is remembered for this request's transaction
        profile.remember(session, remembered.profile)
        return Actor(user_id=ids.user_id, tenant_id=ids.tenant_id,
                     role=Role(remembered.role), family_id=ids.family_id)
    epochs = auth_cache.current_epochs(ids.tenant_id)  # read before PostgreSQL answers
    if epochs is not None:
        checked_at = time.time()
        try:
            # Valid for the whole time it may be remembered, or not remembered at all.
            actor = auth_service.authenticate(
                session=session, user_id=ids.user_id, tenant_id=ids.tenant_id,
                family_id=ids.family_id, now=utcnow() + auth_cache.TTL)
        except Unauthenticated:
            pass
        else:
            known = profile.tenant_profile(session, ids.tenant_id)
            if known is not None:
                auth_cache.remember(ids.tenant_id, ids.user_id, ids.family_id,
                                    role=actor.role.value, profile=known, epochs=epochs,
                                    checked_at=checked_at)
            return actor
    return auth_service.authenticate(session=session, user_id=ids.user_id,
                                     tenant_id=ids.tenant_id, family_id=ids.family_id)


def _api_key() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and api_keys.looks_like_key(token) else None


def _authenticate_key(token: str) -> Actor:
    """A partner's API key: scoped to its company, then checked against the route's scope
    (auth/scopes.py); routes without a resource are for people only."""
    set_scope(db.session, Scope(tenant_id=api_keys.tenant_of(token)))
    try:
        actor = api_keys.authenticate(session=db.session, token=token)
    except DomainError:
        db.session.rollback()
        set_scope(db.session, PUBLIC)
        raise
    needed = key_scopes.required_scope(request.blueprint, request.method)
    if needed is None:
        raise Forbidden("API keys cannot use this route: a person signs in for it")
    if not key_scopes.allows(actor.scopes, needed):
        raise Forbidden(f"this API key lacks the {needed} scope")
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
