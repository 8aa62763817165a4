"""A person's "sync now": allowed by the same budget rules as the tick (budget.py), as an
attended sync (their IP goes to Ponto as `customerIpAddress`), refused with the next
allowed time when the budget is spent. The sync itself runs in a task."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.db import on_commit, transaction, utcnow
from smbfinance.errors import Conflict, DomainError, NotFound
from smbfinance.integrations import budget
from smbfinance.integrations.models import Integration
from smbfinance.integrations.sync import budget_state, known_accounts

Enqueue = Callable[..., None]


class SyncBudgetSpent(DomainError):
    """The provider's budget allows no sync now; `next_allowed_at` says when."""

    code = "sync_budget_spent"
    title = "Sync budget spent"

    def __init__(self, detail: str, *, next_allowed_at: datetime, reason: str) -> None:
        super().__init__(detail, extra={"next_allowed_at": next_allowed_at.isoformat(),
                                        "reason": reason})
        self.next_allowed_at = next_allowed_at
        self.reason = reason


@dataclass(frozen=True)
class SyncRequested:
    integration_id: uuid.UUID
    attended: bool
    bank_synchronizations: int
    requested_at: datetime


_WHY = {"backoff": "the provider failed recently; the next try waits for its backoff",
        "circuit_open": "the provider is down for every company; retrying later",
        "too_soon": "a sync started less than a minute ago",
        "quota_spent": "today's Yuki calls are spent",
        "bank_budget_spent": "every account used its bank synchronizations for now"}


def request_sync(*, session: Session, actor: Actor, integration_id: uuid.UUID,
                 customer_ip: str | None, enqueue: Enqueue,
                 now: datetime | None = None) -> SyncRequested:
    require(actor, Permission.FINANCE_WRITE)
    now = now or utcnow()
    if actor.kind != "user":
        customer_ip = None  # a partner's server is not a user present at the bank
    with transaction(session):
        integration = session.get(Integration, (actor.tenant_id, integration_id))
        if integration is None:
            raise NotFound(f"no integration {integration_id}")
        plan = budget.plan(budget_state(integration), now=now, trigger="manual",
                           accounts=known_accounts(integration), customer_ip=customer_ip)
        if plan.reason == "not_connected":
            raise Conflict("the integration is not connected: connect it again")
        if plan.reason == "consent_expired":
            raise Conflict("the bank consent has ended: re-authorize the accounts in Ponto")
        if not plan.run:
            when = plan.next_allowed_at or now + budget.MANUAL_SPACING
            raise SyncBudgetSpent(f"no sync allowed now: {_WHY.get(plan.reason, plan.reason)}"
                                  f"; next allowed at {when.isoformat()}",
                                  next_allowed_at=when, reason=plan.reason)
        tenant_id = actor.tenant_id
        on_commit(session, lambda: enqueue(tenant_id, integration_id, trigger="manual",
                                           customer_ip=plan.customer_ip))
    return SyncRequested(integration_id, plan.customer_ip is not None,
                         len(plan.bank_sync_accounts), now)
