"""The sync of one integration: at most one at a time (a PostgreSQL advisory lock), what the
budget allows (budget.py), provider calls outside any database transaction, then one
transaction that writes the data, the cursors, the budget and the sync log together — so a
failure at any point before it leaves nothing half-written, and a run repeated with the
same provider data changes nothing (upserts keyed on provider ids).

The caller scopes `session` to the integration's tenant (the Celery task does).
"""

from __future__ import annotations

import json
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from smbfinance.auth.permissions import system_actor
from smbfinance.categorisation import service as categorisation
from smbfinance.categorisation.service import MAX_APPLY_IDS
from smbfinance.db import new_id, transaction, utcnow
from smbfinance.events import alerts as event_alerts
from smbfinance.events import emit
from smbfinance.events import objects as event_objects
from smbfinance.integrations import budget, ponto_service, rows, yuki_service
from smbfinance.integrations.health import health_after
from smbfinance.integrations.models import Integration, SyncLog
from smbfinance.integrations.providers.errors import (
    ProviderError,
    ProviderFault,
    QuotaExhausted,
    RateLimited,
)
from smbfinance.integrations.providers.ponto import PontoSettings
from smbfinance.integrations.providers.yuki import YukiSettings
from smbfinance.integrations.secrets import SecretBox
from smbfinance.invoices import provider_service
from smbfinance.reconciliation import service as reconciliation
from smbfinance.transactions import provider_ingest

log = logging.getLogger(__name__)

TRIGGERS = ("tick", "manual", "webhook", "connect")
# Counts that mean a run wrote something a partner may want to read (ADR 0036).
CHANGE_COUNTS = ("transactions_created", "transactions_updated", "pending_removed",
                 "invoices_created", "invoices_updated", "invoices_settled",
                 "contacts_created", "reconciled")
BREAKER_KEY = "smbfinance:integrations:breaker:{provider}"


@dataclass
class Connectors:
    """How to reach the providers and keep their state: settings (the simulator's or the
    real host's), the key ring, Redis (Yuki sessions, circuit breakers), a clock, how to
    wait between polls of a synchronization, and the jitter source."""

    box: SecretBox
    ponto: PontoSettings | None = None
    yuki: YukiSettings | None = None
    redis: Any = None
    clock: Callable[[], datetime] = utcnow
    sleep: Callable[[float], None] | None = None
    random: Callable[[], float] = random.random


@dataclass
class SyncOutcome:
    status: str  # success | failed | skipped | already_running | not_found
    reason: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    log_id: uuid.UUID | None = None
    error_code: str | None = None


DISCONNECTED = "the integration was disconnected during the sync; nothing it read was kept"


class DisconnectedMeanwhile(Exception):
    """The integration was disconnected while its provider was being read."""


# -- the lock -----------------------------------------------------------------------------

