"""GET /api/v1/invoices?limit=100 through the full stack (gunicorn, JWT, membership check,
RLS, service, presenter) divided by a bare route on the same server running the same SQL
with psycopg2 and orjson. Tenant with 20,000 invoices among 50 tenants. Target ≥ 0.65.
The ratio is the median over adjacent (full, bare) pairs of 4 s each, in ABBA order."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid

from sqlalchemy import create_engine, text

from bench.harness import ROOT, infrastructure
from bench.load import requests_per_second
from config import normalise_database_url
from smbfinance.devstack.embedded import free_port

TENANTS = 50
TARGET_INVOICES = 20_000
OTHER_INVOICES = 1_000
CONTACTS = 200
SECRET = "bench-secret-" + "x" * 40
PAIRS, PAIR_SECONDS = 6, 4.0


def _seed_tenant(conn, tenant_id: uuid.UUID, invoices: int, name: str) -> None:
    conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)})
    conn.execute(text("INSERT INTO tenants (id, legal_name) VALUES (:t, :n)"
                      " ON CONFLICT DO NOTHING"), {"t": tenant_id, "n": name})
    conn.execute(text(
        "INSERT INTO contacts (tenant_id, id, name) SELECT :t, gen_random_uuid(),"
        " 'Customer ' || g FROM generate_series(1, :n) g"), {"t": tenant_id, "n": CONTACTS})
    conn.execute(text("""
        INSERT INTO invoices (tenant_id, id, direction, number, contact_id, issue_date,
            due_date, currency, status, net_total, vat_total, gross_total, amount_paid,
            outstanding, base_currency, gross_total_base, payment_reference,
            payment_reference_structured, created_at, updated_at)
        SELECT :t, gen_random_uuid(), CASE WHEN g % 3 = 0 THEN 'payable' ELSE 'receivable' END,
            'INV-' || g, c.id, current_date - (g % 120), current_date - (g % 120) + 30, 'EUR',
            (ARRAY['open','partially_paid','paid','draft','open'])[1 + g % 5],
            round((g % 997) * 10.13, 2), round((g % 997) * 2.13, 2), round((g % 997) * 12.26, 2),
            0, round((g % 997) * 12.26, 2), 'EUR', round((g % 997) * 12.26, 2),
            lpad((g * 97)::text, 12, '0'), false,
            now() - make_interval(secs => g), now() - make_interval(secs => g)
        FROM generate_series(1, :n) g
        JOIN LATERAL (SELECT id FROM contacts WHERE tenant_id = :t
                      OFFSET (g % :contacts) LIMIT 1) c ON true
    """), {"t": tenant_id, "n": invoices, "contacts": CONTACTS})


def _register(port: int) -> tuple[str, uuid.UUID]:
    import json

    body = json.dumps({"company_name": "Bench BV", "email": "bench@example.com",
                       "password": "bench-password-1"}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/auth/register", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        data = json.loads(response.read())
    return data["access_token"], uuid.UUID(data["tenant"]["id"])


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


def _gunicorn(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--log-level", "warning", "bench.invoice_list_app:app"],
        cwd=ROOT, env=env)


def main() -> None:
    infra = infrastructure()
    owner = create_engine(normalise_database_url(infra.migration_url))
    port = free_port()
    env = {**os.environ, **infra.env(), "SMBFINANCE_ENV": "production", "SECRET_KEY": SECRET,
           "JWT_SECRET_KEY": SECRET, "LOG_LEVEL": "WARNING",
           "BENCH_TENANT_ID": str(uuid.UUID(int=0))}
    server = None
    try:
        # A first server only to register the benchmark tenant through the API.
        server = _gunicorn(env, port)
        _wait(f"http://127.0.0.1:{port}/health/live", server)
        token, tenant_id = _register(port)
        server.terminate()
        server.wait(timeout=30)
        print(f"• seeding {TARGET_INVOICES:,} invoices for the tenant and "
              f"{OTHER_INVOICES:,} for each of {TENANTS - 1} others …", flush=True)
        with owner.begin() as conn:
            _seed_tenant(conn, tenant_id, TARGET_INVOICES, "Bench BV")
        for index in range(TENANTS - 1):
            with owner.begin() as conn:
                _seed_tenant(conn, uuid.uuid4(), OTHER_INVOICES, f"Other {index}")
        with owner.begin() as conn:
            conn.execute(text("ANALYZE"))
        env["BENCH_TENANT_ID"] = str(tenant_id)
        server = _gunicorn(env, port)
        _wait(f"http://127.0.0.1:{port}/health/live", server)
        headers = {"Authorization": f"Bearer {token}"}
        full_path, bare_path = "/api/v1/invoices?limit=100", "/bench/bare-invoices"
        requests_per_second(port, full_path, headers, seconds=2)  # warm-up
        requests_per_second(port, bare_path, {}, seconds=2)
        # Pairs of adjacent measurements, in ABBA order: this machine's speed drifts by
        # half within minutes, and a ratio of two neighbours in time cancels the drift
        # that a ratio of two bests taken minutes apart keeps.
        full, bare, ratios = [], [], []
        for pair in range(PAIRS):
            order = ((full_path, headers, full), (bare_path, {}, bare))
            for path, sent, into in (order if pair % 2 == 0 else order[::-1]):
                into.append(requests_per_second(port, path, sent, seconds=PAIR_SECONDS))
            ratios.append(full[-1] / bare[-1])
        ratio = statistics.median(ratios)
        print(f"invoice_list: full stack {statistics.median(full):.0f} req/s, bare SQL+orjson "
              f"{statistics.median(bare):.0f} req/s (medians), ratio {ratio:.2f} (median of "
              f"{PAIRS} adjacent pairs, {min(ratios):.2f}–{max(ratios):.2f}; best/best "
              f"{max(full) / max(bare):.2f}; target ≥ 0.65)")
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(timeout=30)
        owner.dispose()
        infra.stop()


if __name__ == "__main__":
    main()
