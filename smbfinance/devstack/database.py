"""Create the database, its owner role and the application role, with the grants that
make RLS meaningful: the app role owns nothing, is not superuser and cannot bypass RLS.

Run with an administrator connection (a superuser, as embedded PostgreSQL provides, or a
role with CREATEROLE and CREATEDB for the NOBYPASSRLS app role; the owner role's BYPASSRLS
needs a superuser). Idempotent: a second run changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Connection, make_url

from config import normalise_database_url


@dataclass(frozen=True)
class DatabaseUrls:
    admin: str
    owner: str
    app: str


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum() or not name[0].isalpha():
        raise ValueError(f"{name!r} is not a plain SQL identifier")
    return name


def derive_url(admin_url: str, *, user: str, password: str | None, database: str) -> str:
    url: URL = make_url(normalise_database_url(admin_url)).set(
        username=user, password=password, database=database
    )
    return url.render_as_string(hide_password=False)


def bootstrap(
    *,
    admin_url: str,
    database: str,
    owner_role: str,
    app_role: str,
    owner_password: str | None = None,
    app_password: str | None = None,
    recreate: bool = False,
) -> DatabaseUrls:
    database, owner_role, app_role = _ident(database), _ident(owner_role), _ident(app_role)
    admin_url = normalise_database_url(admin_url)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            # Roles are shared by the whole cluster: two bootstraps at once (parallel test
            # workers on one server) would update the same role row and one would fail.
            conn.execute(text("SELECT pg_advisory_lock(hashtext('smbfinance.bootstrap'))"))
            _ensure_role(conn, owner_role, owner_password,
                         "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE BYPASSRLS")
            _ensure_role(conn, app_role, app_password,
                         "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT")
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}
            ).scalar()
            if exists and recreate:
                conn.execute(text(f'DROP DATABASE "{database}" WITH (FORCE)'))
                exists = False
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{database}" OWNER {owner_role}'))
            conn.execute(text("SELECT pg_advisory_unlock(hashtext('smbfinance.bootstrap'))"))
    finally:
        admin.dispose()

    in_db = create_engine(derive_url(admin_url, user=make_url(admin_url).username or "postgres",
                                     password=make_url(admin_url).password, database=database),
                          isolation_level="AUTOCOMMIT")
    try:
        with in_db.connect() as conn:
            for statement in (
                f"ALTER SCHEMA public OWNER TO {owner_role}",
                "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
                f"REVOKE ALL ON DATABASE \"{database}\" FROM PUBLIC",
                f"GRANT CONNECT, TEMPORARY ON DATABASE \"{database}\" TO {app_role}",
                f"GRANT USAGE ON SCHEMA public TO {app_role}",
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_role} IN SCHEMA public"
                f" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app_role}",
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_role} IN SCHEMA public"
                f" GRANT USAGE, SELECT ON SEQUENCES TO {app_role}",
            ):
                conn.execute(text(statement))
    finally:
        in_db.dispose()
    return DatabaseUrls(
        admin=admin_url,
        owner=derive_url(admin_url, user=owner_role, password=owner_password, database=database),
        app=derive_url(admin_url, user=app_role, password=app_password, database=database),
    )


def _ensure_role(conn: Connection, name: str, password: str | None, attributes: str) -> None:
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": name}).scalar()
    verb = "ALTER" if exists else "CREATE"
    conn.execute(text(f"{verb} ROLE {name} WITH {attributes}"))
    if password:
        conn.execute(text(f"ALTER ROLE {name} WITH PASSWORD :p"), {"p": password})
