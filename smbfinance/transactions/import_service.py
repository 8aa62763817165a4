"""Statement import: detect the format, stream the file, write transactions in bulk,
exactly once, in ONE transaction — a structurally broken file writes nothing.

Bulk path: entries are buffered, copied into a temporary table (COPY cannot target a table
with row-level security) and moved with `INSERT … SELECT … ON CONFLICT` on the per-account
dedupe key. A pending transaction read again as booked is updated in place, not added.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO, cast

import uuid6
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.categorisation import service as categorisation
from smbfinance.contacts.validation import normalise_iban
from smbfinance.db import new_id, on_commit, transaction, utcnow
from smbfinance.errors import FieldError, Invalid, NotFound
from smbfinance.reconciliation import service as reconciliation
from smbfinance.transactions import csv_mapping_service as csv_mappings
from smbfinance.transactions import import_events, importers, uploads
from smbfinance.transactions.importers.csv_mapping import CsvMapping
from smbfinance.transactions.importers.model import (
    Entry,
    Format,
    ImportFormatError,
    ImportWarning,
    StatementEnd,
    StatementStart,
)
from smbfinance.transactions.models import BankAccount, ImportBatch

log = logging.getLogger(__name__)

CHUNK = 5_000
PROGRESS_EVERY = 1_000  # entries between two progress reports
Progress = Callable[[int], None]  # entries read so far
# {"entries": read so far, "bytes": of the file read so far, "total_bytes": its size}
ProgressSink = Callable[[dict[str, int]], None]

_COLUMNS = ("id", "bank_account_id", "amount", "currency", "booking_date", "value_date",
            "counterparty_name", "counterparty_iban", "counterparty_bic", "remittance",
            "structured_reference", "bank_reference", "end_to_end_id", "transaction_code",
            "status", "source", "import_batch_id", "details")
_STAGED = (*_COLUMNS, "statement_index", "seq")
_CREATE_STAGING = text(
    "CREATE TEMP TABLE IF NOT EXISTS import_staging ("
    " id uuid, bank_account_id uuid, amount numeric(18, 2), currency text,"
    " booking_date date, value_date date, counterparty_name text, counterparty_iban text,"
    " counterparty_bic text, remittance text, structured_reference text,"
    " bank_reference text, end_to_end_id text, transaction_code text, status text,"
    " source text, import_batch_id uuid, details jsonb, statement_index int, seq bigint)"
    " ON COMMIT DROP"
)
# The dedupe key (ADR 0014) is numbered here, over the whole statement staged in PostgreSQL,
# so Python memory stays flat however long the statement is. Same format as
# dedupe.FileKeys: fp:<date>:<amount with 2 decimals>:<occurrence of date+amount>.
# Counted inside PostgreSQL: a 200,000-entry statement must not come back as 200,000 rows.
_MOVE = text(
    "WITH moved AS ("  # noqa: S608  - the column names are our own constants
    "INSERT INTO bank_transactions (" + ", ".join(_COLUMNS) + ", dedupe_key)"
    " SELECT " + ", ".join(_COLUMNS) + ", 'fp:' || booking_date::text || ':' || amount::text"
    "  || ':' || row_number() OVER (PARTITION BY booking_date, amount ORDER BY seq)"
    " FROM import_staging WHERE statement_index = :statement_index"
    " ON CONFLICT (tenant_id, bank_account_id, dedupe_key) DO UPDATE SET"
    "  status = 'booked', booking_date = EXCLUDED.booking_date,"
    "  value_date = EXCLUDED.value_date, bank_reference = EXCLUDED.bank_reference,"
    "  import_batch_id = EXCLUDED.import_batch_id, updated_at = now(),"
    "  version = bank_transactions.version + 1"
    " WHERE bank_transactions.status = 'pending' AND EXCLUDED.status = 'booked'"
    " RETURNING (xmax = 0) AS inserted)"
    " SELECT count(*) FILTER (WHERE inserted), count(*) FROM moved"
)
_CLEAR = text("DELETE FROM import_staging WHERE statement_index = :statement_index")


class ImportRejected(Invalid):
    """A structurally broken file, or warnings under strict=true: nothing was written."""


@dataclass
class _StatementState:
    start: StatementStart
    account: BankAccount
    read: int = 0
    created: int = 0
    duplicates: int = 0
    updated: int = 0
    total: Decimal = Decimal(0)
    moved: bool = False


def import_statements(
    *,
    session: Session,
    actor: Actor,
    stream: BinaryIO,
    file_name: str | None = None,
    bank_account_id: uuid.UUID | None = None,
    strict: bool = False,
    progress: Progress | None = None,
) -> ImportBatch:
    """Import every statement of a bank file, now. Returns the completed batch; raises
    ImportRejected (after recording a rejected batch) when nothing could be written."""
    require(actor, Permission.FINANCE_WRITE)
    return _import_now(session, actor, stream, _Upload.read(session, stream, bank_account_id),
                       file_name, bank_account_id, strict, progress)


def submit_import(
    *,
    session: Session,
    actor: Actor,
    stream: BinaryIO,
    inline_max_bytes: int,
    enqueue: Callable[[uuid.UUID], None],
    file_name: str | None = None,
    bank_account_id: uuid.UUID | None = None,
    strict: bool = False,
) -> ImportBatch:
    """Import a file of at most `inline_max_bytes` now (as import_statements). A larger one
    is checked as far as its first bytes allow (format, account, CSV mapping), then stored
    with a batch in status `queued`; `enqueue(batch_id)` is called once that is committed,
    and a worker runs the import with `run_queued_import` (ADR 0017)."""
    require(actor, Permission.FINANCE_WRITE)
    upload = _Upload.read(session, stream, bank_account_id)
    if upload.size <= inline_max_bytes:
        return _import_now(session, actor, stream, upload, file_name, bank_account_id, strict,
                           None)
    content = stream.read()  # bounded by the request size limit (MAX_CONTENT_LENGTH)
    with transaction(session):
        batch = ImportBatch(id=new_id(), format=upload.format, status="queued",
                            file_name=file_name, file_sha256=upload.digest,
                            file_size=upload.size, strict=strict,
                            bank_account_id=bank_account_id, created_by=actor.user_id,
                            statements=[], warnings=[], errors=[],
                            progress=_progress(0, 0, upload.size))
        session.add(batch)
        session.flush()
        uploads.keep(session, batch.id, content, _progress(0, 0, upload.size))
        batch_id = batch.id
        on_commit(session, lambda: enqueue(batch_id))
    return batch


def run_queued_import(*, session: Session, actor: Actor, batch_id: uuid.UUID,
                      progress: ProgressSink | None = None) -> ImportBatch | None:
    """The worker's half of a queued import: the same import path, in one transaction, from
    the stored bytes. A rejected file leaves the batch `rejected` with its errors, anything
    unexpected `failed` (then raised again); neither writes a transaction. Safe to run again
    (a redelivered task): a batch no longer queued or processing is left as it is. Returns
    the batch (None for an unknown id)."""
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        batch = _locked_batch(session, batch_id)
        if batch is None or batch.status not in ("queued", "processing"):
            return batch
        batch.status = "processing"  # committed now, so readers see the worker took it
    try:
        with transaction(session):
            batch = _locked_batch(session, batch_id)
            if batch is None or batch.status != "processing":
                return batch
            content = uploads.content_of(session, batch_id)
            if content is None:
                raise RuntimeError(f"import {batch_id} is processing but its file is gone")
            stream = io.BytesIO(content)
            size = len(content)
            csv_mapping = _saved_csv_mapping(session, batch.bank_account_id) \
                if batch.format == "csv" else None
            if batch.format is None or (batch.format == "csv" and csv_mapping is None):
                raise _unknown_format(content[:8192], batch.bank_account_id)

            def report(entries: int) -> None:
                if progress is not None:
                    progress(_progress(entries, stream.tell(), size))

            _run(session, actor, batch, batch.format, stream, csv_mapping, report)
            batch.progress = _progress(batch.read_count, size, size)
            uploads.discard(session, batch_id)
        return batch
    except ImportFormatError as error:
        return _finish_queued(session, batch_id, "rejected", [_format_error(error)])
    except Invalid as invalid:  # ImportRejected (strict) or a check the file failed later
        return _finish_queued(session, batch_id, "rejected", [
            {"line": None, "path": e.field, "message": e.message} for e in invalid.errors
        ] or [{"line": None, "path": None, "message": invalid.detail}])
    except Exception:
        log.exception("queued import failed", extra={"import_batch_id": str(batch_id)})
        _finish_queued(session, batch_id, "failed", [{
            "line": None, "path": None,
            "message": "the import failed unexpectedly and wrote nothing; upload the file "
                       "again, and tell us if it fails again"}])
        raise


@dataclass(frozen=True)
class _Upload:
    digest: str
    size: int
    format: str
    csv_mapping: CsvMapping | None

    @classmethod
    def read(cls, session: Session, stream: BinaryIO,
             bank_account_id: uuid.UUID | None) -> _Upload:
        """What the first bytes tell: format (CSV with the account's mapping) and size."""
        digest, size, head = _fingerprint(stream)
        csv_mapping = _saved_csv_mapping(session, bank_account_id)
        fmt = importers.detect_format(head, csv_mapping=csv_mapping)
        if fmt is None:
            raise _unknown_format(head, bank_account_id)
        return cls(digest, size, fmt, csv_mapping if fmt == "csv" else None)


def _import_now(session: Session, actor: Actor, stream: BinaryIO, upload: _Upload,
                file_name: str | None,
                bank_account_id: uuid.UUID | None, strict: bool,
                progress: Progress | None) -> ImportBatch:
    fmt, digest, size = upload.format, upload.digest, upload.size
    batch_id = new_id()
    try:
        with transaction(session):
            batch = ImportBatch(id=batch_id, format=fmt, status="processing",
                                file_name=file_name, file_sha256=digest, file_size=size,
                                strict=strict, bank_account_id=bank_account_id,
                                created_by=actor.user_id, statements=[], warnings=[], errors=[])
            session.add(batch)
            session.flush()
            _run(session, actor, batch, fmt, stream, upload.csv_mapping, progress)
    except ImportFormatError as error:
        where = _where(error)
        _record_rejection(session, actor, batch_id, fmt, file_name, digest, size, strict,
                          [_format_error(error)])
        raise ImportRejected(f"{where}: {error.message} — the file was not imported",
                             errors=[FieldError(where, error.message, "invalid_file")],
                             extra={"import_batch_id": str(batch_id)}) from None
    except ImportRejected as rejection:
        _record_rejection(session, actor, batch_id, fmt, file_name, digest, size, strict,
                          [{"line": None, "path": e.field, "message": e.message}
                           for e in rejection.errors])
        rejection.extra["import_batch_id"] = str(batch_id)
        raise
    return batch


def _run(session: Session, actor: Actor, batch: ImportBatch, fmt: str, stream: BinaryIO,
         csv_mapping: CsvMapping | None, progress: Progress | None) -> None:
    """The one import path, inline or queued: parse, stage, move, categorise, reconcile."""
    _Importer(session, batch, fmt, batch.bank_account_id, batch.strict, progress).run(
        importers.parser_for(cast(Format, fmt), csv_mapping).parse(stream))
    categorisation.apply_to_import_batch(session=session, actor=actor, import_batch_id=batch.id)
    reconciliation.reconcile(session=session, actor=actor, import_batch_id=batch.id)
    import_events.completed(session, actor, batch)


def _where(error: ImportFormatError) -> str:
    return f"line {error.line}" if error.line is not None else (error.path or "file")


def _format_error(error: ImportFormatError) -> dict[str, Any]:
    return {"line": error.line, "path": error.path, "message": error.message}


def _progress(entries: int, read: int, total: int) -> dict[str, int]:
    return {"entries": entries, "bytes": read, "total_bytes": total}


def _locked_batch(session: Session, batch_id: uuid.UUID) -> ImportBatch | None:
    # NO KEY UPDATE: the side transactions writing progress to import_uploads take a key
    # share on this row through their foreign key, and must not wait for the import.
    return session.execute(select(ImportBatch).where(ImportBatch.id == batch_id)
                           .with_for_update(key_share=True)  # FOR NO KEY UPDATE
                           .execution_options(populate_existing=True)).scalar_one_or_none()


def _finish_queued(session: Session, batch_id: uuid.UUID, status: str,
                   errors: list[dict[str, Any]]) -> ImportBatch | None:
    with transaction(session):
        batch = _locked_batch(session, batch_id)
        if batch is None:
            return None
        batch.status, batch.errors, batch.completed_at = status, errors, utcnow()
        batch.statements, batch.warnings = [], []
        batch.progress = {**(batch.progress or {}),
                          **(uploads.live_progress(session, batch_id) or {})}
        uploads.discard(session, batch_id)
        session.flush()
        import_events.failed(session, None, batch)
    return batch


def _saved_csv_mapping(session: Session, bank_account_id: uuid.UUID | None) -> CsvMapping | None:
    """The chosen account's CSV mapping: a CSV export can only be read with it."""
    if bank_account_id is None:
        return None
    with transaction(session):
        account = session.execute(select(BankAccount).where(
            BankAccount.id == bank_account_id, BankAccount.deleted_at.is_(None))
        ).scalar_one_or_none()
    if account is None:
        raise Invalid.field("bank_account_id", f"no bank account {bank_account_id}",
                            code="not_found")
    return csv_mappings.parser_mapping(account)


def _unknown_format(head: bytes, bank_account_id: uuid.UUID | None) -> Invalid:
    if _looks_like_csv(head):
        where = (f"PUT /api/v1/bank-accounts/{bank_account_id}/csv-mapping" if bank_account_id
                 else "save a mapping on the account (PUT /api/v1/bank-accounts/{id}/"
                      "csv-mapping) and upload with its bank_account_id")
        return Invalid.field(
            "file", "this looks like a CSV export, and a CSV is read with the column mapping "
                    f"saved on its account: save a mapping first ({where})",
            code="csv_mapping_required")
    return Invalid.field("file", "not a bank statement format we read from its content: "
                                 "CODA, CAMT.053 (XML or ZIP), MT940, OFX, or CSV with a saved "
                                 "column mapping", code="unknown_format")


def _looks_like_csv(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0]
    return any(sep in first for sep in (b";", b",", b"\t", b"|"))


def _fingerprint(stream: BinaryIO) -> tuple[str, int, bytes]:
    digest, size = hashlib.sha256(), 0
    head = stream.read(8192)
    chunk = head
    while chunk:
        digest.update(chunk)
        size += len(chunk)
        chunk = stream.read(1 << 20)
    stream.seek(0)
    if size == 0:
        raise Invalid.field("file", "the file is empty", code="empty")
    return digest.hexdigest(), size, head


def _record_rejection(session: Session, actor: Actor, batch_id: uuid.UUID, fmt: str,
                      file_name: str | None, digest: str, size: int, strict: bool,
                      errors: list[dict[str, Any]]) -> None:
    with transaction(session):
        batch = ImportBatch(id=batch_id, format=fmt, status="rejected", file_name=file_name,
                            file_sha256=digest, file_size=size, strict=strict,
                            created_by=actor.user_id, errors=errors, statements=[],
                            warnings=[], completed_at=utcnow())
        session.add(batch)
        session.flush()
        import_events.failed(session, actor, batch)


class _Importer:
    def __init__(self, session: Session, batch: ImportBatch, fmt: str,
                 bank_account_id: uuid.UUID | None, strict: bool,
                 progress: Progress | None) -> None:
        self.session, self.batch, self.source = session, batch, fmt
        self.bank_account_id, self.strict, self.progress = bank_account_id, strict, progress
        self.rows: list[tuple[Any, ...]] = []
        self.states: dict[int, _StatementState] = {}
        # Row constants as COPY writes them, read once (ORM attributes cost per access).
        self.account_ids: dict[int, str] = {}
        self.batch_id = str(batch.id)
        self.read = 0
        session.execute(_CREATE_STAGING)

    def run(self, events: Any) -> None:
        for event in events:
            if isinstance(event, Entry):
                self._entry(event)
            elif isinstance(event, StatementStart):
                state = _StatementState(
                    event, _account_for(self.session, event, self.bank_account_id))
                self.states[event.statement_index] = state
                self.account_ids[event.statement_index] = str(state.account.id)
            elif isinstance(event, StatementEnd):
                self._end(event)
        self._stage()
        for index, state in self.states.items():
            if not state.moved:
                self._move(state, index)  # a statement without its end record
        batch = self.batch
        states = list(self.states.values())
        batch.read_count = sum(s.read for s in states)
        batch.created_count = sum(s.created for s in states)
        batch.duplicate_count = sum(s.duplicates for s in states)
        batch.updated_count = sum(s.updated for s in states)
        batch.status, batch.completed_at = "completed", utcnow()
        if len({s.account.id for s in states}) == 1 and states:
            batch.bank_account_id = states[0].account.id
        self.session.flush()

    def _entry(self, entry: Entry) -> None:
        state = self.states[entry.statement_index]
        state.read += 1
        state.total += entry.amount
        self.read += 1
        # The id as text: the same uuid7 new_id() makes, without its round trip through
        # uuid.UUID (COPY only needs the text).
        self.rows.append((
            str(uuid6.uuid7()), self.account_ids[entry.statement_index], entry.amount,
            entry.currency, entry.booking_date,
            entry.value_date, _clip(entry.counterparty_name, 200),
            _clip(entry.counterparty_iban, 64), _clip(entry.counterparty_bic, 11),
            _clean(entry.remittance), _clip(entry.structured_reference, 35),
            _clip(entry.bank_reference, 100), _clip(entry.end_to_end_id, 100),
            _clip(entry.transaction_code, 50), entry.status, self.source, self.batch_id,
            _json(entry.details), entry.statement_index, self.read))
        if len(self.rows) >= CHUNK:
            self._stage()
        elif self.progress is not None and self.read % PROGRESS_EVERY == 0:
            self.progress(self.read)

    def _end(self, end: StatementEnd) -> None:
        state = self.states[end.statement_index]
        warnings = [_warning(w, end.statement_index) for w in end.warnings]
        if self.strict and warnings:
            raise ImportRejected(
                "strict import: the file is not consistent — " + "; ".join(
                    w["message"] for w in warnings),
                errors=[FieldError(w.get("path") or f"statement {end.statement_index + 1}",
                                   w["message"], w["code"]) for w in warnings])
        self.batch.warnings = [*self.batch.warnings, *warnings]
        account = state.account
        if end.closing_balance is not None and end.closing_date is not None and (
                account.balance_date is None or end.closing_date >= account.balance_date):
            account.current_balance = end.closing_balance
            account.balance_date = end.closing_date
            account.balance_source = self.source
            account.synchronized_at = utcnow()
        self._stage()
        self._move(state, end.statement_index)
        self.batch.statements = [*self.batch.statements, {
            "index": end.statement_index, "bank_account_id": str(account.id),
            "iban": account.iban, "account_number": account.account_number,
            "statement_id": state.start.statement_id, "currency": state.start.currency,
            "opening_balance": _text(state.start.opening_balance),
            "closing_balance": _text(end.closing_balance),
            "closing_date": end.closing_date.isoformat() if end.closing_date else None,
            "read": state.read, "created": state.created, "duplicates": state.duplicates,
            "updated": state.updated, "total": str(state.total), "warnings": warnings,
        }]

    def _stage(self) -> None:
        if not self.rows:
            return
        rows, self.rows = self.rows, []
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)  # None is written as an empty field
        buffer.seek(0)
        cursor = self.session.connection().connection.cursor()
        try:
            cursor.copy_expert(
                "COPY import_staging (" + ", ".join(_STAGED) + ") FROM STDIN WITH (FORMAT csv)",
                buffer)
        finally:
            cursor.close()
        if self.progress is not None:
            self.progress(self.read)

    def _move(self, state: _StatementState, index: int) -> None:
        created, written = self.session.execute(_MOVE, {"statement_index": index}).one()
        self.session.execute(_CLEAR, {"statement_index": index})
        state.created = created
        state.updated = written - created
        state.duplicates = state.read - written
        state.moved = True


