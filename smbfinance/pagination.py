"""Cursor pagination (Stripe style): `limit`, `starting_after=<id>`, `has_more`. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from smbfinance.errors import Invalid

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_more: bool


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid.field("limit", f"must be between 1 and {MAX_LIMIT}")
    return limit


def page_of(rows: Sequence[T], limit: int) -> Page[T]:
    """Rows were fetched with limit + 1: the extra one only says whether more exist."""
    return Page(items=list(rows[:limit]), has_more=len(rows) > limit)
