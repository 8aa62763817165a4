"""Pooled connections are checked only after sitting idle: a connection PostgreSQL closed
while it waited in the pool is replaced before use, and a busy one costs no extra trip."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from config import normalise_database_url
from smbfinance.pool import ping_when_idle


def _engine(infrastructure: Any, idle_seconds: float) -> Any:
    engine = create_engine(normalise_database_url(infrastructure.database_url),
                           pool_size=1, max_overflow=0, pool_pre_ping=False)
    ping_when_idle(engine, idle_seconds=idle_seconds)
    return engine


def _pid(engine: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _kill(infrastructure: Any, pid: int) -> None:
    # A role may end its own sessions: the app role closes its pooled one, as a restart would.
    killer = create_engine(normalise_database_url(infrastructure.database_url))
    with killer.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()


def test_a_connection_closed_while_idle_is_replaced(infrastructure: Any) -> None:
    # given a pooled connection that PostgreSQL closed while it sat idle
    engine = _engine(infrastructure, idle_seconds=0)
    first = _pid(engine)
    _kill(infrastructure, first)
    # when the pool hands out a connection again
    second = _pid(engine)
    # then it is a fresh one that works
    assert second != first
    engine.dispose()


def test_a_recently_used_connection_is_not_pinged(infrastructure: Any) -> None:
    # given a long idle threshold: the pool trusts a connection just used
    engine = _engine(infrastructure, idle_seconds=3600)
    _kill(infrastructure, _pid(engine))
    # then the dead connection is handed out unchecked, and the query fails
    with pytest.raises(DBAPIError):
        _pid(engine)
    engine.dispose()
