"""Fault knobs shared by both simulators. A test arms a fault for the next N matching
requests; the simulator takes it before answering. Thread-safe.

Kinds (params):
  latency(seconds)           answer normally after a delay
  timeout(seconds)           hold the request longer than any client timeout, then answer
  status(status, retry_after) answer with that HTTP status (429, 500, 503 ...) and an error
  malformed()                200 with a body that is not JSON / XML
  truncated()                200 with the first half of the real body
  expired_token()            401 as if the access token had expired      (Ponto)
  duplicate_page()           the page repeats the previous page's items  (Ponto lists)
  reorder()                  the page's items in reverse order            (Ponto lists)
  soap_fault(message)        a SOAP fault with that text                  (Yuki)
  quota()                    the provider's daily allowance is spent      (both)
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = {"latency", "timeout", "status", "malformed", "truncated", "expired_token",
         "duplicate_page", "reorder", "soap_fault", "quota"}


@dataclass
class Fault:
    kind: str
    path: re.Pattern[str] | None
    method: str | None
    remaining: int
    params: dict[str, Any] = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method != method:
            return False
        return self.path is None or bool(self.path.search(path))


class FaultPlan:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.taken: list[str] = []  # kinds in the order they fired, for assertions

    def add(self, kind: str, *, path: str | None = None, method: str | None = None,
            times: int = 1, **params: Any) -> None:
        """Arm `kind` for the next `times` requests whose path matches the regex `path`
        (anywhere) and whose method is `method` (any when None)."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(sorted(KINDS))}")
        with self._lock:
            self._faults.append(Fault(kind, re.compile(path) if path else None,
                                      method.upper() if method else None, times, params))

    def take(self, method: str, path: str, kinds: set[str] | None = None) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if (kinds is None or fault.kind in kinds) and fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    self.taken.append(fault.kind)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def armed(self) -> int:
        with self._lock:
            return sum(f.remaining for f in self._faults)
