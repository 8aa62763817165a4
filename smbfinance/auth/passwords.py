"""Password hashing with argon2id. A dummy verification keeps the time of a failed login
the same whether or not the email exists."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from smbfinance.errors import ErrorList

MIN_LENGTH = 10
MAX_LENGTH = 256

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile defaults
_DUMMY_HASH = _hasher.hash("not-a-real-password-only-for-timing")


def check_policy(password: str, *, errors: ErrorList, field: str = "password") -> None:
    if len(password) < MIN_LENGTH:
        errors.add(field, f"must be at least {MIN_LENGTH} characters", "too_short")
    elif len(password) > MAX_LENGTH:
        errors.add(field, f"must be at most {MAX_LENGTH} characters", "too_long")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; always spends one argon2 verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
