"""Standard Webhooks signatures (https://www.standardwebhooks.com/), pure.

A delivery carries `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`:
space-separated `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, one per secret that
is currently valid (two while a secret is being rotated). Secrets are `whsec_` followed by
the base64 of the key bytes.

We implement this with `hmac` rather than depend on the `standardwebhooks` package at run
time: the algorithm is a dozen lines, and the package's verifier reads the wall clock with a
fixed tolerance, which our tests (and callers replaying old deliveries) need to control.
Tests cross-check every result against that package and the specification's vector.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as random
from collections.abc import Mapping, Sequence

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
# Keys shorter than this are guessable; longer than this is a pasted mistake.
MIN_KEY_BYTES, MAX_KEY_BYTES = 24, 64
DEFAULT_TOLERANCE_SECONDS = 5 * 60


class SignatureError(ValueError):
    """A delivery's headers do not prove it came from us, now."""


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(random.token_bytes(SECRET_BYTES)).decode("ascii")


def decode_secret(secret: str) -> bytes:
    """Key bytes of a `whsec_...` secret (the prefix is optional, as the spec allows)."""
    raw = secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("webhook secret is not valid base64") from None
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise ValueError(f"webhook secret must hold {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes")
    return key


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    signed = msg_id.encode("utf-8") + b"." + str(timestamp).encode("ascii") + b"." + body
    return hmac.new(key, signed, hashlib.sha256).digest()


def sign_one(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> str:
    digest = _digest(decode_secret(secret), msg_id, timestamp, body)
    return "v1," + base64.b64encode(digest).decode("ascii")


def sign(secrets: Sequence[str], *, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one `v1,` entry per valid secret, newest first."""
    if not secrets:
        raise ValueError("at least one secret is needed to sign")
    return " ".join(sign_one(s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secrets)


def headers(secrets: Sequence[str], *, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secrets, msg_id=msg_id, timestamp=timestamp, body=body),
    }


def verify(
    secrets: Sequence[str],
    *,
    headers: Mapping[str, str],
    body: bytes,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Raise SignatureError unless one `v1` signature matches one of `secrets` and the
    timestamp is within `tolerance` seconds of `now` (either side: replays and clock skew)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    msg_id = lowered.get("webhook-id")
    raw_timestamp = lowered.get("webhook-timestamp")
    signature = lowered.get("webhook-signature")
    if not (msg_id and raw_timestamp and signature):
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature")
    if not raw_timestamp.isascii() or not raw_timestamp.isdigit():
        raise SignatureError("webhook-timestamp is not a whole number of seconds")
    timestamp = int(raw_timestamp)
    if abs(now - timestamp) > tolerance:
        raise SignatureError("webhook-timestamp is outside the tolerance window")
    candidates = []
    for entry in signature.split(" "):
        version, _, value = entry.partition(",")
        if version != "v1" or not value:
            continue  # other schemes (v1a, ...) may sit beside ours; ignore them
        try:
            candidates.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    for secret in secrets:
        expected = _digest(decode_secret(secret), msg_id, timestamp, body)
        # Compare against every candidate (no early exit on the secret) so timing says nothing.
        if any(hmac.compare_digest(expected, candidate) for candidate in candidates):
            return
    raise SignatureError("no matching signature")