class _Lock:
    """A transaction-level advisory lock held on a connection of its own: provider calls
    must run outside the session's transactions (token rotations commit on their own), so
    the lock cannot live in them. A dead worker's connection closes and frees it."""

    def __init__(self, session: Session, integration_id: uuid.UUID) -> None:
        bind = session.get_bind()
        engine = bind.engine if isinstance(bind, Connection) else bind
        self.connection = engine.connect()
        self.connection.begin()
        self.held = bool(self.connection.execute(
            text("SELECT pg_try_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"integration-sync:{integration_id}"}).scalar_one())

    def release(self) -> None:
        try:
            self.connection.rollback()  # ends the transaction, and with it the lock
        finally:
            self.connection.close()


def sync_integration(*, session: Session, tenant_id: uuid.UUID, integration_id: uuid.UUID,
                     trigger: str, connectors: Connectors,
                     customer_ip: str | None = None) -> SyncOutcome:
    """Run one sync now if none is running for this integration and its budget allows."""
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}")
    lock = _Lock(session, integration_id)
    try:
        if not lock.held:
            return SyncOutcome("already_running", "another sync of this integration runs")
        return _Run(session, tenant_id, integration_id, trigger, connectors, customer_ip).go()
    finally:
        lock.release()


# -- one run ------------------------------------------------------------------------------

def budget_state(integration: Integration) -> budget.BudgetState:
    return budget.BudgetState(
        provider=integration.provider, status=integration.status,
        budget_day=integration.budget_day, calls_today=integration.calls_today,
        bank_syncs={account: tuple(datetime.fromisoformat(t) for t in times)
                    for account, times in (integration.bank_syncs_today or {}).items()
                    if isinstance(times, list)},
        backoff_until=integration.backoff_until,
        consent_expires_at=integration.consent_expires_at,
        last_sync_started_at=integration.last_sync_started_at,
        last_error_code=integration.last_error_code,
        webhook_pending_at=integration.webhook_pending_at)


def known_accounts(integration: Integration) -> list[str]:
    return sorted((integration.cursors or {}).get("accounts", {}))


def read_breaker(redis: Any, provider: str) -> budget.Breaker:
    if redis is None:
        return budget.Breaker()
    raw = redis.get(BREAKER_KEY.format(provider=provider))
    if not raw:
        return budget.Breaker()
    try:
        data = json.loads(raw)
        until = data.get("open_until")
        return budget.Breaker(int(data.get("failures", 0)),
                              datetime.fromisoformat(until) if until else None)
    except (ValueError, TypeError, AttributeError):
        return budget.Breaker()


def _write_breaker(redis: Any, provider: str, breaker: budget.Breaker) -> None:
    # Read-modify-write without a lock: two workers may count one outage once, which only
    # delays opening the circuit by a failure.
    if redis is None:
        return
    redis.set(BREAKER_KEY.format(provider=provider), json.dumps({
        "failures": breaker.failures,
        "open_until": breaker.open_until.isoformat() if breaker.open_until else None}),
        ex=3600)


class _Run:
    def __init__(self, session: Session, tenant_id: uuid.UUID, integration_id: uuid.UUID,
                 trigger: str, connectors: Connectors, customer_ip: str | None) -> None:
        self.session, self.tenant_id, self.integration_id = session, tenant_id, integration_id
        self.trigger, self.c, self.customer_ip = trigger, connectors, customer_ip
        self.counts: dict[str, int] = {}
        self.calls = 0
        self.bank_syncs: dict[str, list[datetime]] = {}

    def _load(self) -> Integration | None:
        return self.session.execute(
            select(Integration).where(Integration.id == self.integration_id)
            .execution_options(populate_existing=True)).scalar_one_or_none()

    def go(self) -> SyncOutcome:
        now = self.c.clock()
        with transaction(self.session):
            integration = self._load()
            if integration is None:
                return SyncOutcome("not_found", "no such integration")
            self._close_interrupted(integration, now)
            # The consent window is entered by time passing, whatever the budget says.
            event_alerts.consent_expiring(self.session, integration=integration, now=now)
            if self.trigger == "tick" and integration.webhook_pending_at is not None:
                # Ponto told us it holds new data: reading it is enough (no bank access).
                self.trigger = "webhook"
            plan = budget.plan(budget_state(integration), now=now, trigger=self.trigger,
                               accounts=known_accounts(integration),
                               customer_ip=self.customer_ip,
                               breaker_open_until=read_breaker(
                                   self.c.redis, integration.provider).open_until)
            if not plan.run:
                if integration.status == "connected":
                    integration.next_sync_at = plan.next_allowed_at or \
                        now + budget.PONTO_READ_INTERVAL
                return SyncOutcome("skipped", plan.reason)
            started = SyncLog(id=new_id(), integration_id=integration.id,
                              trigger=self.trigger, status="running", started_at=now)
            self.session.add(started)
            integration.last_sync_started_at = now
            log_id, provider = started.id, integration.provider
        try:
            if provider == "ponto":
                apply = self._read_ponto(integration, plan, log_id)
            else:
                apply = self._read_yuki(integration)
            with transaction(self.session):
                integration = self._load()
                sync_log = self.session.get(SyncLog, (self.tenant_id, log_id))
                if integration is None or sync_log is None:
                    return SyncOutcome("not_found", "the integration went away meanwhile")
                read = dict(self.counts)
                apply(integration)
                if self._disconnected_meanwhile():
                    self.counts = read  # what apply wrote is rolled back with the raise
                    raise DisconnectedMeanwhile(DISCONNECTED)
                self._finish(integration, sync_log, now=self.c.clock(), error=None)
        except DisconnectedMeanwhile:
            self._fail(log_id, None)
            return SyncOutcome("failed", DISCONNECTED, dict(self.counts), log_id,
                               "Disconnected")
        except ProviderError as error:
            self._fail(log_id, error)
            return SyncOutcome("failed", str(error), dict(self.counts), log_id,
                               type(error).__name__)
        except Exception as error:
            self._fail(log_id, error)
            raise
        return SyncOutcome("success", plan.reason, dict(self.counts), log_id)

    def _close_interrupted(self, integration: Integration, now: datetime) -> None:
        """A run left `running` by a killed worker (we hold the lock, so none really runs)
        is closed as interrupted; its redelivered task is this run. The integration then
        says its last run failed, so the budget does not take it for a run just done."""
        closed = self.session.execute(
            update(SyncLog).where(SyncLog.integration_id == integration.id,
                                  SyncLog.status == "running")
            .values(status="failed", finished_at=now, error_code="Interrupted",
                    error="the worker stopped before the run ended; it was run again")
            .returning(SyncLog.id)).all()
        if closed:
            integration.last_error_code = "Interrupted"
            integration.last_error = "the worker stopped before the run ended"

    # -- Ponto -----------------------------------------------------------------------------

    def _read_ponto(self, integration: Integration, plan: budget.Plan,
                    log_id: uuid.UUID) -> Callable[[Integration], None]:
        if self.c.ponto is None:
            raise RuntimeError("Ponto is not configured (PONTO_CLIENT_ID …)")
        client = ponto_service.ponto_client(session=self.session, integration=integration,
                                            box=self.c.box, settings=self.c.ponto,
                                            clock=self.c.clock)
        try:
            for account in sorted(plan.bank_sync_accounts):
                self._synchronize(client, integration, account, plan, log_id)
            accounts = client.accounts()
            cursors = dict((integration.cursors or {}).get("accounts", {}))
            batches = []
            for account in accounts:
                cursor = (cursors.get(account.provider_id) or {}).get("cursor")
                batch = client.transactions_since(account.provider_id, cursor)
                pending = client.pending_transactions(account.provider_id)
                batches.append((account, batch, pending))
        finally:
            self.calls += client.http.attempts

        def apply(integration: Integration) -> None:
            cursors = dict((integration.cursors or {}).get("accounts", {}))
            written: list[uuid.UUID] = []
            counts = dict.fromkeys(("transactions_read", "transactions_created",
                                    "transactions_updated", "pending_removed"), 0)
            for account, batch, pending in batches:
                bank_account, _ = provider_ingest.upsert_account(
                    session=self.session, values=rows.bank_account_values(account))
                result = provider_ingest.ingest_transactions(
                    session=self.session, bank_account_id=bank_account.id,
                    booked=[rows.bank_transaction_values(t) for t in batch.transactions],
                    pending=[rows.bank_transaction_values(t) for t in pending],
                    sync_log_id=log_id)
                counts["transactions_read"] += result.read
                counts["transactions_created"] += result.created
                counts["transactions_updated"] += result.updated
                counts["pending_removed"] += result.pending_removed
                written += result.booked_ids
                cursors[account.provider_id] = {"bank_account_id": str(bank_account.id),
                                                "cursor": batch.cursor}
            integration.cursors = {**(integration.cursors or {}), "accounts": cursors}
            expiries = [a.consent.expires_at for a in accounts if a.consent.expires_at]
            if expiries:
                integration.consent_expires_at = min(expiries)
            counts["accounts"] = len(accounts)
            counts.update(self._after_new_data(transaction_ids=written, invoices_changed=False))
            self.counts.update(counts)

        return apply

    def _synchronize(self, client: Any, integration: Integration, account: str,
                     plan: budget.Plan, log_id: uuid.UUID) -> None:
        """One bank access. Recorded against the budget at once, in its own commit: the
        access is spent whatever happens to the rest of the run."""
        at = self.c.clock()
        state = client.create_synchronization(
            account, customer_ip=plan.customer_ip, idempotency_key=f"{log_id}:{account}")
        with transaction(self.session):
            row = self._load()
            if row is not None:
                history = budget_state(row).bank_syncs
                row.bank_syncs_today = {
                    a: [t.isoformat() for t in times]
                    for a, times in budget.record_bank_sync(history, account, at).items()}
        try:
            client.wait_for_synchronization(state.provider_id, sleep=self.c.sleep)
            self.counts["synchronizations"] = self.counts.get("synchronizations", 0) + 1
        except QuotaExhausted:
            # Ponto refused this account's access today: read what it holds anyway.
            self.counts["synchronizations_refused"] = \
                self.counts.get("synchronizations_refused", 0) + 1

    # -- Yuki ------------------------------------------------------------------------------

    def _read_yuki(self, integration: Integration) -> Callable[[Integration], None]:
        if self.c.yuki is None:
            raise RuntimeError("Yuki is not configured (YUKI_SERVICE_URL)")
        client = yuki_service.yuki_client(integration=integration, box=self.c.box,
                                          settings=self.c.yuki, redis=self.c.redis,
                                          clock=self.c.clock)
        wanted = integration.external_id
        try:
            administrations = [a for a in client.administrations() if a.active]
            chosen = next((a for a in administrations if a.provider_id == wanted),
                          administrations[0] if administrations and not wanted else None)
            if chosen is None:
                raise ProviderFault(f"Yuki administration {wanted} is not available",
                                    provider="yuki", code="administrationNotFound")
            items = [*client.open_receivables(chosen.provider_id),
                     *client.open_payables(chosen.provider_id)]
        finally:
            self.calls += client.calls
        synchronized_at = self.c.clock()

        def apply(integration: Integration) -> None:
            contacts = {item.contact.provider_id: rows.contact_values(item.contact)
                        for item in items}
            values = [{**rows.invoice_values(item, synchronized_at=synchronized_at),
                       "contact_key": item.contact.provider_id} for item in items]
            result = provider_service.upsert_open_items(
                session=self.session, tenant_id=self.tenant_id, provider="yuki",
                administration_id=chosen.provider_id, items=values, contacts=contacts,
                now=synchronized_at)
            if integration.external_id is None:
                integration.external_id = chosen.provider_id
                integration.display_name = integration.display_name or chosen.name
            self.counts.update({
                "invoices_read": result.read, "invoices_created": result.created,
                "invoices_updated": result.updated, "invoices_settled": result.settled,
                "contacts_created": result.contacts_created})
            self.counts.update(self._after_new_data(
                transaction_ids=[], invoices_changed=bool(result.changed_ids)))

        return apply

    # -- after new data --------------------------------------------------------------------

    def _after_new_data(self, *, transaction_ids: list[uuid.UUID],
                        invoices_changed: bool) -> dict[str, int]:
        """Rules on the transactions written, then reconciliation: of those transactions,
        or of every open payment when invoices changed. Joins the run's transaction."""
        actor = system_actor(self.tenant_id)
        counts = {"rules_matched": 0, "reconciled": 0}
        for start in range(0, len(transaction_ids), MAX_APPLY_IDS):
            chunk = transaction_ids[start:start + MAX_APPLY_IDS]
            counts["rules_matched"] += categorisation.apply_rules(
                session=self.session, actor=actor, transaction_ids=chunk).matched
        if invoices_changed:
            counts["reconciled"] = reconciliation.reconcile(
                session=self.session, actor=actor).matches
        elif transaction_ids:
            counts["reconciled"] = reconciliation.reconcile(
                session=self.session, actor=actor, transaction_ids=transaction_ids).matches
        return counts

    # -- closing the run -------------------------------------------------------------------

    def _finish(self, integration: Integration, sync_log: SyncLog, *, now: datetime,
                error: BaseException | None) -> None:
        state = budget_state(integration)
        announce = _worth_announcing(integration, self.counts, error)
        integration.budget_day, integration.calls_today = budget.count_calls(
            state, now=now, calls=self.calls)
        sync_log.finished_at = now
        sync_log.counts = dict(self.counts)
        sync_log.calls = self.calls
        code = None if error is None else type(error).__name__[:60]
        breaker = read_breaker(self.c.redis, integration.provider)
        _write_breaker(self.c.redis, integration.provider,
                       budget.breaker_after(breaker, error_code=code, now=now))
        if error is None:
            sync_log.status = "success"
            integration.last_success_at = now
            integration.consecutive_failures = 0
            integration.last_error_code = integration.last_error = None
            integration.backoff_until = None
            integration.webhook_pending_at = None
            integration.next_sync_at = budget.next_sync_after_success(
                budget_state(integration), now=now, accounts=known_accounts(integration))
        else:
            sync_log.status = "failed"
            sync_log.error_code = code
            sync_log.error = (str(error) if isinstance(error, ProviderError)
                              else "an unexpected error; it was logged")[:500]
            integration.consecutive_failures += 1
            integration.last_error_code, integration.last_error = code, sync_log.error
            retry_after = error.retry_after if isinstance(error, RateLimited) else None
            integration.backoff_until = integration.next_sync_at = \
                budget.next_sync_after_failure(
                    error_code=code or "", failures=integration.consecutive_failures,
                    now=now, retry_after=retry_after, random=self.c.random)
        integration.health = health_after(failures=integration.consecutive_failures,
                                          error_code=code)
        # In the transaction that closes the log: the event exists iff the outcome does.
        if announce:
            self.session.flush()
            emit(session=self.session,
                 type=f"sync.{'succeeded' if error is None else 'failed'}",
                 object_id=sync_log.id, obj=event_objects.sync_log(sync_log, integration))
        if error is None:  # a consent date read in this run may just have come near
            event_alerts.consent_expiring(self.session, integration=integration, now=now)

    def _fail(self, log_id: uuid.UUID, error: BaseException | None) -> None:
        """Close the run as failed; `error` None: the integration was disconnected."""
        if error is not None and not isinstance(error, ProviderError):
            log.exception("sync failed unexpectedly",
                          extra={"integration_id": str(self.integration_id)})
        self.session.rollback()
        with transaction(self.session):
            disconnected = self._disconnected_meanwhile()
            integration = self._load()
            sync_log = self.session.get(SyncLog, (self.tenant_id, log_id))
            if integration is None or sync_log is None:
                return
            if error is not None and not disconnected:
                self._finish(integration, sync_log, now=self.c.clock(), error=error)
            else:
                self._close_disconnected(integration, sync_log, now=self.c.clock())

    def _disconnected_meanwhile(self) -> bool:
        """Lock the integration's row for the rest of the run's transaction and say whether
        it is disconnected now. A disconnect commits under the same row lock, so either it
        waits for this run to end, or this run sees it (READ COMMITTED reads the committed
        row once the lock is granted) and must not write a status, schedule or health over
        it. Reads the status only: the run's pending changes to the row are kept."""
        return self.session.execute(
            select(Integration.status).where(Integration.id == self.integration_id)
            .with_for_update()).scalar_one_or_none() == "disconnected"

    def _close_disconnected(self, integration: Integration, sync_log: SyncLog, *,
                            now: datetime) -> None:
        """The run ends as failed and the integration stays as disconnecting left it (no
        schedule, health or error of ours); the provider calls spent still count against
        the day's budget. A user's disconnect (it sets `disconnected_at`) forgets the
        credentials, so tokens a rotation sealed during the run are forgotten again. A
        company's closing only pauses the integration (status `disconnected`, no
        `disconnected_at`) and reopening resumes it: its credentials, rotated ones
        included, are kept."""
        integration.budget_day, integration.calls_today = budget.count_calls(
            budget_state(integration), now=now, calls=self.calls)
        reason = DISCONNECTED
        if integration.disconnected_at is not None:
            integration.credentials = integration.credentials_key_id = None
            integration.token_expires_at = None
        else:
            reason = "the company was closed during the sync; nothing it read was kept"
        sync_log.status, sync_log.finished_at = "failed", now
        sync_log.counts, sync_log.calls = dict(self.counts), self.calls
        sync_log.error_code, sync_log.error = "Disconnected", reason


def _worth_announcing(integration: Integration, counts: dict[str, int],
                      error: BaseException | None) -> bool:
    """A run a partner needs to hear of (ADR 0036): a success that wrote something, or the
    first success (ever, or after failures); a failure after a success, or one whose error
    differs from the previous failure's. A Ponto read every few minutes that finds nothing
    new, or the same outage retried with backoff, is not repeated to every endpoint; the
    sync logs keep every run."""
    if error is None:
        return (any(counts.get(key) for key in CHANGE_COUNTS)
                or integration.last_success_at is None
                or integration.consecutive_failures > 0)
    code = type(error).__name__[:60]
    return integration.consecutive_failures == 0 or integration.last_error_code != code
