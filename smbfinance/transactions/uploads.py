"""The bytes of a queued statement upload, kept in PostgreSQL until its import has run.

In PostgreSQL rather than on a disk or in Redis: under the same row-level security as every
tenant row, written in the same transaction as the batch that names it, and still there
when the worker that was importing it dies (ADR 0017). One row per queued batch; deleted in
the transaction that completes, rejects or fails the import.

The row also carries the live progress of a running import. The import writes in one long
transaction that holds the batch row until it commits; progress goes to this row from a
second, short transaction instead, which neither waits for the import nor is hidden by it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKeyConstraint, LargeBinary, delete, select, text, update
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, Session, mapped_column

from smbfinance.db import Base, utcnow
from smbfinance.tenancy import TENANT_DEFAULT, TenantOwnedMixin


class ImportUpload(TenantOwnedMixin, Base):
    __tablename__ = "import_uploads"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "import_batch_id"],
                             ["import_batches.tenant_id", "import_batches.id"],
                             ondelete="CASCADE"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                                 server_default=text(TENANT_DEFAULT))
    import_batch_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 default=utcnow)


def keep(session: Session, batch_id: uuid.UUID, content: bytes,
         progress: dict[str, Any]) -> None:
    """Store a queued upload's bytes, in the caller's transaction (with its batch)."""
    session.add(ImportUpload(import_batch_id=batch_id, content=content, progress=progress))


def content_of(session: Session, batch_id: uuid.UUID) -> bytes | None:
    return session.execute(select(ImportUpload.content).where(
        ImportUpload.import_batch_id == batch_id)).scalar_one_or_none()


def live_progress(session: Session, batch_id: uuid.UUID) -> dict[str, Any] | None:
    return session.execute(select(ImportUpload.progress).where(
        ImportUpload.import_batch_id == batch_id)).scalar_one_or_none()


def write_progress(session: Session, batch_id: uuid.UUID, progress: dict[str, Any]) -> None:
    """From a side transaction (the caller commits it): see the module docstring."""
    session.execute(update(ImportUpload).where(ImportUpload.import_batch_id == batch_id)
                    .values(progress=progress))


def discard(session: Session, batch_id: uuid.UUID) -> None:
    session.execute(delete(ImportUpload).where(ImportUpload.import_batch_id == batch_id))
