"""Shared handles on infrastructure: the Redis client and the migration heads."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import redis
from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import Flask

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def redis_client(app: Flask) -> redis.Redis:
    client = app.extensions.get("smbfinance_redis")
    if client is None:
        url = app.config.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        app.extensions["smbfinance_redis"] = client
    return client


@lru_cache(maxsize=1)
def _heads() -> frozenset[str]:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def migration_heads(_app: Flask | None = None) -> set[str]:
    return set(_heads())
