"""Re-sealing every stored secret under the newest key (`smbfinance keys rotate`, ADR 0034).

What the `SecretBox` of `INTEGRATION_ENCRYPTION_KEYS` seals in the database, across all
companies: integrations' credentials (Ponto tokens, Yuki access keys) and webhook
endpoints' signing secrets (current and previous). Each value stays bound to its row (the
same associated data as when it was sealed), so rotation moves no secret between rows.

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

from sqlalchemy import Engine, text

from smbfinance.integrations.secrets import SecretBox, SecretError

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SealedColumn:
    table: str
    column: str
    context_prefix: str  # associated data: f"{prefix}:{tenant_id}:{row id}"
    key_id_column: str | None = None

    @property
    def label(self) -> str:
        return f"{self.table}.{self.column}"

    def context(self, tenant_id: uuid.UUID, row_id: uuid.UUID) -> str:
        return f"{self.context_prefix}:{tenant_id}:{row_id}"


# Every column sealed with the integrations' SecretBox (tests/unit keep this list honest).
SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    SealedColumn("integrations", "credentials", "integration", "credentials_key_id"),
    SealedColumn("webhook_endpoints", "secret", "webhook-endpoint"),
    SealedColumn("webhook_endpoints", "previous_secret", "webhook-endpoint"),
)


@dataclass
class RotationReport:
    total: int = 0          # values under an older key when the run started
    rotated: int = 0        # re-sealed under the newest key
    failed: list[str] = field(default_factory=list)  # "table.column row: reason"
    per_column: dict[str, int] = field(default_factory=dict)


def _stale(column: SealedColumn) -> str:
    # The key id is the second dot-separated part of `v1.<key id>.<data>`.
    return (f"{column.column} IS NOT NULL "
            f"AND split_part({column.column}, '.', 2) <> :primary")


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
        after: tuple[uuid.UUID, uuid.UUID] | None = None
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
                  after: tuple[uuid.UUID, uuid.UUID] | None, batch_size: int,
                  report: RotationReport) -> tuple[int, tuple[uuid.UUID, uuid.UUID] | None]:
    """One transaction: lock a page of stale rows, re-seal them; the last key seen (None
    when the page was the last)."""
    where = _stale(column)
    params: dict[str, object] = {"primary": box.primary.id, "limit": batch_size}
    if after is not None:
        where += " AND (tenant_id, id) > (:after_tenant, :after_id)"
        params.update(after_tenant=after[0], after_id=after[1])
    sets = f"{column.column} = :sealed" + (
        f", {column.key_id_column} = :key_id" if column.key_id_column else "")
    with engine.begin() as conn:
        rows = conn.execute(text(
            f"SELECT tenant_id, id, {column.column} FROM {column.table} WHERE {where} "  # noqa: S608 - names are ours
            "ORDER BY tenant_id, id LIMIT :limit FOR UPDATE"), params).all()
        for tenant_id, row_id, sealed in rows:
            context = column.context(tenant_id, row_id)
            try:
                fresh = box.rotate(sealed, context=context)
            except SecretError as error:
                report.failed.append(f"{column.label} {row_id}: {error}")
                continue
            conn.execute(text(f"UPDATE {column.table} SET {sets} "  # noqa: S608 - names are ours
                              "WHERE tenant_id = :tenant_id AND id = :id"),
                         {"sealed": fresh, "key_id": box.primary.id, "tenant_id": tenant_id,
                          "id": row_id})
            report.rotated += 1
            report.per_column[column.label] += 1
    last = (rows[-1][0], rows[-1][1]) if len(rows) == batch_size else None
    return len(rows), last
