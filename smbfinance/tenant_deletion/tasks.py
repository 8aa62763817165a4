"""The daily purge of companies whose deletion was confirmed and whose legal retention
has ended (beat: `tenant-purge`, smbfinance/worker.py)."""

from __future__ import annotations

from typing import Any

from smbfinance.extensions import celery, db
from smbfinance.tenant_deletion import purge

PURGE_TASK = "smbfinance.tenant_deletion.purge_due"


@celery.task(name=PURGE_TASK)
def purge_due() -> dict[str, Any]:
    report = purge.purge_due(session=db.session)
    return {"purged": [str(p.tenant_id) for p in report.purged], "failed": report.failed}
