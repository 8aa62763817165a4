"""A company's complete export: requested over the API, built by a worker into a ZIP of
JSON files (one per table, read under RLS from the catalogue's tenant tables, secrets and
binary columns left out), kept in PostgreSQL and downloadable until it expires."""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import IO, Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from smbfinance.audit import service as audit
from smbfinance.auth import service as auth_service
from smbfinance.auth.models import Tenant
from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.db import on_commit, transaction, utcnow
from smbfinance.errors import NotFound
from smbfinance.gdpr.catalogue import Table, quote, tenant_tables
from smbfinance.gdpr.models import GdprExport
from smbfinance.pagination import Page, check_limit, page_of
from smbfinance.tenancy import current_tenant_id

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
# Never exported: credentials and their hashes, and the exports themselves.
SECRET_COLUMNS: dict[str, frozenset[str]] = {
    "api_keys": frozenset({"key_hash"}),
    "webhook_endpoints": frozenset({"secret", "previous_secret"}),
    "integrations": frozenset({"credentials"}),
}
NOT_EXPORTED_TABLES = frozenset({"gdpr_exports"})
SPOOL_BYTES = 16 * 1024 * 1024  # larger archives are built on disk
ROWS_PER_FETCH = 500


def excluded_columns(table: Table) -> list[str]:
    """Secrets by name, and every binary column (hashes, sealed bytes, cached bodies)."""
    secret = SECRET_COLUMNS.get(table.name, frozenset())
    return [c.name for c in table.columns if c.name in secret or c.base_type == "bytea"]


def request_export(*, session: Session, actor: Actor,
                   enqueue: Callable[[uuid.UUID], None]) -> GdprExport:
    """Queue an export; `enqueue(export_id)` runs once the request is committed."""
    require(actor, Permission.GDPR)
    with transaction(session):
        export = GdprExport(status="queued", requested_by=actor.id, created_at=utcnow())
        session.add(export)
        session.flush()
        export_id = export.id
        # Taking all of a company's data out is worth a line in the audit log.
        audit.record(session, actor=actor, action="gdpr.export_requested",
                     entity_type="gdpr_export", entity_id=export_id)
        on_commit(session, lambda: enqueue(export_id))
    return export


def get_export(*, session: Session, actor: Actor, export_id: uuid.UUID,
               now: datetime | None = None) -> GdprExport:
    require(actor, Permission.GDPR)
    with transaction(session):
        export = _find(session, export_id)
        _expire_if_due(export, now or utcnow())
    return export


def list_exports(*, session: Session, actor: Actor, limit: int | None = None,
                 starting_after: uuid.UUID | None = None,
                 now: datetime | None = None) -> Page[GdprExport]:
    require(actor, Permission.GDPR)
    limit = check_limit(limit)
    query = select(GdprExport).order_by(GdprExport.id.desc()).limit(limit + 1)
    if starting_after is not None:
        query = query.where(GdprExport.id < starting_after)
    with transaction(session):
        rows = list(session.execute(query).scalars())
        for export in rows:
            _expire_if_due(export, now or utcnow())
    return page_of(rows, limit)


def download(*, session: Session, export_id: uuid.UUID,
             now: datetime | None = None) -> tuple[GdprExport, bytes]:
    """The ZIP of a ready export, in the session's (token's) tenant scope. An expired
    export loses its content here if the daily purge has not yet run. A closed company's
    links stop working (ADR 0038): its data is not readable until an owner reopens it."""
    with transaction(session):
        closed = session.execute(select(Tenant.closed_at).where(
            Tenant.id == current_tenant_id(session))).scalar_one_or_none()
        if closed is not None:
            raise NotFound("the company is closed for deletion: its exports cannot be "
                           "downloaded unless an owner reopens it")
        export = _find(session, export_id)
        _expire_if_due(export, now or utcnow())
        if export.status != "ready" or export.content is None:
            raise NotFound(f"export {export_id} has no download ({export.status})")
        return export, bytes(export.content)