def _account_for(session: Session, start: StatementStart,
                 explicit: uuid.UUID | None) -> BankAccount:
    iban = _iban(start.account_iban)
    # An "IBAN" that fails its checksum (test exports, anonymised files) still names the
    # account: keep it as the account number rather than refuse the file.
    number = start.account_number or (start.account_iban if iban is None else None)
    if explicit is not None:
        account = session.execute(select(BankAccount).where(
            BankAccount.id == explicit, BankAccount.deleted_at.is_(None))).scalar_one_or_none()
        if account is None:
            raise Invalid.field("bank_account_id", f"no bank account {explicit}",
                                code="not_found")
        if iban and account.iban and iban != account.iban:
            raise Invalid.field("bank_account_id", f"the statement is for {iban}, the chosen "
                                                   f"account is {account.iban}")
        return account
    query = select(BankAccount).where(BankAccount.deleted_at.is_(None))
    if iban:
        query = query.where(BankAccount.iban == iban)
    elif number:
        query = query.where(BankAccount.iban.is_(None), BankAccount.account_number == number)
    else:
        raise ImportFormatError("the statement names no account", path="account")
    account = session.execute(query).scalar_one_or_none()
    if account is None:
        account = BankAccount(iban=iban, account_number=None if iban else number,
                              currency=start.currency, holder=_clip(start.account_holder, 200),
                              bic=_clip(start.bic, 11), name=None)
        session.add(account)
        session.flush()
    return account


