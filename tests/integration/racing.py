"""Two requests racing with real commits, without sleeps: the first is held just before
its commit (a `before_commit` listener waits on an event) until PostgreSQL shows the second
one waiting on a lock, or the second has finished."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from smbfinance.extensions import db
from smbfinance.tenancy import tenant_scope

Request = Callable[[int, Session], Any]  # (0 for the first, 1 for the second), scoped session


def waiting_on_a_lock(app: Flask) -> bool:
    with app.app_context(), db.engine.connect() as connection:
        return bool(connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")).scalar_one())


def race(app: Flask, tenant_id: uuid.UUID, request: Request) -> list[Any]:
    """Run `request` twice in the tenant's scope, each in its own thread and session, the
    second started while the first is held before its commit. Their results (or the
    exceptions they raised), in that order."""
    paused, release = threading.Event(), threading.Event()
    results: list[Any] = [None, None]

    def run(position: int) -> None:
        with app.app_context():
            session = Session(db.engine, expire_on_commit=False)
            if position == 0:
                @event.listens_for(session, "before_commit")
                def _hold(_session: Session) -> None:
                    paused.set()
                    release.wait(timeout=30)
            try:
                with tenant_scope(session, tenant_id):
                    results[position] = request(position, session)
            except Exception as error:  # noqa: BLE001  - returned for the assertion
                results[position] = error
            finally:
                session.close()

    first = threading.Thread(target=run, args=(0,))
    second = threading.Thread(target=run, args=(1,))
    first.start()
    if not paused.wait(timeout=30):
        raise AssertionError(f"the first request never reached its commit: {results[0]!r}")
    second.start()
    deadline = time.monotonic() + 30
    while not waiting_on_a_lock(app) and second.is_alive() and time.monotonic() < deadline:
        second.join(timeout=0.01)
    release.set()
    first.join(timeout=60)
    second.join(timeout=60)
    return results
