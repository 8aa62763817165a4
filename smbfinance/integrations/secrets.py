"""Credentials at rest: Ponto access and refresh tokens, Yuki access keys and any client
secret are stored only as AES-256-GCM ciphertext (the `cryptography` package).

- Keys come from configuration (`INTEGRATION_ENCRYPTION_KEYS`: `id:base64key` pairs,
  comma-separated, the first encrypts, all decrypt), so a new key can be put in front and
  the old ones kept until `rotate` re-encrypted every value.
- A stored value reads `v1.<key id>.<base64url(nonce || ciphertext || tag)>`: the key id
  says which key opens it, the random 96-bit nonce is never reused with a key.
- The caller's `context` (e.g. `integration:<tenant>:<id>:refresh_token`) is bound as
  associated data: a ciphertext copied into another row or field fails to decrypt, so a
  tenant cannot be handed another tenant's token by moving bytes around in the database.
- Errors never include the plaintext, the key or the ciphertext.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
NONCE_BYTES = 12
KEY_BYTES = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class SecretError(Exception):
    """A value could not be encrypted or decrypted (wrong key, context or tampering)."""


class KeyConfigError(SecretError):
    """`INTEGRATION_ENCRYPTION_KEYS` does not describe usable keys."""


@dataclass(frozen=True)
class Key:
    id: str
    material: bytes = field(repr=False)


def generate_key() -> str:
    """A new key for the configuration: 32 random bytes, base64url."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def _b64decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii"))


def parse_keys(value: str) -> list[Key]:
    """`id:base64key[,id:base64key...]` → keys, the first being the one that encrypts."""
    keys: list[Key] = []
    for part in (p.strip() for p in (value or "").split(",")):
        if not part:
            continue
        key_id, sep, encoded = part.partition(":")
        if not sep or not _KEY_ID.match(key_id):
            raise KeyConfigError("each key is written id:base64key, id in [A-Za-z0-9_-]")
        try:
            material = _b64decode(encoded.strip())
        except (binascii.Error, ValueError):
            raise KeyConfigError(f"key {key_id!r} is not base64") from None
        if len(material) != KEY_BYTES:
            raise KeyConfigError(f"key {key_id!r} must be {KEY_BYTES} bytes (AES-256)")
        if any(k.id == key_id for k in keys):
            raise KeyConfigError(f"key id {key_id!r} appears twice")
        keys.append(Key(key_id, material))
    if not keys:
        raise KeyConfigError("no integration encryption key configured")
    return keys


class SecretBox:
    def __init__(self, keys: Sequence[Key]) -> None:
        if not keys:
            raise KeyConfigError("no integration encryption key configured")
        self.primary = keys[0]
        self._ciphers = {k.id: AESGCM(k.material) for k in keys}

    @classmethod
    def from_config(cls, value: str) -> SecretBox:
        return cls(parse_keys(value))

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.primary.id].encrypt(
            nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        payload = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
        return f"{VERSION}.{self.primary.id}.{payload}"

    def key_id(self, token: str) -> str:
        _version, key_id, _payload = self._split(token)
        return key_id

    def _split(self, token: str) -> tuple[str, str, str]:
        parts = token.split(".") if isinstance(token, str) else []
        if len(parts) != 3 or parts[0] != VERSION:
            raise SecretError("not an encrypted value of a known version")
        return parts[0], parts[1], parts[2]

    def decrypt(self, token: str, *, context: str) -> str:
        _version, key_id, payload = self._split(token)
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise SecretError(f"encrypted with key {key_id!r}, which is not configured")
        try:
            raw = _b64decode(payload)
            plain = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode("utf-8"))
        except (InvalidTag, binascii.Error, ValueError):
            raise SecretError("the value does not decrypt: wrong key, context or tampered"
                              ) from None
        return plain.decode("utf-8")

    def needs_rotation(self, token: str) -> bool:
        return self.key_id(token) != self.primary.id

    def rotate(self, token: str, *, context: str) -> str:
        """Re-encrypt under the primary key (a fresh nonce even when already primary)."""
        return self.encrypt(self.decrypt(token, context=context), context=context)
