"""Statement import: detect the format, stream the file, write transactions in bulk,
exactly once, in ONE transaction — a structurally broken file writes nothing.

Bulk path: entries are laid out in chunks, each copied into a temporary table (COPY cannot
target a table with row-level security) and moved with `INSERT … SELECT … ON CONFLICT` on
the per-account dedupe key. A pending transaction read again as booked is updated in place,
not added. A large file is parsed in a forked child process that streams the chunks while
this process writes the previous one (ADR 0042).
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import gc
import hashlib
import io
import json
import logging
import os
import pickle
import signal
import sys
import time
import uuid
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, BinaryIO, NoReturn, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.categorisation import service as categorisation
from smbfinance.contacts.validation import normalise_iban
from smbfinance.db import new_id, on_commit, transaction, utcnow
from smbfinance.errors import FieldError, Invalid, NotFound, Unavailable
from smbfinance.reconciliation import service as reconciliation
from smbfinance.transactions import csv_mapping_service as csv_mappings
from smbfinance.transactions import import_events, importers, uploads
from smbfinance.transactions.importers.csv_mapping import CsvMapping
from smbfinance.transactions.importers.model import (
    Entry,
    Event,
    Format,
    ImportFormatError,
    ImportWarning,
    StatementEnd,
    StatementStart,
)
from smbfinance.transactions.models import BankAccount, ImportBatch

log = logging.getLogger(__name__)

# Entries per staged chunk, at most. With a parser process, the parser is the slower side on
# two cores: the importer waits for every chunk, and all it still has to write once the
# last one arrives is that chunk, so small chunks keep the tail short. Below ~500 the two
# round trips per chunk cost more than they save (bench.ingest, 10,000 entries: 2,000 →
# 0.57, 1,000 → 0.63–0.64, 500 → 0.65–0.69, 250 → 0.61–0.63).
CHUNK = 500
# A statement's first chunk; the next ones grow to CHUNK (the same size today: the growth
# is kept for a CHUNK larger than the first, e.g. where PostgreSQL is the slower side).
FIRST_CHUNK = 500
# Distinct (booking date, amount) pairs of one statement numbered in Python; beyond that
# the counts move to PostgreSQL, so memory stays flat however long the statement is.
NUMBERED_IN_PYTHON = 10_000
PROGRESS_EVERY = 1_000  # entries between two progress reports
# From this size on (~3,000 camt.053 entries), the file is parsed in a child process while
# this one writes (ADR 0042); below it, the child's start (the fork, then ~50 ms of pages
# copied as it first writes to them) costs more than the overlap brings.
PARSE_IN_CHILD_MIN_BYTES = 1 << 20
# A parser process still running after this long is killed by its own alarm (SIGALRM), so
# that a hung parse fails the import instead of blocking it: nothing else bounds the wait
# (the queue sets no time limit). Far above what any file we accept takes to parse.
PARSE_CHILD_MAX_SECONDS = 900
# fork() without exec: Linux only (macOS forbids it once some system frameworks are loaded).
_CAN_FORK = sys.platform.startswith("linux")
_PIPE_BYTES = 1 << 20  # Linux's default limit for an unprivileged process
Progress = Callable[[int], None]  # entries read so far
_EntriesAndBytes = Callable[[int, int], None]  # entries, and bytes of the file, read so far
# {"entries": read so far, "bytes": of the file read so far, "total_bytes": its size}
ProgressSink = Callable[[dict[str, int]], None]

# Staged per entry; the account, the batch and the source are the same for a whole chunk
# and are given to the move as parameters.
_COLUMNS = ("amount", "currency", "booking_date", "value_date",
            "counterparty_name", "counterparty_iban", "counterparty_bic", "remittance",
            "structured_reference", "bank_reference", "end_to_end_id", "transaction_code",
            "status", "details")
_STAGED = (*_COLUMNS, "seq", "n")
# Both tables live as long as the import's transaction. The staging table holds one chunk
# at a time (emptied before the next) and has no index. The occurrence table is only used
# for a statement with more than NUMBERED_IN_PYTHON distinct (date, amount) pairs: how many
# entries of each pair were numbered so far (ADR 0042).
_CREATE_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS import_staging ("
    " amount numeric(18, 2), currency text,"
    " booking_date date, value_date date, counterparty_name text, counterparty_iban text,"
    " counterparty_bic text, remittance text, structured_reference text,"
    " bank_reference text, end_to_end_id text, transaction_code text, status text,"
    " details jsonb, seq bigint, n bigint) ON COMMIT DROP;"
    " CREATE TEMP TABLE IF NOT EXISTS import_occurrences ("
    " statement_index int, booking_date date, amount numeric(18, 2), n bigint,"
    " PRIMARY KEY (statement_index, booking_date, amount)) ON COMMIT DROP;"
    # Two imports in one outer transaction (nested use) must not share counts.
    " TRUNCATE import_staging, import_occurrences"
)
# The staging table is emptied in the same round trip as the next chunk is copied.
_COPY = ("TRUNCATE import_staging; COPY import_staging (" + ", ".join(_STAGED)
         + ") FROM STDIN WITH (FORMAT csv)")
_COPY_COUNTS = ("COPY import_occurrences (statement_index, booking_date, amount, n)"
                " FROM STDIN WITH (FORMAT csv)")
# The id is a UUIDv7 made in PostgreSQL (no Python per row): the 48-bit millisecond
# timestamp of the import, then the entry's position in the file (30 bits, over the 12
# bits of rand_a and the top of rand_b), then 44 random bits. Ids therefore keep the file
# order within an import, like the ids new_id() handed out one by one before (ADR 0042).
_ID = (
    "encode(int8send((%(id_ms)s::bigint << 16) | 28672 | ((seq >> 18) & 4095))"
    " || int8send('-9223372036854775808'::bigint | ((seq & 262143) << 44)"
    " | floor(random() * 17592186044416)::bigint), 'hex')::uuid"
)
# The dedupe key (ADR 0014): fp:<date>:<amount, 2 decimals>:<n>, n counting that date and
# amount within the statement in file order. amount::text of numeric(18, 2) always has two
# decimals, so the key is spelled by PostgreSQL, from the amount as stored.
_INSERT = (
    "INSERT INTO bank_transactions (id, bank_account_id, import_batch_id, source, "  # noqa: S608
    + ", ".join(_COLUMNS) + ", dedupe_key)"
    " SELECT " + _ID + ", %(account)s::uuid, %(batch)s::uuid, %(source)s, "
    + ", ".join(_COLUMNS) + ","
    " 'fp:' || booking_date::text || ':' || amount::text || ':' || n FROM {source}"
    " ON CONFLICT (tenant_id, bank_account_id, dedupe_key) DO UPDATE SET"
    "  status = 'booked', booking_date = EXCLUDED.booking_date,"
    "  value_date = EXCLUDED.value_date, bank_reference = EXCLUDED.bank_reference,"
    "  import_batch_id = EXCLUDED.import_batch_id, updated_at = now(),"
    "  version = bank_transactions.version + 1"
    " WHERE bank_transactions.status = 'pending' AND EXCLUDED.status = 'booked'"
    " RETURNING (xmax = 0) AS inserted"
)
# A chunk numbered in Python: a plain move.
_MOVE = (
    "WITH moved AS (" + _INSERT.format(source="import_staging") + ")"  # noqa: S608
    " SELECT count(*) FILTER (WHERE inserted), count(*) FROM moved"
)
# A chunk of a statement numbered in PostgreSQL: n continues from the counts of the
# earlier chunks, which are updated in the same statement (all CTEs see the snapshot from
# before it, so `numbered` reads the counts as they were before this chunk).
_MOVE_COUNTED = (
    "WITH chunk AS MATERIALIZED ("  # noqa: S608  - the column names are our own constants
    " SELECT " + ", ".join(_COLUMNS) + ", seq,"
    " row_number() OVER (PARTITION BY booking_date, amount ORDER BY seq) AS k"
    " FROM import_staging),"
    " numbered AS MATERIALIZED ("
    " SELECT c.*, c.k + coalesce(o.n, 0) AS n FROM chunk c LEFT JOIN import_occurrences o"
    " ON o.statement_index = %(statement_index)s AND o.booking_date = c.booking_date"
    " AND o.amount = c.amount),"
    " counted AS ("
    " INSERT INTO import_occurrences (statement_index, booking_date, amount, n)"
    " SELECT %(statement_index)s, booking_date, amount, max(n) FROM numbered"
    " GROUP BY booking_date, amount"
    " ON CONFLICT (statement_index, booking_date, amount) DO UPDATE SET n = EXCLUDED.n),"
    " moved AS (" + _INSERT.format(source="numbered") + ")"
    " SELECT count(*) FILTER (WHERE inserted), count(*) FROM moved"
)
# What the producer hands the importer, in file order (see _Chunker).
_START, _ROWS, _COUNTS, _END, _PROGRESS = "start", "rows", "counts", "end", "progress"
# How a child process's stream of messages ends.
_DONE, _REJECTED, _FAILED = "done", "rejected", "failed"


class ImportParserFailed(RuntimeError):
    """The process reading the file stopped without finishing it (killed, out of memory, a
    bug in a parser): the import wrote nothing."""


Message = tuple[Any, ...]
MessageSource = Generator[Message, None, None]


class _Chunker:
    """The parser's events turned into what the importer writes: COPY-ready chunks of one
    statement's rows. Pure — no database, no session — so that it can run in a process of
    its own (_in_child) while the importer writes the previous chunk (ADR 0042).

    Messages, in file order: (_START, StatementStart); (_ROWS, numbered, statement index,
    entries, their sum, CSV text, file position); (_COUNTS, statement index, CSV text) when
    a statement's occurrence counts move to PostgreSQL; (_PROGRESS, entries, file
    position) every PROGRESS_EVERY entries between chunks; (_END, StatementEnd).
    """

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.out: list[Message] = []
        self.rows: list[tuple[Any, ...]] = []
        self.rows_statement = -1  # the statement the buffered rows belong to
        self.rows_numbered = True  # whether they carry their occurrence number (n)
        self.total = Decimal(0)  # of the buffered rows
        self.read = 0  # entries so far, all statements: the rows' seq
        self.statement_read = 0  # entries of the current statement handed over so far
        self.limit = FIRST_CHUNK  # rows of the chunk being built
        # Per statement: how many entries of each (booking date, amount) so far; None once
        # the statement has too many pairs to keep here (then PostgreSQL counts).
        self.occurrences: dict[int, dict[tuple[date, Decimal], int] | None] = {}

    def messages(self, events: Iterable[Event]) -> MessageSource:
        out = self.out
        for event in events:
            if isinstance(event, Entry):
                self._entry(event)
            elif isinstance(event, StatementStart):
                self._flush()
                self.statement_read, self.limit = 0, FIRST_CHUNK
                self.occurrences[event.statement_index] = {}
                out.append((_START, event))
            elif isinstance(event, StatementEnd):
                self._flush()
                self.occurrences[event.statement_index] = None  # its counts are freed
                out.append((_END, event))
            if out:
                yield from out
                out.clear()
        self._flush()
        yield from out
        out.clear()

    def _entry(self, entry: Entry) -> None:
        index = entry.statement_index
        seen = self.occurrences.get(index)
        if seen is not None and len(seen) >= NUMBERED_IN_PYTHON:
            self._count_in_postgresql(index, seen)
            seen = None
        numbered = seen is not None
        if index != self.rows_statement or numbered != self.rows_numbered:
            self._flush()  # a chunk: rows of one statement, numbered alike
            self.rows_statement, self.rows_numbered = index, numbered
        self.read += 1
        self.total += entry.amount
        n: int | None = None
        if seen is not None:
            # The pair as PostgreSQL compares it: numeric(18, 2) rounds half away from zero.
            slot = (entry.booking_date, entry.amount.quantize(_CENT, ROUND_HALF_UP))
            n = seen.get(slot, 0) + 1
            seen[slot] = n
        self.rows.append((
            entry.amount, entry.currency, entry.booking_date, entry.value_date,
            _clip(entry.counterparty_name, 200), _clip(entry.counterparty_iban, 64),
            _clip(entry.counterparty_bic, 11), _clean(entry.remittance),
            _clip(entry.structured_reference, 35), _clip(entry.bank_reference, 100),
            _clip(entry.end_to_end_id, 100), _clip(entry.transaction_code, 50),
            entry.status, _json(entry.details), self.read, n))
        if len(self.rows) >= self.limit:
            self._flush()
        elif self.read % PROGRESS_EVERY == 0:
            self.out.append((_PROGRESS, self.read, self._position()))

    def _count_in_postgresql(self, index: int, seen: dict[tuple[date, Decimal], int]) -> None:
        """Too many distinct (date, amount) pairs to count here: hand the counts so far to
        PostgreSQL, which numbers the statement's remaining chunks itself."""
        self._flush()
        self.occurrences[index] = None
        buffer = io.StringIO()
        csv.writer(buffer).writerows((index, day, amount, n)
                                     for (day, amount), n in seen.items())
        seen.clear()
        self.out.append((_COUNTS, index, buffer.getvalue()))

    def _flush(self) -> None:
        if not self.rows:
            return
        rows, self.rows = self.rows, []
        self.statement_read += len(rows)
        self.limit = min(CHUNK, max(FIRST_CHUNK, self.statement_read))
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)  # None is written as an empty field
        self.out.append((_ROWS, self.rows_numbered, self.rows_statement, len(rows), self.total,
                         buffer.getvalue(), self._position()))
        self.total = Decimal(0)

    def _position(self) -> int:
        try:
            return self.stream.tell()
        except (OSError, ValueError):  # a stream that cannot tell: no byte progress
            return 0


