"""JWT issuing and decoding, independent of Flask.

Claims follow flask-jwt-extended's layout (`sub`, `type`, `jti`, `fresh`) so that the REST
door verifies access tokens with it, while the service layer issues and rotates them here.
`tid` is the tenant, `fam` the refresh-token family the token belongs to.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from smbfinance.errors import Unauthenticated


@dataclass(frozen=True)
class TokenSettings:
    secret: str
    algorithm: str
    issuer: str
    audience: str
    access_ttl: timedelta
    refresh_ttl: timedelta


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime
    expires_in: int
    token_type: str = "Bearer"


@dataclass(frozen=True)
class RefreshClaims:
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    family_id: uuid.UUID
    jti: uuid.UUID


def _encode(settings: TokenSettings, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, settings.secret, algorithm=settings.algorithm)


def issue_pair(
    settings: TokenSettings,
    *,
    user_id: uuid.UUID,
    tenant_id: uuid.UUID,
    family_id: uuid.UUID,
    refresh_jti: uuid.UUID,
    now: datetime,
) -> TokenPair:
    base = {
        "sub": str(user_id),
        "tid": str(tenant_id),
        "fam": str(family_id),
        "iss": settings.issuer,
        "aud": settings.audience,
        "iat": now,
        "nbf": now,
        "fresh": False,
    }
    access_exp = now + settings.access_ttl
    refresh_exp = now + settings.refresh_ttl
    access = _encode(
        settings, {**base, "type": "access", "jti": str(uuid.uuid4()), "exp": access_exp}
    )
    refresh = _encode(
        settings, {**base, "type": "refresh", "jti": str(refresh_jti), "exp": refresh_exp}
    )
    return TokenPair(access, refresh, access_exp, refresh_exp,
                     expires_in=int(settings.access_ttl.total_seconds()))


def decode(settings: TokenSettings, token: str, *, expected_type: str) -> dict[str, Any]:
    """Verify signature, pinned algorithm, issuer, audience, expiry and token type."""
    try:
        claims = jwt.decode(
            token,
            settings.secret,
            algorithms=[settings.algorithm],
            issuer=settings.issuer,
            audience=settings.audience,
            options={"require": ["exp", "iat", "sub", "jti", "type", "tid", "fam"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the token has expired") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(f"the token is invalid ({exc})") from None
    if claims.get("type") != expected_type:
        raise Unauthenticated(f"a {expected_type} token is required")
    return claims


def parse_ids(claims: dict[str, Any]) -> RefreshClaims:
    try:
        return RefreshClaims(
            user_id=uuid.UUID(claims["sub"]),
            tenant_id=uuid.UUID(claims["tid"]),
            family_id=uuid.UUID(claims["fam"]),
            jti=uuid.UUID(claims["jti"]),
        )
    except (KeyError, ValueError, TypeError):
        raise Unauthenticated("the token's claims are malformed") from None
