"""How much does row-level security cost a tenant's query?

Measured: the same aggregate over one tenant's rows, (a) as the application role under
RLS with the tenant set per transaction — what the product does — and (b) as the owner
role (which bypasses RLS) with an explicit `WHERE tenant_id = ...` — the reference.
Printed: the ratio a/b. The policy expression `(SELECT NULLIF(current_setting(...), '')::uuid)`
is evaluated once per query as an InitPlan, so the ratio should stay close to 1.
"""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine, text

from bench.harness import best_of, infrastructure
from config import normalise_database_url
from smbfinance.db import new_id

TENANTS = 50
FAMILIES_PER_TENANT = 4_000
QUERIES_PER_ROUND = 200

AGGREGATE = ("SELECT count(*), max(created_at) FROM refresh_token_families"
             " WHERE revoked_at IS NULL")


def seed(owner_url: str) -> list[uuid.UUID]:
    engine = create_engine(owner_url)
    tenant_ids = [new_id() for _ in range(TENANTS)]
    with engine.begin() as conn:
        for index, tenant_id in enumerate(tenant_ids):
            user_id = new_id()
            conn.execute(text("INSERT INTO tenants (id, legal_name) VALUES (:t, :n)"),
                         {"t": tenant_id, "n": f"Bench {index}"})
            conn.execute(text("INSERT INTO users (id, email, password_hash) VALUES (:u, :e, 'x')"),
                         {"u": user_id, "e": f"bench{index}@example.com"})
            conn.execute(text("INSERT INTO memberships (tenant_id, user_id, role)"
                              " VALUES (:t, :u, 'owner')"), {"t": tenant_id, "u": user_id})
            conn.execute(text(
                "INSERT INTO refresh_token_families (tenant_id, id, user_id, current_jti,"
                " expires_at, revoked_at)"
                " SELECT :t, gen_random_uuid(), :u, gen_random_uuid(), now() + interval '7 days',"
                " CASE WHEN g % 5 = 0 THEN now() END FROM generate_series(1, :n) g"),
                {"t": tenant_id, "u": user_id, "n": FAMILIES_PER_TENANT})
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return tenant_ids


def main() -> None:
    infra = infrastructure()
    try:
        owner_url = normalise_database_url(infra.migration_url)
        app_url = normalise_database_url(infra.database_url)
        print(f"• seeding {TENANTS} tenants x {FAMILIES_PER_TENANT} rows …", flush=True)
        tenants = seed(owner_url)
        target = tenants[len(tenants) // 2]
        app_engine = create_engine(app_url)
        owner_engine = create_engine(owner_url)

        def with_rls() -> None:
            for _ in range(QUERIES_PER_ROUND):
                with app_engine.begin() as conn:
                    conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"),
                                 {"t": str(target)})
                    conn.execute(text(AGGREGATE)).one()

        def explicit_filter() -> None:
            for _ in range(QUERIES_PER_ROUND):
                with owner_engine.begin() as conn:
                    conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"),
                                 {"t": str(target)})
                    conn.execute(text(AGGREGATE + " AND tenant_id = :t"), {"t": target}).one()

        rls = best_of(5, with_rls)
        reference = best_of(5, explicit_filter)
        print(f"rls_overhead: {QUERIES_PER_ROUND} queries over {FAMILIES_PER_TENANT} rows — "
              f"RLS {rls * 1000:.1f} ms, explicit filter {reference * 1000:.1f} ms, "
              f"ratio {rls / reference:.2f} (target ≤ 1.25)")
        app_engine.dispose()
        owner_engine.dispose()
    finally:
        infra.stop()


if __name__ == "__main__":
    main()
