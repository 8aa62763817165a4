"""Bring a database to a usable state: roles, database, migrations, optional demo data.
Shared by `make run`, `make test` and the `smbfinance db` commands."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from smbfinance.devstack.database import DatabaseUrls, bootstrap
from smbfinance.devstack.embedded import (
    EmbeddedPostgres,
    EmbeddedRedis,
    start_postgres,
    start_redis,
)

Say = Callable[[str], None]


@dataclass
class Infrastructure:
    urls: DatabaseUrls | None
    database_url: str
    migration_url: str
    redis_url: str
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None

    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.database_url, "MIGRATION_DATABASE_URL": self.migration_url,
                "REDIS_URL": self.redis_url}

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()


def provide(
    *,
    data_dir: Path,
    database: str,
    database_url: str | None,
    migration_url: str | None,
    admin_url: str | None,
    redis_url: str | None,
    recreate: bool = False,
    persist_redis: bool = True,
    say: Say = print,
    owner_role: str | None = None,
    app_role: str | None = None,
) -> Infrastructure:
    """Use the given URLs, or start embedded servers under `data_dir` for what is missing."""
    postgres = None
    embedded_redis = None
    urls = None
    owner_role = owner_role or os.environ.get("DB_OWNER_ROLE", "smbfinance_owner")
    app_role = app_role or os.environ.get("DB_APP_ROLE", "smbfinance_app")
    if database_url:
        from sqlalchemy.engine import make_url

        database = make_url(database_url).database or database
    if database_url and not admin_url:
        if not migration_url:
            raise SystemExit(
                "DATABASE_URL is set but MIGRATION_DATABASE_URL is not: set it to the owner "
                "role's URL (or DATABASE_ADMIN_URL to let us create the roles)."
            )
    else:
        if not admin_url:
            say(f"• starting embedded PostgreSQL in {data_dir / 'postgres'} …")
            postgres = start_postgres(data_dir / "postgres")
            admin_url = postgres.admin_url
        say(f"• preparing database {database!r} (roles {owner_role}, {app_role}) …")
        urls = bootstrap(admin_url=admin_url, database=database, owner_role=owner_role,
                         app_role=app_role, recreate=recreate,
                         owner_password=os.environ.get("DB_OWNER_PASSWORD"),
                         app_password=os.environ.get("DB_APP_PASSWORD"))
        database_url, migration_url = urls.app, urls.owner
    if not redis_url:
        say(f"• starting embedded Redis in {data_dir / 'redis'} …")
        embedded_redis = start_redis(data_dir / "redis", persist=persist_redis)
        redis_url = embedded_redis.url
    assert database_url and migration_url
    return Infrastructure(urls=urls, database_url=database_url, migration_url=migration_url,
                          redis_url=redis_url, postgres=postgres, redis=embedded_redis)


def migrate(*, env_name: str, infrastructure: Infrastructure, say: Say = print) -> None:
    from flask_migrate import upgrade

    from smbfinance import create_app
    from smbfinance.platform import MIGRATIONS_DIR

    say("• applying migrations …")
    app = create_app(env_name, overrides={
        "SQLALCHEMY_DATABASE_URI": _driver(infrastructure.database_url),
        "MIGRATION_DATABASE_URL": _driver(infrastructure.migration_url),
        "REDIS_URL": infrastructure.redis_url,
    })
    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
        from smbfinance.extensions import db

        db.engine.dispose()


def _driver(url: str) -> str:
    from config import normalise_database_url

    return normalise_database_url(url)
