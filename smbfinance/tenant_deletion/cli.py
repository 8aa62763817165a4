"""`smbfinance tenants purge-due`: the daily purge, by hand, with progress."""

from __future__ import annotations

import uuid
from datetime import datetime

import click

from smbfinance.tenant_deletion.purge import Purged


@click.group(help="Companies: the purge of deleted ones.")
def tenants() -> None:
    pass


@tenants.command("purge-due", help="Purge every company whose deletion was confirmed and "
                                   "whose legal retention has ended (as the daily task does).")
@click.option("--dry-run", is_flag=True, help="Only list the companies that are due.")
def purge_due(dry_run: bool) -> None:
    from smbfinance import create_app
    from smbfinance.extensions import db as database
    from smbfinance.tenant_deletion import purge

    app = create_app()
    with app.app_context():
        if dry_run:
            due = purge.due_tenants(session=database.session)
            for tenant_id in due:
                click.echo(f"  due: {tenant_id}")
            click.echo(f"{len(due)} compan{'y' if len(due) == 1 else 'ies'} due")
            return

        def progress(index: int, total: int, tenant_id: uuid.UUID,
                     purged: Purged | None) -> None:
            if purged is None:
                click.echo(f"[{index}/{total}] {tenant_id}: failed (kept for the next run)")
                return
            rows = sum(purged.counts.values())
            click.echo(f"[{index}/{total}] {tenant_id}: {rows} rows in "
                       f"{len(purged.counts)} tables deleted")

        started = datetime.now()
        report = purge.purge_due(session=database.session, progress=progress)
    seconds = (datetime.now() - started).total_seconds()
    click.echo(f"✓ {len(report.purged)} purged, {len(report.failed)} failed in {seconds:.1f} s")
    if report.failed:
        for tenant_id, reason in report.failed.items():
            click.echo(f"  ! {tenant_id}: {reason}")
        raise SystemExit(1)
