"""Verify Ponto webhook deliveries: a JWT (RS512) in the `Signature` header whose key comes
from Ponto's JWKS (`/webhooks/keys`), with `aud` (our application id), `iss`, `iat`/`exp`
checked against our clock with 30 s tolerance, a `digest` claim equal to
base64(SHA-512(raw body)), and each delivery accepted once (replay guard keyed on `jti`).

Every refusal raises `WebhookRejected` with a short reason code and is counted in
`refused`, so forged, stale and replayed deliveries show up in metrics and logs without
their content.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import jwt

from smbfinance.integrations.providers.errors import MalformedResponse
from smbfinance.integrations.providers.http import HttpClient, HttpResponse

HEADER = "Signature"
ALGORITHM = "RS512"
LEEWAY = timedelta(seconds=30)
MAX_LIFETIME = timedelta(minutes=5)  # a signature valid for longer is not a delivery's
KEY_REFETCH_INTERVAL = timedelta(minutes=5)


class WebhookRejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    created_at: datetime | None
    account_id: str | None
    organization_id: str | None
    attributes: dict[str, Any] = field(default_factory=dict)


class ReplayGuard(Protocol):
    def first_time(self, key: str, ttl: timedelta) -> bool:
        """True the first time `key` is seen within `ttl`; False for a replay."""
        ...


class MemoryReplayGuard:
    """For tests and a single process; production uses `RedisReplayGuard`."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._seen: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def first_time(self, key: str, ttl: timedelta) -> bool:
        now = self._clock()
        with self._lock:
            self._seen = {k: until for k, until in self._seen.items() if until > now}
            if key in self._seen:
                return False
            self._seen[key] = now + ttl
            return True


class RedisReplayGuard:
    """SET NX with an expiry: atomic across web workers."""

    def __init__(self, redis: Any, prefix: str = "ponto:webhook:jti:") -> None:
        self._redis = redis
        self._prefix = prefix

    def first_time(self, key: str, ttl: timedelta) -> bool:
        seconds = max(1, int(ttl.total_seconds()))
        return bool(self._redis.set(self._prefix + key, b"1", nx=True, ex=seconds))


class JwksCache:
    """Ponto's signing keys, fetched through our HTTP client (timeouts, size cap, same
    origin) and refetched when an unknown `kid` appears, at most every few minutes so a
    flood of forged kids cannot turn us into a proxy hammering Ponto."""

    def __init__(self, http: HttpClient, path: str = "/webhooks/keys", *,
                 clock: Callable[[], datetime]) -> None:
        self._http = http
        self._path = path
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: datetime | None = None
        self._lock = threading.Lock()

    def _fetch(self) -> None:
        def parse(response: HttpResponse) -> dict[str, Any]:
            if response.status != 200:
                raise MalformedResponse(f"JWKS answered {response.status}", provider="ponto")
            try:
                return json.loads(response.body)
            except ValueError:
                raise MalformedResponse("JWKS is not JSON", provider="ponto") from None

        document = self._http.send("GET", self._path, parse=parse)
        keys = {}
        for item in document.get("keys", []) if isinstance(document, dict) else []:
            try:
                key = jwt.PyJWK(item, algorithm=ALGORITHM)
            except (jwt.PyJWKError, jwt.InvalidKeyError, TypeError):
                continue
            if item.get("kid"):
                keys[item["kid"]] = key
        self._keys = keys
        self._fetched_at = self._clock()

    def key(self, kid: str) -> jwt.PyJWK | None:
        with self._lock:
            stale = (self._fetched_at is None
                     or self._clock() - self._fetched_at >= KEY_REFETCH_INTERVAL)
            if kid not in self._keys and stale:
                self._fetch()
            return self._keys.get(kid)


def body_digest(body: bytes) -> str:
    return base64.b64encode(hashlib.sha512(body).digest()).decode("ascii")


class PontoWebhookVerifier:
    def __init__(self, *, keys: JwksCache, audience: str, issuer: str,
                 clock: Callable[[], datetime], replay: ReplayGuard) -> None:
        self.keys = keys
        self.audience = audience
        self.issuer = issuer
        self.clock = clock
        self.replay = replay
        self.refused: Counter[str] = Counter()
        self.accepted = 0

    def verify(self, body: bytes, signature: str | None) -> WebhookEvent:
        try:
            event = self._verify(body, signature)
        except WebhookRejected as rejected:
            self.refused[rejected.reason] += 1
            raise
        self.accepted += 1
        return event

    def _verify(self, body: bytes, signature: str | None) -> WebhookEvent:
        if not signature:
            raise WebhookRejected("missing_signature")
        try:
            header = jwt.get_unverified_header(signature)
        except jwt.PyJWTError:
            raise WebhookRejected("malformed_signature") from None
        if header.get("alg") != ALGORITHM:
            raise WebhookRejected("wrong_algorithm")
        try:
            key = self.keys.key(str(header.get("kid") or ""))
        except MalformedResponse:
            raise WebhookRejected("keys_unavailable") from None
        if key is None:
            raise WebhookRejected("unknown_key")
        try:
            claims = jwt.decode(
                signature, key, algorithms=[ALGORITHM], audience=self.audience,
                issuer=self.issuer,
                # Times are checked below against our injectable clock.
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                         "require": ["aud", "iss", "iat", "exp", "digest"]})
        except jwt.InvalidAudienceError:
            raise WebhookRejected("wrong_audience") from None
        except jwt.InvalidIssuerError:
            raise WebhookRejected("wrong_issuer") from None
        except jwt.MissingRequiredClaimError:
            raise WebhookRejected("missing_claim") from None
        except jwt.InvalidSignatureError:
            raise WebhookRejected("bad_signature") from None
        except jwt.PyJWTError:
            raise WebhookRejected("malformed_signature") from None
        now = self.clock()
        try:
            issued = datetime.fromtimestamp(int(claims["iat"]), UTC)
            expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
        except (TypeError, ValueError, OverflowError):
            raise WebhookRejected("malformed_signature") from None
        if issued - LEEWAY > now:
            raise WebhookRejected("issued_in_future")
        if expires + LEEWAY < now:
            raise WebhookRejected("expired")
        if expires - issued > MAX_LIFETIME:
            raise WebhookRejected("lifetime_too_long")
        digest = str(claims["digest"]).removeprefix("SHA-512=")
        if not hmac.compare_digest(digest, body_digest(body)):
            raise WebhookRejected("digest_mismatch")
        replay_key = str(claims.get("jti") or f"{claims['iat']}:{digest}")
        if not self.replay.first_time(replay_key, expires + LEEWAY - now + LEEWAY):
            raise WebhookRejected("replayed")
        return parse_event(body)


def parse_event(body: bytes) -> WebhookEvent:
    try:
        data = json.loads(body)["data"]
        relationships = data.get("relationships") or {}

        def related(name: str) -> str | None:
            return ((relationships.get(name) or {}).get("data") or {}).get("id")

        attributes = dict(data.get("attributes") or {})
        created = attributes.get("createdAt")
        return WebhookEvent(
            id=str(data["id"]), type=str(data["type"]),
            created_at=datetime.fromisoformat(created.replace("Z", "+00:00"))
            if isinstance(created, str) else None,
            account_id=related("account"), organization_id=related("organization"),
            attributes=attributes)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise WebhookRejected("malformed_body") from None
