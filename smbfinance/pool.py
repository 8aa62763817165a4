"""Checking pooled connections only when they may have gone stale.

`pool_pre_ping` sends `SELECT 1` on every checkout: one extra round trip per request,
a large share of a short read. A connection used a moment ago is alive; one that sat idle
may have been closed by PostgreSQL, a proxy or a failover. So we ping only connections
idle for longer than `idle_seconds`, and on failure hand the pool a DisconnectionError,
which makes it discard the connection and open a fresh one (SQLAlchemy's documented
custom pessimistic handling)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

_IDLE_SINCE = "smbfinance.idle_since"


def ping_when_idle(engine: Engine, *, idle_seconds: float) -> None:
    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is not None and time.monotonic() - since < idle_seconds:
            return
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
        except Exception as error:  # the driver's errors differ; any failure means stale
            raise exc.DisconnectionError(f"stale pooled connection: {error}") from error
