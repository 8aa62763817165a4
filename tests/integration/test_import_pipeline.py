"""The import pipeline (ADR 0042): chunks parsed here or in a forked child process, copied
and moved chunk by chunk, occurrence numbers counted in Python or, past a limit, in
PostgreSQL. Whatever the chunking and wherever the parsing, the keys are those of ADR 0014,
re-importing changes nothing, and a broken file or a parser that dies writes nothing.

Chunk sizes and limits are made tiny here so that a few entries cross every boundary."""

from __future__ import annotations

import gc
import io
import os
import pickle
import signal
import time
import uuid
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from flask.testing import FlaskClient
from sqlalchemy import func, select

from smbfinance import heap
from smbfinance.auth.permissions import Actor, Role
from smbfinance.errors import Unavailable
from smbfinance.tenancy import tenant_scope
from smbfinance.transactions import import_service
from smbfinance.transactions.dedupe import FileKeys
from smbfinance.transactions.importers.model import Entry
from smbfinance.transactions.models import BankTransaction, ImportBatch
from tests.conftest import TenantFixture

IBAN = "BE68539007547034"
# (booking date, signed amount): runs of identical lines that chunks of 2 or 3 split.
LINES = [("2026-03-02", "-12.50")] * 5 + [("2026-03-02", "250.00"), ("2026-03-03", "-12.50")] \
    + [("2026-03-03", "-80.00")] * 4 + [("2026-03-02", "-12.50")] * 2 + [("2026-03-04", "1.00")]


def camt(lines: list[tuple[str, str]], *, broken_at: int | None = None) -> bytes:
    """A camt.053 statement; the entry at 1-based position `broken_at` has a bad amount."""
    entries = "".join(
        f'<Ntry><Amt Ccy="EUR">{"12,50" if n == broken_at else abs(Decimal(a))}</Amt>'
        f"<CdtDbtInd>{'CRDT' if Decimal(a) > 0 else 'DBIT'}</CdtDbtInd><Sts>BOOK</Sts>"
        f"<BookgDt><Dt>{d}</Dt></BookgDt><ValDt><Dt>{d}</Dt></ValDt>"
        f"<NtryDtls><TxDtls><RmtInf><Ustrd>Line {n}</Ustrd></RmtInf></TxDtls></NtryDtls>"
        "</Ntry>" for n, (d, a) in enumerate(lines, start=1))
    return ('<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:'
            'tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr><MsgId>M</MsgId><CreDtTm>'
            "2026-03-05T10:00:00</CreDtTm></GrpHdr><Stmt><Id>S</Id><CreDtTm>2026-03-05T10:00:00"
            f"</CreDtTm><Acct><Id><IBAN>{IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>{entries}"
            "</Stmt></BkToCstmrStmt></Document>").encode()


def expected_keys(lines: list[tuple[str, str]]) -> list[str]:
    """ADR 0014's keys, from the pure reference implementation, in file order."""
    from datetime import date

    keys = FileKeys()
    return [keys.key(date.fromisoformat(d), Decimal(a)) for d, a in lines]


