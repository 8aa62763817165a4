"""Shared benchmark plumbing: a dedicated database (BENCH_DATABASE_URL as an admin URL, or
embedded PostgreSQL under .data/bench), migrated by the owner role, and a timer."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from smbfinance.devstack.prepare import Infrastructure, migrate, provide

ROOT = Path(__file__).resolve().parent.parent


def infrastructure() -> Infrastructure:
    infra = provide(
        data_dir=ROOT / ".data" / "bench", database="smbfinance_bench", database_url=None,
        migration_url=None, admin_url=os.environ.get("BENCH_DATABASE_URL"),
        redis_url=os.environ.get("BENCH_REDIS_URL"), recreate=True, persist_redis=False,
        say=lambda message: print(message, flush=True),
    )
    migrate(env_name="testing", infrastructure=infra, say=lambda m: print(m, flush=True))
    return infra


def best_of(rounds: int, fn: Callable[[], None]) -> float:
    """Median seconds of `rounds` runs of fn (after one warm-up run)."""
    fn()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)