def _iban(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return normalise_iban(value)
    except ValueError:
        return None


def _clip(value: str | None, length: int) -> str | None:
    if value is None:
        return None
    cleaned = _clean(value)
    return cleaned[:length] if cleaned else None


def _clean(value: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL; a bank file that has one still imports.
    return value.replace("\x00", "").strip() or None if value else None


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _json(details: dict[str, str]) -> str:
    if not details:
        return "{}"  # json.dumps({}), for most entries
    return json.dumps({k: _clean(v) for k, v in details.items()})


def _warning(warning: ImportWarning, statement_index: int) -> dict[str, Any]:
    return {"statement": statement_index, "code": warning.code, "message": warning.message,
            "line": warning.line, "path": warning.path}


def get_batch(*, session: Session, actor: Actor, batch_id: uuid.UUID) -> ImportBatch:
    """An import; while a worker runs it, with its live progress."""
    require(actor, Permission.FINANCE_READ)
    with transaction(session):
        batch = session.execute(select(ImportBatch).where(ImportBatch.id == batch_id)
                                ).scalar_one_or_none()
        live = uploads.live_progress(session, batch_id) if batch is not None and \
            batch.status in ("queued", "processing") else None
    if batch is None:
        raise NotFound(f"no import {batch_id}")
    if live is not None:
        session.expunge(batch)  # a view for this answer: the live figures are not saved
        batch.progress = live
    return batch