def _find(session: Session, export_id: uuid.UUID) -> GdprExport:
    export = session.get(GdprExport, (current_tenant_id(session), export_id))
    if export is None:
        raise NotFound(f"no export {export_id}")
    return export


def _expire_if_due(export: GdprExport, now: datetime) -> None:
    if export.status == "ready" and export.expires_at is not None and export.expires_at <= now:
        export.status, export.content = "expired", None


# ------------------------------------------------------------------ building (worker)

def build_export(*, session: Session, actor: Actor, export_id: uuid.UUID,
                 ttl: timedelta, now: Callable[[], datetime] = utcnow) -> GdprExport | None:
    """Build and store the ZIP. Idempotent: an export already ready, failed or expired is
    left alone (a redelivered task). Returns None for an unknown export; a failure is
    stored on the export (status failed, the error's type and message) and logged."""
    with transaction(session):
        export = session.get(GdprExport, (actor.tenant_id, export_id), with_for_update=True)
        if export is None or export.status not in ("queued", "running"):
            return export
        export.status, export.started_at = "running", now()
    try:
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            with transaction(session):
                _write_archive(session, actor, export_id, spool, generated_at=now())
            spool.seek(0)
            content = spool.read()
    except Exception as error:
        session.rollback()
        with transaction(session):
            export = session.get(GdprExport, (actor.tenant_id, export_id))
            assert export is not None
            export.status, export.completed_at = "failed", now()
            export.error = f"{type(error).__name__}: {error}"[:500]
        log.exception("GDPR export failed", extra={"export_id": str(export_id)})
        return export
    with transaction(session):
        export = session.get(GdprExport, (actor.tenant_id, export_id))
        assert export is not None
        finished = now()
        export.status, export.completed_at = "ready", finished
        export.expires_at = finished + ttl
        export.size, export.sha256 = len(content), hashlib.sha256(content).hexdigest()
        export.content = content
    return export


def _write_archive(session: Session, actor: Actor, export_id: uuid.UUID, target: IO[bytes],
                   *, generated_at: datetime) -> None:
    counts: dict[str, int] = {}
    excluded: dict[str, list[str]] = {}
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table in tenant_tables(session):
            if table.name in NOT_EXPORTED_TABLES:
                continue
            leave_out = excluded_columns(table)
            if leave_out:
                excluded[table.name] = leave_out
            with archive.open(f"{table.name}.json", "w") as entry:
                counts[table.name] = _write_rows(session, table, leave_out, entry)
        members = [_plain(asdict(m)) for m in auth_service.list_members(session=session,
                                                                         actor=actor)]
        archive.writestr("members.json", json.dumps(members, indent=1))
        archive.writestr("manifest.json", json.dumps({
            "format_version": FORMAT_VERSION,
            "tenant_id": str(actor.tenant_id),
            "export_id": str(export_id),
            "generated_at": generated_at.isoformat(),
            "tables": counts,
            "members": len(members),
            "excluded_columns": excluded,
        }, indent=1))


def _write_rows(session: Session, table: Table, leave_out: list[str], entry: IO[bytes]) -> int:
    """Stream the table's rows (a server-side cursor) into a JSON array, one row a line."""
    minus = f" - ARRAY[{', '.join(_literal(c) for c in leave_out)}]::text[]" if leave_out else ""
    order = " ORDER BY t.id" if table.column("id") else ""
    # Names come from the catalogue, quoted.
    query = text(f"SELECT (to_jsonb(t){minus})::text "  # noqa: S608
                 f"FROM {quote(table.name)} t{order}")
    result = session.execute(query.execution_options(stream_results=True,
                                                     yield_per=ROWS_PER_FETCH))
    count = 0
    entry.write(b"[")
    for (document,) in result:
        entry.write(b"\n" if count == 0 else b",\n")
        entry.write(document.encode())
        count += 1
    entry.write(b"\n]\n" if count else b"]\n")
    return count


def _literal(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else
                str(v) if isinstance(v, uuid.UUID) else
                getattr(v, "value", v)) for k, v in values.items()}
