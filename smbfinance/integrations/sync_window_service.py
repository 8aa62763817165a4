"""When a person's "sync now" would next be allowed, read without asking: the same budget
rules `sync_requests.request_sync` applies (budget.plan with trigger `manual`), so an app
can grey out its button instead of learning the time from a refusal. Pure: no database."""

from __future__ import annotations

from datetime import datetime

from smbfinance.integrations import budget
from smbfinance.integrations.models import Integration
from smbfinance.integrations.sync import budget_state, known_accounts


def next_allowed_sync_at(integration: Integration, *, now: datetime,
                         customer_ip: str | None) -> datetime | None:
    """`now` when a sync may be asked for now, the earliest later moment when the budget
    is spent, None when asking cannot help (disconnected, or the bank consent ended: the
    user must reconnect or re-authorize first). `customer_ip` makes it an attended sync,
    whose bank synchronizations need less spacing."""
    plan = budget.plan(budget_state(integration), now=now, trigger="manual",
                       accounts=known_accounts(integration), customer_ip=customer_ip)
    if plan.run:
        return now
    if plan.reason in ("not_connected", "consent_expired"):
        return None
    return plan.next_allowed_at or now + budget.MANUAL_SPACING
