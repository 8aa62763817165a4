"""Readiness: can we reach PostgreSQL and Redis, and is the schema at the latest migration?"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from smbfinance.tenancy import public_scope


@dataclass
class Readiness:
    checks: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(value == "ok" for value in self.checks.values())


def check_readiness(
    *,
    session: Session,
    ping_redis: Callable[[], object],
    expected_heads: set[str],
) -> Readiness:
    readiness = Readiness()
    current: set[str] | None = None
    try:
        with public_scope(session):
            current = set(session.execute(text("SELECT version_num FROM alembic_version"))
                          .scalars())
            session.rollback()
        readiness.checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001  - a probe reports, it does not raise
        session.rollback()
        readiness.checks["database"] = f"unreachable: {type(exc).__name__}"
    if current is None:
        readiness.checks["migrations"] = "unknown: database unreachable"
    elif current == expected_heads:
        readiness.checks["migrations"] = "ok"
    else:
        readiness.checks["migrations"] = (
            f"not at head (database {sorted(current)}, code {sorted(expected_heads)}): "
            "run `smbfinance db upgrade`"
        )
    try:
        ping_redis()
        readiness.checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        readiness.checks["redis"] = f"unreachable: {type(exc).__name__}"
    return readiness
