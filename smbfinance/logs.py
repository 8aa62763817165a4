"""Logging: JSON lines in production (python-json-logger), readable text in development.
Each record carries the request id and tenant id of the work it belongs to."""

from __future__ import annotations

import contextvars
import logging
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "smbfinance_log_context", default=None
)


def bind_log_context(**values: Any) -> None:
    current = dict(_context.get() or {})
    current.update({k: str(v) for k, v in values.items() if v is not None})
    _context.set(current)


def log_context() -> dict[str, Any]:
    return dict(_context.get() or {})


def clear_log_context() -> None:
    _context.set({})


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get() or {}
        record.request_id = context.get("request_id", "-")
        record.tenant_id = context.get("tenant_id", "-")
        return True


def configure_logging(*, level: str = "INFO", json_lines: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    if json_lines:
        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(tenant_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        ))
    else:
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)-5s [%(request_id)s %(tenant_id)s] %(name)s: %(message)s"
        ))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_smbfinance", False):
            root.removeHandler(existing)
    handler._smbfinance = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
