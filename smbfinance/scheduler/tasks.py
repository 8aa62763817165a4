"""The beat's tick task."""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime

from flask import current_app

from smbfinance.db import utcnow
from smbfinance.extensions import celery
from smbfinance.platform import redis_client
from smbfinance.scheduler.registry import due_checks

log = logging.getLogger(__name__)

LAST_TICK_KEY = "smbfinance:scheduler:last_tick"


@celery.task(name="smbfinance.scheduler.tick")
def tick(now_iso: str | None = None) -> dict[str, int]:
    """Run every due check once; a failing check is logged and does not stop the others."""
    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    started = time.perf_counter()
    enqueued: dict[str, int] = {}
    for name, check in sorted(due_checks().items()):
        try:
            enqueued[name] = check(now)
        except Exception:
            log.exception("due check failed", extra={"check": name})
            enqueued[name] = -1
    record = {"at": now.isoformat(), "enqueued": enqueued,
              "seconds": round(time.perf_counter() - started, 4)}
    redis_client(current_app).set(LAST_TICK_KEY, json.dumps(record))
    log.info("scheduler tick", extra=record)
    return enqueued
