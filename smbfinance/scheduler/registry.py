"""Domains register "what is due?" callbacks; the tick calls each one.

A callback receives the tick time and returns how many jobs it enqueued. Later issues
register theirs (provider syncs, webhook retries, alerts) — the tick itself stays small.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

DueCheck = Callable[[datetime], int]

_checks: dict[str, DueCheck] = {}


def register_due_check(name: str, check: DueCheck) -> None:
    _checks[name] = check


def due_checks() -> dict[str, DueCheck]:
    return dict(_checks)
