"""Celery bound to the Flask app: every task runs inside an app context, and tenant tasks
(declared with `tenant_scoped=True`) take `tenant_id` and scope their session to it before
touching the database. Tasks get ids, never ORM objects."""

from __future__ import annotations

import uuid
from typing import Any

from celery import Celery, Task
from flask import Flask

from smbfinance.extensions import db
from smbfinance.logs import bind_log_context, clear_log_context
from smbfinance.tenancy import Scope, set_scope


class AppTask(Task):  # type: ignore[misc]
    abstract = True
    tenant_scoped = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        flask_app: Flask = self.app.conf["flask_app"]
        with flask_app.app_context():
            try:
                if self.tenant_scoped:
                    kwargs["tenant_id"] = self._scope(kwargs.get("tenant_id"))
                return self.run(*args, **kwargs)
            finally:
                db.session.remove()
                clear_log_context()

    def _scope(self, raw: object) -> uuid.UUID:
        if raw is None:
            raise TypeError(f"{self.name} is tenant-scoped: call it with tenant_id=<uuid>")
        tenant_id = uuid.UUID(str(raw))
        set_scope(db.session, Scope(tenant_id=tenant_id))
        bind_log_context(tenant_id=tenant_id)
        return tenant_id


def redelivery_options(visibility_timeout: int) -> dict[str, int]:
    """How long an unacknowledged task waits before Redis hands it to another worker, and how
    often workers look for such tasks. kombu looks every 10 s but scans only every tenth look
    (100 s): a dead worker's task would wait up to 100 s past its timeout. We scan at every
    look, and look at least three times per timeout (one sorted-set read each)."""
    return {"visibility_timeout": visibility_timeout,
            "unacked_restore_interval": max(1, min(10, visibility_timeout // 3)),
            "unacked_restore_throttle": 1}


def init_celery(app: Flask, celery: Celery) -> Celery:
    celery.Task = AppTask
    celery.conf.update(
        flask_app=app,
        broker_url=app.config.get("REDIS_URL") or "memory://",
        result_backend=None,
        task_ignore_result=True,
        # A task is acknowledged only when done, and redelivered if its worker dies.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options=redelivery_options(
            app.config.get("CELERY_VISIBILITY_TIMEOUT", 3600)),
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        broker_connection_retry_on_startup=True,
        task_always_eager=app.config.get("CELERY_TASK_ALWAYS_EAGER", False),
        smbfinance_dispatch=app.config.get("EVENTS_DISPATCH", True),
        beat_schedule={
            "scheduler-tick": {
                "task": "smbfinance.scheduler.tick",
                "schedule": app.config.get("SCHEDULER_TICK_SECONDS", 60.0),
                # A tick that waited longer than a period is pointless: the next one is due.
                "options": {"expires": 55},
            },
            "events-purge": {"task": "smbfinance.events.purge", "schedule": 24 * 3600.0},
            "gdpr-purge": {"task": "smbfinance.gdpr.purge_exports", "schedule": 24 * 3600.0},
            "tenant-purge": {"task": "smbfinance.tenant_deletion.purge_due",
                             "schedule": 24 * 3600.0},
            "idempotency-purge": {"task": "smbfinance.idempotency.purge",
                                  "schedule": 24 * 3600.0},
        },
    )
    celery.set_default()
    app.extensions["celery"] = celery
    import smbfinance.cashflow.tasks  # refresh, the cash-flow due check
    import smbfinance.events.tasks  # relay, purge, the webhooks due check
    import smbfinance.gdpr.tasks  # export builds, purge of expired exports
    import smbfinance.integrations.tasks  # provider syncs, the sync due check
    import smbfinance.scheduler.tasks  # registers the tasks
    import smbfinance.tenant_deletion.tasks  # the daily purge of deleted companies
    import smbfinance.web.idempotency_tasks  # the daily purge of expired Idempotency-Keys
    import smbfinance.webhooks.tasks  # noqa: F401  - one task per delivery

    return celery
