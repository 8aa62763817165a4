"""What an import tells the audit log and partners: `import.completed` with its counts per
statement, or `import.failed` with its errors, in the import's own transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from smbfinance import events
from smbfinance.audit import service as audit
from smbfinance.auth.permissions import Actor
from smbfinance.transactions.models import ImportBatch


def representation(batch: ImportBatch) -> dict[str, Any]:
    """The batch as GET /api/v1/imports/{id} shows its outcome (without progress)."""
    return {
        "id": str(batch.id), "object": "import", "format": batch.format,
        "status": batch.status, "file_name": batch.file_name,
        "file_sha256": batch.file_sha256,
        "bank_account_id": str(batch.bank_account_id) if batch.bank_account_id else None,
        "counts": {"read": batch.read_count or 0, "created": batch.created_count or 0,
                   "duplicates": batch.duplicate_count or 0,
                   "updated": batch.updated_count or 0, "skipped": batch.skipped_count or 0},
        "statements": [{key: statement.get(key) for key in (
            "index", "bank_account_id", "statement_id", "read", "created", "duplicates",
            "updated", "total")} for statement in batch.statements or []],
        "warnings": list(batch.warnings or []), "errors": list(batch.errors or []),
        "completed_at": batch.completed_at.isoformat() if batch.completed_at else None,
    }


def completed(session: Session, actor: Actor, batch: ImportBatch) -> None:
    body = representation(batch)
    audit.record(session, actor=actor, action="import.completed", entity_type="import_batch",
                 entity_id=batch.id, after={"format": body["format"], **body["counts"]})
    events.emit(session=session, type="import.completed", object_id=batch.id, obj=body)


def failed(session: Session, actor: Actor | None, batch: ImportBatch) -> None:
    body = representation(batch)
    if actor is not None:
        audit.record(session, actor=actor, action="import.failed", entity_type="import_batch",
                     entity_id=batch.id, after={"status": batch.status,
                                                "errors": body["errors"][:20]})
    events.emit(session=session, type="import.failed", object_id=batch.id, obj=body)
