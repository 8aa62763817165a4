"""Helpers for parser tests: group a parser's event stream into statements."""

from __future__ import annotations

from smbfinance.transactions.importers.model import Entry, Event, StatementEnd, StatementStart


def statements(events: list[Event]) -> list[tuple[StatementStart, list[Entry], StatementEnd]]:
    """(start, entries, end) per statement; fails when the stream is not well nested."""
    result: list[tuple[StatementStart, list[Entry], StatementEnd]] = []
    start: StatementStart | None = None
    entries: list[Entry] = []
    for event in events:
        if isinstance(event, StatementStart):
            assert start is None, "StatementStart inside a statement"
            start, entries = event, []
        elif isinstance(event, Entry):
            assert start is not None and event.statement_index == start.statement_index
            entries.append(event)
        else:
            assert start is not None and event.statement_index == start.statement_index
            result.append((start, entries, event))
            start = None
    assert start is None, "statement without StatementEnd"
    return result
