"""Re-sealing every stored secret under the newest key (`smbfinance keys rotate`, ADR 0034).

What the `SecretBox` of `INTEGRATION_ENCRYPTION_KEYS` seals in the database, across all
companies: integrations' credentials (Ponto tokens, Yuki access keys), webhook endpoints'
signing secrets (current and previous) and the kept responses of idempotent requests that
carried a secret shown once (ADR 0044). Each value stays bound to its row (the same
associated data as when it was sealed), so rotation moves no secret between rows.

It runs on the owner's connection (`MIGRATION_DATABASE_URL`, the role that applies
migrations and bypasses row-level security), like a migration: an operator's act over
every company that the application role, confined to one company per transaction, cannot
do and should not be able to. No definer function is added for it.

- Batches of rows still sealed under an older key, each in its own short transaction,
  locked (`FOR UPDATE`) so a token the app rotates at the same moment is never overwritten
  with the older value; keyset paging, so a row that cannot be opened is reported and
  skipped rather than retried forever.
- Idempotent and safe to re-run after a crash: a row already under the newest key is not
  selected again; a batch interrupted mid-way was rolled back as a whole.
- Version columns are not bumped: the secret's plaintext does not change, and a request
  holding the row would otherwise fail its optimistic check for nothing.

Redis holds sealed values too (a Yuki session, 24 h; a Ponto connect's PKCE verifier,
10 min); they expire on their own, and one that no longer opens is simply renewed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text

from smbfinance.integrations.secrets import SecretBox, SecretError

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SealedColumn:
    table: str
    column: str
    context_prefix: str  # associated data: f"{prefix}:{tenant_id}:{row key}"
    key_id_column: str | None = None
    row_key: str = "id"  # with tenant_id, names the row (and orders the pages)
    binary: bool = False  # bytea holding the sealed text's ASCII bytes
    condition: str = "true"  # the rows whose value in this column is sealed

    @property
    def label(self) -> str:
        return f"{self.table}.{self.column}"

    @property
    def sealed_text(self) -> str:
        """The column as the sealed text `v1.<key id>.<data>`, in SQL."""
        return f"convert_from({self.column}, 'UTF8')" if self.binary else self.column

    def context(self, tenant_id: uuid.UUID, row_key: Any) -> str:
        return f"{self.context_prefix}:{tenant_id}:{row_key}"

    def stored(self, sealed: str) -> str | bytes:
        return sealed.encode("ascii") if self.binary else sealed


# Every column sealed with the integrations' SecretBox (tests keep this list honest).
SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    SealedColumn("integrations", "credentials", "integration", "credentials_key_id"),
    SealedColumn("webhook_endpoints", "secret", "webhook-endpoint"),
    SealedColumn("webhook_endpoints", "previous_secret", "webhook-endpoint"),
    # Kept a day at most, but a key removed within that day would turn every retry of a
    # new API key or webhook endpoint into a 409: re-sealed like the rest.
    SealedColumn("idempotency_keys", "response_body", "idempotency-response", row_key="key",
                 binary=True, condition="response_sealed"),
)


@dataclass
class RotationReport:
    total: int = 0          # values under an older key when the run started
    rotated: int = 0        # re-sealed under the newest key
    failed: list[str] = field(default_factory=list)  # "table.column row: reason"
    per_column: dict[str, int] = field(default_factory=dict)


def _stale(column: SealedColumn) -> str:
    # The key id is the second dot-separated part of `v1.<key id>.<data>`.
    return (f"{column.condition} AND {column.column} IS NOT NULL "
            f"AND split_part({column.sealed_text}, '.', 2) <> :primary")


def count_stale(*, engine: Engine, box: SecretBox) -> dict[str, int]:
    """Values per column still sealed under a key other than the newest."""
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        for column in SEALED_COLUMNS:
            counts[column.label] = conn.execute(
                text(f"SELECT count(*) FROM {column.table} WHERE {_stale(column)}"),  # noqa: S608 - names are ours
                {"primary": box.primary.id}).scalar_one()
    return counts


def rotate_keys(*, engine: Engine, box: SecretBox, batch_size: int = 100,
                progress: Progress | None = None) -> RotationReport:
    """Re-seal every value not under `box.primary`; `engine` connects as the owner."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    stale = count_stale(engine=engine, box=box)
    report = RotationReport(total=sum(stale.values()))
    done = 0
    if progress:
        progress(0, report.total)
    for column in SEALED_COLUMNS:
        after: tuple[uuid.UUID, Any] | None = None
        report.per_column[column.label] = 0
        while True:
            rows, after = _rotate_batch(engine, box, column, after, batch_size, report)
            done += rows
            if progress and rows:
                progress(done, max(report.total, done))
            if after is None:
                break
    return report


def _rotate_batch(engine: Engine, box: SecretBox, column: SealedColumn,
                  after: tuple[uuid.UUID, Any] | None, batch_size: int,
                  report: RotationReport) -> tuple[int, tuple[uuid.UUID, Any] | None]:
    """One transaction: lock a page of stale rows, re-seal them; the last key seen (None
    when the page was the last)."""
    where = _stale(column)
    params: dict[str, object] = {"primary": box.primary.id, "limit": batch_size}
    if after is not None:
        where += f" AND (tenant_id, {column.row_key}) > (:after_tenant, :after_key)"
        params.update(after_tenant=after[0], after_key=after[1])
    sets = f"{column.column} = :sealed" + (
        f", {column.key_id_column} = :key_id" if column.key_id_column else "")
    with engine.begin() as conn:
        rows = conn.execute(text(
            f"SELECT tenant_id, {column.row_key}, {column.sealed_text} FROM {column.table} "  # noqa: S608 - names are ours
            f"WHERE {where} ORDER BY tenant_id, {column.row_key} LIMIT :limit FOR UPDATE"),
            params).all()
        for tenant_id, row_key, sealed in rows:
            context = column.context(tenant_id, row_key)
            try:
                fresh = box.rotate(sealed, context=context)
            except SecretError as error:
                report.failed.append(f"{column.label} {row_key}: {error}")
                continue
            conn.execute(text(f"UPDATE {column.table} SET {sets} "  # noqa: S608 - names are ours
                              f"WHERE tenant_id = :tenant_id AND {column.row_key} = :row_key"),
                         {"sealed": column.stored(fresh), "key_id": box.primary.id,
                          "tenant_id": tenant_id, "row_key": row_key})
            report.rotated += 1
            report.per_column[column.label] += 1
    last = (rows[-1][0], rows[-1][1]) if len(rows) == batch_size else None
    return len(rows), last
