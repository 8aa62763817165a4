"""Optimistic concurrency and search helpers shared by the domains' services."""

from __future__ import annotations

from smbfinance.errors import PreconditionFailed


def check_version(kind: str, current: int, expected: int | None) -> None:
    """Refuse a write based on a stale read (If-Match → 412); no expectation, no check."""
    if expected is not None and current != expected:
        raise PreconditionFailed(
            f"the {kind} changed since you read it (version {current}, you sent {expected}): "
            "fetch it again and retry")


def contains_pattern(text: str) -> str:
    """A LIKE/ILIKE pattern (ESCAPE '\\') matching `text` anywhere, wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
