"""The `smbfinance` command: run the stack, prepare databases, seed demo data."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

ROOT = Path(__file__).resolve().parent.parent


@click.group(help="SMB Finance OS command line.")
def main() -> None:
    pass


@main.command(help="Start everything for development: databases, API, worker, scheduler.")
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", "5000")),
              show_default="5000 or $PORT")
def dev(port: int) -> None:
    from smbfinance.devstack.supervisor import run_dev

    sys.exit(run_dev(root=ROOT, port=port))


@main.group(help="Database roles and migrations.")
def db() -> None:
    pass


@db.command(help="Create the owner and application roles and the database (idempotent).")
@click.option("--admin-url", envvar="DATABASE_ADMIN_URL", required=True,
              help="A superuser connection URL ($DATABASE_ADMIN_URL).")
@click.option("--database", default=None,
              help="Database name (default: the one in $DATABASE_URL, else smbfinance).")
def bootstrap(admin_url: str, database: str | None) -> None:
    from sqlalchemy.engine import make_url

    from smbfinance.devstack.database import bootstrap as run_bootstrap

    if database is None:
        url = os.environ.get("DATABASE_URL")
        database = make_url(url).database if url else "smbfinance"
    urls = run_bootstrap(
        admin_url=admin_url, database=database or "smbfinance",
        owner_role=os.environ.get("DB_OWNER_ROLE", "smbfinance_owner"),
        app_role=os.environ.get("DB_APP_ROLE", "smbfinance_app"),
        owner_password=os.environ.get("DB_OWNER_PASSWORD"),
        app_password=os.environ.get("DB_APP_PASSWORD"),
    )
    click.echo(f"✓ database {database!r} ready; application role URL: "
               f"{make_url(urls.app).render_as_string(hide_password=True)}")


@db.command(help="Apply migrations as the owner role ($MIGRATION_DATABASE_URL).")
def upgrade() -> None:
    from flask_migrate import upgrade as run_upgrade

    from smbfinance import create_app
    from smbfinance.platform import MIGRATIONS_DIR

    app = create_app()
    with app.app_context():
        click.echo("• applying migrations …")
        run_upgrade(directory=str(MIGRATIONS_DIR))
    click.echo("✓ migrations at head")


@main.command("seed-demo", help="Create the demo company and login (idempotent).")
def seed_demo() -> None:
    from smbfinance import create_app
    from smbfinance.devstack.seed import seed_demo as run_seed
    from smbfinance.extensions import db as database
    from smbfinance.web.auth import token_settings

    app = create_app()
    with app.app_context():
        login = run_seed(session=database.session, settings=token_settings(app))
    state = "created" if login.created else "already present"
    click.echo(f"✓ demo company {state}: {login.email} / {login.password}")


@main.group(help="Keys sealing stored credentials and webhook secrets "
                  "(INTEGRATION_ENCRYPTION_KEYS).")
def keys() -> None:
    pass


@keys.command("generate", help="Print a new key, ready to put first in "
                               "INTEGRATION_ENCRYPTION_KEYS.")
@click.option("--id", "key_id", default=None,
              help="Key id (letters, digits, - and _; default k<YYYYMMDD>).")
def keys_generate(key_id: str | None) -> None:
    from datetime import UTC, datetime

    from smbfinance.integrations.secrets import generate_key, parse_keys

    key_id = key_id or "k" + datetime.now(UTC).strftime("%Y%m%d")
    entry = f"{key_id}:{generate_key()}"
    try:
        parse_keys(entry)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(entry)
    click.echo("Put it first: INTEGRATION_ENCRYPTION_KEYS=\"" + entry + ",<current keys>\", "
               "deploy, then run `smbfinance keys rotate`.", err=True)


@keys.command("rotate", help="Re-seal every stored secret of every company under the first "
                             "key; needs MIGRATION_DATABASE_URL (the owner role). Safe to "
                             "re-run.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=100, show_default=True)
def keys_rotate(batch_size: int) -> None:
    from sqlalchemy import create_engine

    from config import load_config
    from smbfinance.integrations import key_rotation_service as rotation
    from smbfinance.integrations.secrets import SecretBox, SecretError

    config = load_config(None)
    url = config.get("MIGRATION_DATABASE_URL")
    if not url:
        raise click.ClickException("MIGRATION_DATABASE_URL is not set: rotation reads every "
                                   "company's rows, which only the owner role may")
    try:
        box = SecretBox.from_config(config.get("INTEGRATION_ENCRYPTION_KEYS") or "")
    except SecretError as error:
        raise click.ClickException(f"INTEGRATION_ENCRYPTION_KEYS: {error}") from None
    engine = create_engine(url)
    try:
        click.echo(f"• re-sealing under key {box.primary.id!r} …")

        def progress(done: int, total: int) -> None:
            click.echo(f"  {done}/{total}")

        report = rotation.rotate_keys(engine=engine, box=box, batch_size=batch_size,
                                      progress=progress)
    finally:
        engine.dispose()
    columns = ", ".join(f"{label} {n}" for label, n in report.per_column.items())
    click.echo(f"✓ {report.rotated} re-sealed under {box.primary.id!r} ({columns}); "
               f"{len(report.failed)} could not be opened")
    for failure in report.failed:
        click.echo(f"  ! {failure}", err=True)
    if report.failed:
        raise SystemExit(1)


@main.group(help="Exchange rates.")
def rates() -> None:
    pass


@rates.command("import", help="Import an ECB euro reference rates file (CSV or XML) for a tenant.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tenant", "tenant_id", required=True, type=click.UUID,
              help="The tenant whose conversions use these rates.")
def rates_import(path: Path, tenant_id: Any) -> None:
    from smbfinance import create_app
    from smbfinance.auth.models import Tenant
    from smbfinance.auth.permissions import system_actor
    from smbfinance.errors import DomainError
    from smbfinance.extensions import db as database
    from smbfinance.rates import service as rates_service
    from smbfinance.tenancy import tenant_scope

    app = create_app()
    actor = system_actor(tenant_id)
    with app.app_context(), tenant_scope(database.session, tenant_id):
        if database.session.get(Tenant, tenant_id) is None:
            raise click.ClickException(f"no tenant {tenant_id}: see GET /api/v1/me for yours")
        database.session.rollback()
        click.echo(f"• reading {path} ({path.stat().st_size:,} bytes) …")
        try:
            result = rates_service.import_rates(session=database.session, actor=actor,
                                                data=path.read_bytes())
        except DomainError as error:
            raise click.ClickException(f"{error.detail} — nothing was imported") from None
    click.echo(f"✓ {result.rates} rates over {result.days} days "
               f"({result.first_day} … {result.last_day})")


@main.command("import", help="Import a bank statement file (CODA, CAMT.053, MT940, OFX).")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tenant", "tenant_id", required=True, type=click.UUID,
              help="The tenant (company) the statement belongs to.")
@click.option("--account", "account_id", type=click.UUID, default=None,
              help="Import into this bank account (default: from the file).")
@click.option("--strict", is_flag=True, help="Refuse the file on any consistency warning.")
def import_file(path: Path, tenant_id: Any, account_id: Any, strict: bool) -> None:
    from smbfinance import create_app
    from smbfinance.auth.models import Tenant
    from smbfinance.auth.permissions import system_actor
    from smbfinance.errors import DomainError
    from smbfinance.extensions import db as database
    from smbfinance.tenancy import tenant_scope
    from smbfinance.transactions import import_service

    app = create_app()
    actor = system_actor(tenant_id)
    size = path.stat().st_size
    with app.app_context(), tenant_scope(database.session, tenant_id):
        if database.session.get(Tenant, tenant_id) is None:
            raise click.ClickException(f"no tenant {tenant_id}: see GET /api/v1/me for yours")
        database.session.rollback()
        with path.open("rb") as stream, click.progressbar(
                length=size, label=f"importing {path.name}", show_pos=False) as bar:
            def progress(_entries: int) -> None:
                bar.update(stream.tell() - bar.pos)

            try:
                batch = import_service.import_statements(
                    session=database.session, actor=actor, stream=stream, file_name=path.name,
                    bank_account_id=account_id, strict=strict, progress=progress)
            except DomainError as error:
                raise click.ClickException(f"{error.detail}") from None
            bar.update(size - bar.pos)
    click.echo(f"✓ {batch.format}: {batch.read_count} read, {batch.created_count} new, "
               f"{batch.duplicate_count} already there, {batch.updated_count} updated "
               f"(import {batch.id})")
    for warning in batch.warnings:
        click.echo(f"  ! statement {warning['statement'] + 1}: {warning['message']}")


@main.command(help="Serve the API with gunicorn.")
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", "5000")))
@click.option("--workers", type=int, default=2)
def serve(port: int, workers: int) -> None:
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "--bind", f"0.0.0.0:{port}",  # noqa: S606
                               "--workers", str(workers), "--access-logfile", "-", "wsgi:app"])


@main.command(help="Run a Celery worker.")
def worker() -> None:
    os.execvp(sys.executable, [sys.executable, "-m", "celery", "-A", "celery_worker.celery",  # noqa: S606
                               "worker", "--loglevel=INFO"])


@main.command(help="Run the Celery beat scheduler (one per deployment).")
def beat() -> None:
    os.execvp(sys.executable, [sys.executable, "-m", "celery", "-A", "celery_worker.celery",  # noqa: S606
                               "beat", "--loglevel=INFO"])


from smbfinance.cashflow.cli import forecast as _forecast  # noqa: E402  - `smbfinance forecast`

main.add_command(_forecast)

from smbfinance.tenant_deletion.cli import tenants as _tenants  # noqa: E402  - `smbfinance tenants`

main.add_command(_tenants)

if __name__ == "__main__":
    main()
