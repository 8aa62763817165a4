"""Log lines carry the request id and tenant id of the work they belong to."""

from __future__ import annotations

import io
import json
import logging

from pythonjsonlogger.json import JsonFormatter

from smbfinance.logs import ContextFilter, bind_log_context, clear_log_context


def _json_line(message: str) -> dict[str, str]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter("%(levelname)s %(message)s %(request_id)s %(tenant_id)s"))
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info(message)
    finally:
        logger.removeHandler(handler)
    return json.loads(stream.getvalue())


def test_bound_context_appears_in_json_line() -> None:
    # given a request id and a tenant bound for this unit of work
    clear_log_context()
    bind_log_context(request_id="req-1", tenant_id="t-1")
    # when something logs
    line = _json_line("hello")
    # then the JSON line carries both
    assert line["request_id"] == "req-1" and line["tenant_id"] == "t-1"
    clear_log_context()


def test_cleared_context_does_not_leak_into_the_next_line() -> None:
    bind_log_context(request_id="req-2", tenant_id="t-2")
    clear_log_context()
    line = _json_line("next")
    assert line["request_id"] == "-" and line["tenant_id"] == "-"