def _in_child(messages: Callable[[], Iterable[Message]]) -> MessageSource:
    """`messages()` run in a forked process, streamed back through a pipe.

    The child shares nothing it could harm: it reads the file (its own copy of the upload,
    or the same file descriptor, which this process leaves alone meanwhile), writes only to
    the pipe and leaves with os._exit, running no cleanup that could touch the inherited
    database connections. The pipe's buffer is the only queue: the child runs at most about
    one chunk ahead, so memory stays flat. Closing the returned generator (the import
    failed, or finished) kills and reaps the child if it is still there.
    """
    read_fd, write_fd = os.pipe()
    # A pipe that holds a whole chunk: the child hands one over and parses on, instead of
    # waiting for this process to read it 64 KiB at a time.
    with contextlib.suppress(OSError):
        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    try:
        pid = os.fork()
    except BaseException:
        os.close(read_fd)
        os.close(write_fd)
        raise
    if pid == 0:  # pragma: no cover - the child's side (its outcome is what tests see)
        os.close(read_fd)
        _child(messages, write_fd)
    os.close(write_fd)
    return _from_child(pid, read_fd)


def _child(messages: Callable[[], Iterable[Message]], write_fd: int) -> NoReturn:
    code = 0
    try:
        # Frozen objects are left alone by this process's garbage collector: without this,
        # its first full collection would walk (and so copy, page by page) the whole
        # inherited heap. Frozen here, not in the parent around the fork: the parent's
        # gc.unfreeze() would also thaw the start-up heap that heap.settle_after_start()
        # froze for good. It only splices the collector's lists: no cost per object.
        gc.freeze()
        # A hung parse ends here, by the default action of SIGALRM (whatever handler was
        # inherited): the importer reads EOF and fails the import naming the signal.
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.alarm(PARSE_CHILD_MAX_SECONDS)
        with os.fdopen(write_fd, "wb") as out:
            try:
                for message in messages():
                    pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
                last: Message = (_DONE,)
            except ImportFormatError as error:
                last = (_REJECTED, error.message, error.line, error.path)
            except Exception as error:  # noqa: BLE001  - reported to the importer
                last = (_FAILED, f"{type(error).__name__}: {error}")
            pickle.dump(last, out, protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException:  # noqa: BLE001  - the importer is gone (broken pipe): just leave
        code = 1
    finally:
        os._exit(code)


def _from_child(pid: int, read_fd: int) -> MessageSource:
    ended = False
    status: int | None = None
    try:
        with os.fdopen(read_fd, "rb") as incoming:
            while True:
                try:
                    message = pickle.load(incoming)  # noqa: S301  - our own child's
                except (EOFError, pickle.UnpicklingError):
                    # EOF ("ran out of input"), or a message torn off by the child's death
                    # ("pickle data was truncated"). Anything else raised while we wait (a
                    # worker's soft time limit, an interrupt) is not the child's doing: it
                    # propagates, and the finally below still kills and reaps the child.
                    break
                kind = message[0]
                if kind == _DONE:
                    ended = True
                    return
                if kind == _REJECTED:
                    ended = True
                    raise ImportFormatError(message[1], line=message[2], path=message[3])
                if kind == _FAILED:
                    ended = True
                    raise ImportParserFailed(f"reading the file failed: {message[1]}")
                yield message
    finally:
        if not ended:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            _pid, status = os.waitpid(pid, 0)
        except ChildProcessError:  # reaped by someone else's SIGCHLD handler
            status = None
    how = ("its exit status is unknown" if status is None
           else _killed_by(os.WTERMSIG(status)) if os.WIFSIGNALED(status)
           else f"exit status {os.WEXITSTATUS(status)}")
    raise ImportParserFailed(
        f"the process reading the file stopped before the end of the file ({how}); "
        "nothing was imported")


def _killed_by(number: int) -> str:
    try:
        name = signal.Signals(number).name
    except ValueError:
        return f"killed by signal {number}"
    if number == signal.SIGALRM:
        return (f"killed by signal {number} ({name}: still reading after "
                f"{PARSE_CHILD_MAX_SECONDS} s)")
    return f"killed by signal {number} ({name})"


def _messages(parser: importers.Parser, stream: BinaryIO, size: int) -> MessageSource:
    """The file's messages: parsed in a child process when the file is large enough for
    the overlap to pay for the fork, else here (the same code, one after the other)."""
    def produce() -> MessageSource:
        return _Chunker(stream).messages(parser.parse(stream))

    if size >= PARSE_IN_CHILD_MIN_BYTES and _CAN_FORK:
        return _in_child(produce)
    return produce()

_CENT = Decimal("0.01")


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
    ImportRejected (after recording a rejected batch) when nothing could be written, or
    Unavailable (nothing recorded; its cause an ImportParserFailed) when the process
    reading the file stopped before its end."""
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

            def report(entries: int, position: int) -> None:
                if progress is not None:
                    progress(_progress(entries, position, size))

            _run(session, actor, batch, batch.format, stream, size, csv_mapping, report)
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
            _run(session, actor, batch, fmt, stream, size, upload.csv_mapping,
                 None if progress is None else lambda entries, _position: progress(entries))
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
    except ImportParserFailed as failure:
        # The transaction rolled back: no batch, no transaction. What happened to the
        # parser process (killed, out of memory, its alarm) is for the log (and the
        # cause), not for the client.
        log.warning("inline import failed: its parser process stopped", exc_info=True)
        raise Unavailable(
            "the file could not be read to its end, and nothing was imported: try again; "
            "if it fails again, the file may be too large to import while you wait — "
            "split it into smaller files, or tell us") from failure
    return batch


def _run(session: Session, actor: Actor, batch: ImportBatch, fmt: str, stream: BinaryIO,
         size: int, csv_mapping: CsvMapping | None, progress: _EntriesAndBytes | None) -> None:
    """The one import path, inline or queued: parse, stage, move, categorise, reconcile."""
    importer = _Importer(session, batch, fmt, batch.bank_account_id, batch.strict, progress)
    messages = _messages(importers.parser_for(cast(Format, fmt), csv_mapping), stream, size)
    try:
        importer.run(messages)
    finally:
        messages.close()  # on failure: stops (and reaps) a parser process still running
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
    """Writes what the producer (_Chunker, here or in a child process) hands it, one chunk
    at a time, in the import's transaction."""

    def __init__(self, session: Session, batch: ImportBatch, fmt: str,
                 bank_account_id: uuid.UUID | None, strict: bool,
                 progress: _EntriesAndBytes | None) -> None:
        self.session, self.batch, self.source = session, batch, fmt
        self.bank_account_id, self.strict, self.progress = bank_account_id, strict, progress
        self.states: dict[int, _StatementState] = {}
        self.account_ids: dict[int, str] = {}
        self.batch_id = str(batch.id)
        self.read = self.reported = 0  # entries written so far; at the last progress report
        self.id_ms = time.time_ns() // 1_000_000  # the ids' UUIDv7 timestamp
        session.flush()  # the batch row: the chunks' foreign keys point at it
        self.connection = session.connection().connection.driver_connection
        with self.connection.cursor() as cursor:
            cursor.execute(_CREATE_STAGING)

    def run(self, messages: Iterable[Message]) -> None:
        for message in messages:
            kind = message[0]
            if kind == _ROWS:
                self._rows(*message[1:])
            elif kind == _START:
                self._start(message[1])
            elif kind == _END:
                self._end(message[1])
            elif kind == _COUNTS:
                with self.connection.cursor() as cursor:
                    cursor.copy_expert(_COPY_COUNTS, io.StringIO(message[2]))
            elif kind == _PROGRESS:
                self._report(message[1], message[2])
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

    def _start(self, start: StatementStart) -> None:
        state = _StatementState(start, _account_for(self.session, start, self.bank_account_id))
        self.states[start.statement_index] = state
        self.account_ids[start.statement_index] = str(state.account.id)

    def _rows(self, numbered: bool, index: int, count: int, total: Decimal, data: str,
              position: int) -> None:
        state = self.states[index]
        with self.connection.cursor() as cursor:
            # One read of the whole chunk, sent with the GIL released.
            cursor.copy_expert(_COPY, io.StringIO(data), size=len(data) + 1)
            cursor.execute(_MOVE if numbered else _MOVE_COUNTED, {
                "statement_index": index, "id_ms": self.id_ms,
                "account": self.account_ids[index], "batch": self.batch_id,
                "source": self.source})
            created, written = cursor.fetchone()
        state.read += count
        state.total += total
        state.created += created
        state.updated += written - created
        state.duplicates = state.read - state.created - state.updated
        self.read += count
        self._report(self.read, position)

    def _report(self, entries: int, position: int) -> None:
        """Progress every PROGRESS_EVERY entries (chunks are not that regular)."""
        if self.progress is not None and \
                entries // PROGRESS_EVERY > self.reported // PROGRESS_EVERY:
            self.reported = entries
            self.progress(entries, position)

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
