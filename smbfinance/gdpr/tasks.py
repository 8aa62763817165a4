"""Background work for GDPR: building an export (tenant-scoped, ids only, idempotent) and
the daily purge of expired exports' content across companies."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from sqlalchemy import text

from smbfinance.auth.permissions import Actor, Role
from smbfinance.db import transaction
from smbfinance.extensions import celery, db
from smbfinance.gdpr import export_service
from smbfinance.tenancy import dangerously_unscoped
from smbfinance.webhooks import dispatch

BUILD_TASK = "smbfinance.gdpr.build_export"
PURGE_TASK = "smbfinance.gdpr.purge_exports"


@celery.task(name=BUILD_TASK, tenant_scoped=True)
def build_export(*, export_id: str, tenant_id: uuid.UUID,
                 user_id: str | None = None) -> str | None:
    """Build a queued export; returns its final status (None: unknown export)."""
    # The requester had gdpr:manage; the worker acts for them as the system.
    actor = Actor(user_id=uuid.UUID(user_id) if user_id else None, tenant_id=tenant_id,
                  role=Role.ADMIN, kind="system")
    ttl = timedelta(seconds=int(current_app.config["GDPR_EXPORT_TTL_SECONDS"]))
    export = export_service.build_export(session=db.session, actor=actor,
                                         export_id=uuid.UUID(export_id), ttl=ttl)
    return None if export is None else export.status


@celery.task(name=PURGE_TASK)
def purge_exports() -> int:
    """Drop the content of every expired export (reading one also does it)."""
    session = db.session
    with dangerously_unscoped(session, reason="purge expired GDPR exports"), \
            transaction(session):
        return int(session.execute(text("SELECT gdpr_purge_expired_exports()")).scalar_one())


def enqueue_for(actor: Actor) -> Callable[[uuid.UUID], None]:
    """What request_export calls once the export row is committed (EVENTS_DISPATCH off in
    tests: they run the task themselves)."""
    def enqueue(export_id: uuid.UUID) -> None:
        dispatch.send(BUILD_TASK, export_id=str(export_id), tenant_id=str(actor.tenant_id),
                      user_id=str(actor.user_id) if actor.user_id else None)
    return enqueue