@pytest.fixture(params=["here", "child"])
def where(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Parse in this process, or in a forked child (every file is 'large enough')."""
    if request.param == "child":
        monkeypatch.setattr(import_service, "PARSE_IN_CHILD_MIN_BYTES", 0)
    else:
        monkeypatch.setattr(import_service, "PARSE_IN_CHILD_MIN_BYTES", 1 << 40)
    return str(request.param)


@pytest.fixture()
def tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_service, "FIRST_CHUNK", 2)
    monkeypatch.setattr(import_service, "CHUNK", 3)


def owner(tenant: TenantFixture) -> Actor:
    return Actor(user_id=tenant.user_id, tenant_id=tenant.tenant_id, role=Role.OWNER)


def post(client: FlaskClient, tenant: TenantFixture, data: bytes) -> Any:
    return client.post("/api/v1/imports", headers=tenant.headers,
                       content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), "statement.xml")})


def stored_keys(db_session: Any, tenant: TenantFixture) -> list[str]:
    with tenant_scope(db_session, tenant.tenant_id) as session:
        return list(session.execute(select(BankTransaction.dedupe_key)
                                    .order_by(BankTransaction.id)).scalars())


def count(db_session: Any, tenant: TenantFixture, model: Any) -> int:
    with tenant_scope(db_session, tenant.tenant_id) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


@pytest.mark.parametrize("numbered_in_python", [1_000, 2], ids=["python", "postgresql"])
def test_identical_lines_split_across_chunks_keep_their_occurrence_numbers(
    client: FlaskClient, db_session: Any, tenant_a: TenantFixture, where: str,
    tiny_chunks: None, numbered_in_python: int, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given chunks of 2 then 3 entries, and occurrences counted in Python or (past two
    # distinct pairs) in PostgreSQL
    monkeypatch.setattr(import_service, "NUMBERED_IN_PYTHON", numbered_in_python)
    # when a statement whose identical lines straddle chunk boundaries is imported
    first = post(client, tenant_a, camt(LINES))
    # then every entry got ADR 0014's key, numbered in file order across the chunks
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["counts"]["created"] == len(LINES)
    # (ids are UUIDv7 in file order, so ordering by id gives the file's order)
    assert stored_keys(db_session, tenant_a) == expected_keys(LINES)
    # and when the same file is imported again, nothing changes
    again = post(client, tenant_a, camt(LINES)).get_json()
    assert again["counts"]["created"] == 0
    assert again["counts"]["duplicates"] == len(LINES)
    assert count(db_session, tenant_a, BankTransaction) == len(LINES)


def test_a_longer_statement_of_the_same_days_adds_only_the_new_lines(
    client: FlaskClient, db_session: Any, tenant_a: TenantFixture, where: str,
    tiny_chunks: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given the statement imported with occurrences counted in Python
    assert post(client, tenant_a, camt(LINES)).status_code == 201
    # when a later export of the same days, with one more -12.50 on 2 March, is imported
    # with the counts moving to PostgreSQL halfway
    monkeypatch.setattr(import_service, "NUMBERED_IN_PYTHON", 1)
    longer = [*LINES, ("2026-03-02", "-12.50")]
    result = post(client, tenant_a, camt(longer)).get_json()
    # then only that line is new, as the eighth -12.50 of the day
    assert result["counts"]["created"] == 1
    assert result["counts"]["duplicates"] == len(LINES)
    assert "fp:2026-03-02:-12.50:8" in stored_keys(db_session, tenant_a)


def test_a_broken_entry_in_a_late_chunk_writes_nothing(
    client: FlaskClient, db_session: Any, tenant_a: TenantFixture, where: str,
    tiny_chunks: None,
) -> None:
    # given a file whose 13th entry (several chunks in, after earlier chunks were moved)
    # has a malformed amount
    response = post(client, tenant_a, camt(LINES, broken_at=13))
    # then the file is rejected naming the entry, and nothing at all was written
    assert response.status_code == 422
    problem = response.get_json()
    assert "Ntry[13]/Amt" in problem["detail"]
    assert count(db_session, tenant_a, BankTransaction) == 0
    with tenant_scope(db_session, tenant_a.tenant_id) as session:
        statuses = list(session.execute(select(ImportBatch.status)).scalars())
    assert statuses == ["rejected"]


def _dies_in_the_child(parent: int, how: str) -> Any:
    real = import_service._Chunker._entry

    def entry(self: import_service._Chunker, event: Entry) -> None:
        if self.read == 7:
            if os.getpid() == parent:  # never take the test runner down
                raise AssertionError("expected to run in the parser's child process")
            if how == "killed":
                os.kill(os.getpid(), signal.SIGKILL)
            raise ValueError("a bug in a parser")
        real(self, event)

    return entry


@pytest.mark.parametrize("how", ["killed", "raises"])
def test_a_parser_process_that_dies_fails_the_import_cleanly(
    client: FlaskClient, db_session: Any, tenant_a: TenantFixture, tiny_chunks: None,
    monkeypatch: pytest.MonkeyPatch, how: str,
) -> None:
    # given files parsed in a child process that dies (or fails) after a few chunks
    monkeypatch.setattr(import_service, "PARSE_IN_CHILD_MIN_BYTES", 0)
    monkeypatch.setattr(import_service._Chunker, "_entry", _dies_in_the_child(os.getpid(), how))
    children: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            children.append(pid)
        return pid

    monkeypatch.setattr(import_service.os, "fork", fork)
    # when the file is imported
    with tenant_scope(db_session, tenant_a.tenant_id) as session, \
            pytest.raises(Unavailable) as failure:
        import_service.import_statements(session=session, actor=owner(tenant_a),
                                         stream=io.BytesIO(camt(LINES)))
    # then the error (for the log: its cause) says what happened and that nothing was
    # imported
    assert isinstance(failure.value.__cause__, import_service.ImportParserFailed)
    message = str(failure.value.__cause__)
    if how == "killed":
        assert f"killed by signal {signal.SIGKILL}" in message
        assert "nothing was imported" in message
    else:
        assert "ValueError: a bug in a parser" in message
    # and nothing was written, and the child was reaped (no zombie left behind)
    assert count(db_session, tenant_a, BankTransaction) == 0
    assert len(children) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(children[0], os.WNOHANG)
    # and the session is usable: the next import works
    monkeypatch.setattr(import_service._Chunker, "_entry", _ENTRY)
    assert post(client, tenant_a, camt(LINES)).status_code == 201


_ENTRY = import_service._Chunker._entry


def test_a_parser_process_killed_during_an_inline_upload_is_a_503_and_writes_nothing(
    client: FlaskClient, db_session: Any, tenant_a: TenantFixture, tiny_chunks: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given an upload imported in the request, parsed by a child process that is killed
    # after a few chunks were written
    monkeypatch.setattr(import_service, "PARSE_IN_CHILD_MIN_BYTES", 0)
    monkeypatch.setattr(import_service._Chunker, "_entry",
                        _dies_in_the_child(os.getpid(), "killed"))
    # when it is posted
    response = post(client, tenant_a, camt(LINES))
    # then the answer is a problem+json 503 that says to try again, not a 500
    assert response.status_code == 503, response.get_json()
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] == "unavailable"
    assert problem["type"].endswith("/unavailable")
    assert "nothing was imported" in problem["detail"]
    assert "try again" in problem["detail"]
    # and nothing was written: no transaction, no batch
    assert count(db_session, tenant_a, BankTransaction) == 0
    assert count(db_session, tenant_a, ImportBatch) == 0


def test_a_parser_process_that_hangs_is_stopped_by_its_alarm_and_writes_nothing(
    db_session: Any, tenant_a: TenantFixture, tiny_chunks: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a parser process limited to 1 second that hangs after a few chunks (the sleep
    # runs in the child only: the test itself waits for the alarm, about a second)
    monkeypatch.setattr(import_service, "PARSE_IN_CHILD_MIN_BYTES", 0)
    monkeypatch.setattr(import_service, "PARSE_CHILD_MAX_SECONDS", 1)
    parent = os.getpid()

    def entry(self: import_service._Chunker, event: Entry) -> None:
        if self.read == 7:
            if os.getpid() == parent:  # never hang the test runner
                raise AssertionError("expected to run in the parser's child process")
            time.sleep(60)
        _ENTRY(self, event)

    monkeypatch.setattr(import_service._Chunker, "_entry", entry)
    started = time.monotonic()
    # when the file is imported
    with tenant_scope(db_session, tenant_a.tenant_id) as session, \
            pytest.raises(Unavailable) as failure:
        import_service.import_statements(session=session, actor=owner(tenant_a),
                                         stream=io.BytesIO(camt(LINES)))
    # then the import fails within about the limit, naming the alarm, and wrote nothing
    assert time.monotonic() - started < 30
    message = str(failure.value.__cause__)
    assert f"killed by signal {int(signal.SIGALRM)} (SIGALRM" in message
    assert "nothing was imported" in message
    assert count(db_session, tenant_a, BankTransaction) == 0


def test_an_error_raised_while_waiting_for_the_child_propagates_and_the_child_is_reaped(
    db_session: Any, tenant_a: TenantFixture, tiny_chunks: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a file parsed in a child process, and the importing process interrupted while
    # it waits for the third message (as Celery's soft time limit interrupts a task)
    monkeypatch.setattr(import_service, "PARSE_IN_CHILD_MIN_BYTES", 0)
    loads = 0

    def load(stream: Any) -> Any:
        nonlocal loads
        loads += 1
        if loads == 3:
            raise SoftTimeLimitExceeded()
        return pickle.load(stream)

    # (the child inherits this stand-in, and only dumps)
    monkeypatch.setattr(import_service, "pickle", SimpleNamespace(
        load=load, dump=pickle.dump, HIGHEST_PROTOCOL=pickle.HIGHEST_PROTOCOL,
        UnpicklingError=pickle.UnpicklingError))
    children: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            children.append(pid)
        return pid

    monkeypatch.setattr(import_service.os, "fork", fork)
    # when the file is imported
    with tenant_scope(db_session, tenant_a.tenant_id) as session, \
            pytest.raises(SoftTimeLimitExceeded):
        import_service.import_statements(session=session, actor=owner(tenant_a),
                                         stream=io.BytesIO(camt(LINES)))
    # then the interruption itself came out (not "the child was killed"), nothing was
    # written, and the child was reaped
    assert count(db_session, tenant_a, BankTransaction) == 0
    assert len(children) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(children[0], os.WNOHANG)


def test_progress_from_a_child_process_counts_entries_and_bytes(
    db_session: Any, tenant_a: TenantFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a queued statement of 2,500 entries, parsed in a child process
    monkeypatch.setattr(import_service, "PARSE_IN_CHILD_MIN_BYTES", 0)
    lines = [(f"2026-01-{1 + n % 28:02d}", f"{n % 50 + 1}.00") for n in range(2_500)]
    data = camt(lines)
    with tenant_scope(db_session, tenant_a.tenant_id) as session:
        batch_id = import_service.submit_import(
            session=session, actor=owner(tenant_a), stream=io.BytesIO(data),
            inline_max_bytes=0, enqueue=lambda _batch_id: None).id
    reports: list[dict[str, int]] = []
    # when the worker's import runs with a progress sink
    with tenant_scope(db_session, tenant_a.tenant_id) as session:
        batch = import_service.run_queued_import(session=session, actor=owner(tenant_a),
                                                 batch_id=batch_id, progress=reports.append)
    # then progress came every 1,000 entries, with the bytes the child had read by then:
    # growing, within the file, and not yet all of it
    assert batch is not None and batch.status == "completed"
    assert [r["entries"] for r in reports] == [1_000, 2_000]
    read = [r["bytes"] for r in reports]
    assert 0 < read[0] < read[1] < len(data)
    assert all(r["total_bytes"] == len(data) for r in reports)
    assert batch.progress == {"entries": 2_500, "bytes": len(data), "total_bytes": len(data)}
    # and every entry was imported once
    assert batch.created_count == 2_500
    assert count(db_session, tenant_a, BankTransaction) == 2_500
    assert sorted(stored_keys(db_session, tenant_a)) == sorted(expected_keys(lines))


# Amounts with more than two decimals (camt.053 allows five, CODA writes three) are stored
# as numeric(18, 2), which rounds half away from zero; the key is spelled from the amount
# as stored, so entries that round alike share a (date, amount) pair and its numbering,
# whether it is counted in Python or in PostgreSQL.
MILLS = [("2026-03-02", "12.505"), ("2026-03-02", "12.51"), ("2026-03-02", "12.504"),
         ("2026-03-02", "12.50"), ("2026-03-02", "-12.505"), ("2026-03-02", "-12.51"),
         ("2026-03-02", "12.515"), ("2026-03-02", "12.505"), ("2026-03-02", "12.500")]
MILLS_KEYS = ["fp:2026-03-02:12.51:1", "fp:2026-03-02:12.51:2", "fp:2026-03-02:12.50:1",
              "fp:2026-03-02:12.50:2", "fp:2026-03-02:-12.51:1", "fp:2026-03-02:-12.51:2",
              "fp:2026-03-02:12.52:1", "fp:2026-03-02:12.51:3", "fp:2026-03-02:12.50:3"]


@pytest.mark.parametrize("numbered_in_python", [1_000, 2], ids=["python", "postgresql"])
def test_amounts_of_more_than_two_decimals_are_numbered_as_stored(
    client: FlaskClient, db_session: Any, tenant_a: TenantFixture, where: str,
    tiny_chunks: None, numbered_in_python: int, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given occurrences counted in Python or (past two distinct pairs) in PostgreSQL
    monkeypatch.setattr(import_service, "NUMBERED_IN_PYTHON", numbered_in_python)
    # when a statement with amounts of three decimals is imported
    first = post(client, tenant_a, camt(MILLS))
    # then each entry is numbered within the pair of its amount as stored
    assert first.status_code == 201, first.get_json()
    assert stored_keys(db_session, tenant_a) == MILLS_KEYS
    # and importing it again changes nothing
    again = post(client, tenant_a, camt(MILLS)).get_json()
    assert again["counts"]["created"] == 0
    assert again["counts"]["duplicates"] == len(MILLS)


def test_ids_are_made_in_postgresql_as_uuid7_in_file_order(
    client: FlaskClient, db_session: Any, tenant_a: TenantFixture, tiny_chunks: None,
) -> None:
    post(client, tenant_a, camt(LINES))
    with tenant_scope(db_session, tenant_a.tenant_id) as session:
        rows = session.execute(select(BankTransaction.id, BankTransaction.remittance)).all()
    assert all(isinstance(i, uuid.UUID) and i.version == 7 and i.variant == uuid.RFC_4122
               for i, _ in rows)
    in_id_order = [remittance for _, remittance in sorted(rows)]
    assert in_id_order == [f"Line {n}" for n in range(1, len(LINES) + 1)]


def test_a_strict_rejection_stops_the_parser_process_and_writes_nothing(
    client: FlaskClient, db_session: Any, tenant_a: TenantFixture, where: str,
    tiny_chunks: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a statement without a closing balance (a warning), its chunks already moved
    # when its end is read, and children recorded
    children: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            children.append(pid)
        return pid

    monkeypatch.setattr(import_service.os, "fork", fork)
    # when it is imported strictly
    response = client.post("/api/v1/imports", headers=tenant_a.headers,
                           content_type="multipart/form-data",
                           data={"file": (io.BytesIO(camt(LINES)), "s.xml"), "strict": "true"})
    # then it is rejected, nothing was written, and no parser process is left behind
    assert response.status_code == 422, response.get_json()
    assert count(db_session, tenant_a, BankTransaction) == 0
    assert len(children) == (1 if where == "child" else 0)
    for pid in children:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def test_a_child_parse_leaves_the_settled_heap_frozen_in_the_parent(
    db_session: Any, tenant_a: TenantFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a process whose start-up heap was settled (frozen) as wsgi.py and the Celery
    # worker do
    monkeypatch.setattr(import_service, "PARSE_IN_CHILD_MIN_BYTES", 0)
    threshold = gc.get_threshold()
    start_up_object: list[object] = [object()]  # a container built "at start-up"
    try:
        heap.settle_after_start()
        frozen = gc.get_freeze_count()
        assert not _seen_by_the_collector(start_up_object)
        # when a file is parsed in a child process
        with tenant_scope(db_session, tenant_a.tenant_id) as session:
            batch = import_service.import_statements(
                session=session, actor=owner(tenant_a), stream=io.BytesIO(camt(LINES)))
        assert batch.created_count == len(LINES)
        # then the parent's start-up heap is still frozen: nothing thawed, nothing added
        # (a few frozen objects may have been freed by their reference counts meanwhile;
        # gc.unfreeze() would have brought the count to 0)
        assert not _seen_by_the_collector(start_up_object)
        assert frozen - 1_000 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def _seen_by_the_collector(obj: object) -> bool:
    """Whether obj is in one of the collector's generations (frozen ones are not)."""
    return any(o is obj for o in gc.get_objects())
