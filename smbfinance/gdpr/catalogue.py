"""Which tables hold a company's data, read from PostgreSQL's own catalogue: every table
with a tenant_id column (and `tenants`), so a table added by a later migration is
exported and scanned for personal data without anyone remembering to list it here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

_COLUMNS = text("""
    SELECT c.relname AS table_name, a.attname AS column_name,
           format_type(a.atttypid, a.atttypmod) AS type_name,
           t.typname AS base_type, a.attnum,
           CASE WHEN a.atttypmod > 4 AND t.typname IN ('varchar', 'bpchar')
                THEN a.atttypmod - 4 END AS max_length,
           a.attgenerated <> '' AS generated
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    JOIN pg_type t ON t.oid = a.atttypid
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
      AND (c.relname = 'tenants' OR EXISTS (
            SELECT 1 FROM pg_attribute x
            WHERE x.attrelid = c.oid AND x.attname = 'tenant_id' AND NOT x.attisdropped))
    ORDER BY c.relname, a.attnum
""")


@dataclass(frozen=True)
class Column:
    name: str
    base_type: str  # pg_type.typname: text, varchar, jsonb, bytea, uuid, ...
    max_length: int | None
    generated: bool

    @property
    def is_text(self) -> bool:
        return self.base_type in ("text", "varchar", "bpchar")


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


def tenant_tables(session: Session) -> list[Table]:
    """Every tenant-owned table with its columns, in name order."""
    tables: dict[str, list[Column]] = {}
    for row in session.execute(_COLUMNS).mappings():
        tables.setdefault(row["table_name"], []).append(Column(
            name=row["column_name"], base_type=row["base_type"],
            max_length=row["max_length"], generated=bool(row["generated"])))
    return [Table(name=name, columns=tuple(columns)) for name, columns in tables.items()]


def quote(identifier: str) -> str:
    """A catalogue name as an SQL identifier (names come from pg_class, never from users)."""
    return '"' + identifier.replace('"', '""') + '"'
