"""The API plus one bare reference route, for bench/invoice_list.py.

`/bench/bare-invoices` runs the very SQL the real list endpoint runs for the benchmark's
query (compiled once from smbfinance.invoices.queries), on a plain psycopg2 connection
with the tenant set the same way RLS needs it, and encodes rows with orjson — no auth,
no ORM session, no schema. The real route's requests per second divided by this one's is
the overhead of everything we add.
"""

from __future__ import annotations

import os
import uuid
from datetime import date
from typing import Any

import orjson
import psycopg2
from flask import Response, g

from config import normalise_database_url
from smbfinance import create_app
from smbfinance.auth import tenant_settings
from smbfinance.heap import settle_after_start
from smbfinance.invoices import queries

app = create_app()
TENANT = uuid.UUID(os.environ["BENCH_TENANT_ID"])
LIMIT = 100


def _compiled_sql() -> tuple[str, dict[str, Any]]:
    """Exactly the statement GET /api/v1/invoices?limit=100 runs (first page, default
    sort, no filter), with the same bound values."""
    sql, defaults = queries._compiled_list(frozenset(), "-created_at", False)
    thresholds = tenant_settings.effective({})["urgency_thresholds"]
    params = {**defaults, **queries.urgency_params(date.today(), thresholds),
              "row_limit": LIMIT + 1}
    return sql, params


SQL, PARAMS = _compiled_sql()
DSN = normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"]).replace(
    "postgresql+psycopg2://", "postgresql://")
_connection: Any = None


def _default(value: Any) -> Any:
    return str(value)


@app.get("/bench/bare-invoices")
def bare_invoices() -> Response:
    global _connection
    if _connection is None:
        _connection = psycopg2.connect(DSN)
    with _connection, _connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.tenant_id', %s, true)", (str(TENANT),))
        cursor.execute(SQL, PARAMS)
        names = [column.name for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    g.setdefault("bare", True)
    body = {"object": "list", "data": rows[:LIMIT], "has_more": len(rows) > LIMIT}
    return Response(orjson.dumps(body, default=_default), mimetype="application/json")


settle_after_start()  # as wsgi.py does once the app is built
