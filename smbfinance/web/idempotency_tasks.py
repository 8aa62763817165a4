"""The daily purge of expired Idempotency-Keys, with the responses they kept (ADR 0044)."""

from __future__ import annotations

import logging
from datetime import datetime

from smbfinance.db import utcnow
from smbfinance.extensions import celery, db
from smbfinance.web import idempotency

PURGE_TASK = "smbfinance.idempotency.purge"
log = logging.getLogger(__name__)


@celery.task(name=PURGE_TASK)
def purge(now_iso: str | None = None) -> int:
    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    removed = idempotency.purge_expired(session=db.session, now=now)
    log.info("idempotency keys purged", extra={"removed": removed})
    return removed
