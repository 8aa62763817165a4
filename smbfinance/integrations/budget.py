"""What a sync may do now, given each provider's budget. Pure: no database, no HTTP, no
clock of its own (every function takes `now`).

- Ponto: reading what Ponto already holds (accounts, transactions, pending) is cheap and
  runs every `PONTO_READ_INTERVAL`; a *synchronization* (Ponto asks the bank) is a PSD2
  bank access. Unattended ones are rationed to `PONTO_UNATTENDED_PER_DAY` per account per
  rolling 24 hours and spread at least `PONTO_UNATTENDED_SPACING` apart; an attended one (a
  user is in the app; their IP goes to Ponto as `customerIpAddress`) needs only
  `PONTO_ATTENDED_SPACING` since the last, within the same 24-hour ceiling, because our
  reading is that Ponto counts every synchronization of the account (its simulator does).
- Yuki: `YUKI_CALLS_PER_DAY` calls per domain per UTC day; a run costs about
  `YUKI_CALLS_PER_RUN`, so a run starts only if that much is left.
- After a failure: exponential backoff with jitter, never shorter than the provider's
  `Retry-After`; after an error only a person can fix, once a day.
- A circuit breaker per provider stops every integration of that provider from calling
  while it is down.
- Consent: a Ponto integration whose bank consent has ended makes no call at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

PONTO_UNATTENDED_PER_DAY = 4
PONTO_WINDOW = timedelta(hours=24)
# 24 h / 4, plus a margin: five accesses can never fit in one rolling 24-hour window.
PONTO_UNATTENDED_SPACING = timedelta(hours=6, minutes=5)
PONTO_ATTENDED_SPACING = timedelta(minutes=5)  # unverified advice (PROVIDERS.md)
PONTO_READ_INTERVAL = timedelta(minutes=15)
YUKI_CALLS_PER_DAY = 1000
YUKI_CALLS_PER_RUN = 4  # Authenticate (usually cached), Administrations, two lists
YUKI_INTERVAL = timedelta(minutes=15)
MANUAL_SPACING = timedelta(minutes=1)  # "sync now" pressed twice, or racing a tick: one sync
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)
PERSON_RECHECK = timedelta(hours=24)
# Errors after which trying again does not help until a person acts.
NEEDS_A_PERSON = frozenset({"TokenRevoked", "AuthorizationFailed", "ConsentExpired"})
BREAKER_THRESHOLD = 5  # outages in a row, across the provider's integrations
BREAKER_OPEN = timedelta(minutes=2)
OUTAGES = frozenset({"ProviderUnavailable", "ProviderTimeout"})


@dataclass(frozen=True)
class BudgetState:
    """What the rules read from an integration row."""

    provider: str
    status: str = "connected"
    budget_day: date | None = None
    calls_today: int = 0
    # Ponto: per account, the ISO times of its synchronizations in the last 24 hours.
    bank_syncs: Mapping[str, tuple[datetime, ...]] = field(default_factory=dict)
    backoff_until: datetime | None = None
    consent_expires_at: datetime | None = None
    last_sync_started_at: datetime | None = None
    last_error_code: str | None = None
    webhook_pending_at: datetime | None = None


@dataclass(frozen=True)
class Plan:
    run: bool
    reason: str
    bank_sync_accounts: frozenset[str] = frozenset()
    customer_ip: str | None = None
    next_allowed_at: datetime | None = None


def day_start(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(UTC).date(), time(0), tzinfo=UTC)


def next_day(moment: datetime) -> datetime:
    return day_start(moment) + timedelta(days=1)


def calls_used(state: BudgetState, now: datetime) -> int:
    """Calls spent today (a stored count of an earlier day counts nothing)."""
    return state.calls_today if state.budget_day == now.astimezone(UTC).date() else 0


def recent_syncs(state: BudgetState, account: str, now: datetime) -> tuple[datetime, ...]:
    return tuple(sorted(t for t in state.bank_syncs.get(account, ()) if now - t < PONTO_WINDOW))


def bank_sync_allowed_at(state: BudgetState, account: str, now: datetime, *,
                         attended: bool) -> datetime:
    """The earliest moment (now or later) a synchronization of this account may start."""
    recent = recent_syncs(state, account, now)
    earliest = now
    if recent:
        spacing = PONTO_ATTENDED_SPACING if attended else PONTO_UNATTENDED_SPACING
        earliest = max(earliest, recent[-1] + spacing)
    if len(recent) >= PONTO_UNATTENDED_PER_DAY:
        # The oldest of the last four must leave the window first.
        earliest = max(earliest, recent[len(recent) - PONTO_UNATTENDED_PER_DAY] + PONTO_WINDOW)
    return earliest


def plan(state: BudgetState, *, now: datetime, trigger: str, accounts: Iterable[str] = (),
         customer_ip: str | None = None, breaker_open_until: datetime | None = None) -> Plan:
    """Whether a run starts now and what it may spend. `trigger`: tick, webhook, manual,
    connect. `accounts`: the Ponto accounts known from earlier runs (a first run knows
    none and only reads; the next may synchronize them)."""
    if state.status != "connected":
        return Plan(False, "not_connected")
    if state.consent_expires_at is not None and state.consent_expires_at <= now:
        return Plan(False, "consent_expired", next_allowed_at=now + PERSON_RECHECK)
    if breaker_open_until is not None and breaker_open_until > now:
        return Plan(False, "circuit_open", next_allowed_at=breaker_open_until)
    if state.backoff_until is not None and state.backoff_until > now:
        return Plan(False, "backoff", next_allowed_at=state.backoff_until)
    manual = trigger == "manual"
    # A run that started moments ago and did not fail (it may still be running, or a
    # tick's task queued before it is arriving now): another one would read the same.
    if trigger in ("manual", "tick") and state.last_error_code is None and \
            state.last_sync_started_at is not None and \
            now - state.last_sync_started_at < MANUAL_SPACING:
        return Plan(False, "too_soon",
                    next_allowed_at=state.last_sync_started_at + MANUAL_SPACING)
    if state.provider == "yuki":
        if calls_used(state, now) + YUKI_CALLS_PER_RUN > YUKI_CALLS_PER_DAY:
            return Plan(False, "quota_spent", next_allowed_at=next_day(now))
        return Plan(True, trigger)
    # Ponto. A webhook says Ponto already holds new data: reading it is enough.
    attended = manual and bool(customer_ip)
    wanted = [] if trigger == "webhook" else list(accounts)
    allowed = frozenset(a for a in wanted
                        if bank_sync_allowed_at(state, a, now, attended=attended) <= now)
    if manual and wanted and not allowed:
        return Plan(False, "bank_budget_spent", next_allowed_at=min(
            bank_sync_allowed_at(state, a, now, attended=attended) for a in wanted))
    return Plan(True, trigger, bank_sync_accounts=allowed,
                customer_ip=customer_ip if attended else None)


def backoff(failures: int, *, retry_after: float | None = None,
            random: Callable[[], float]) -> timedelta:
    """Exponential (1, 2, 4 … minutes, capped at an hour) with jitter in [50 %, 100 %],
    and never shorter than the provider's Retry-After."""
    exponent = max(0, min(failures - 1, 12))
    ceiling = min(BACKOFF_BASE * (2 ** exponent), BACKOFF_CAP)
    delay = ceiling * (0.5 + 0.5 * random())
    if retry_after is not None and retry_after > 0:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


def next_sync_after_success(state: BudgetState, *, now: datetime,
                            accounts: Iterable[str] = ()) -> datetime:
    """When the tick should look again after a good run."""
    if state.provider == "yuki":
        if calls_used(state, now) + YUKI_CALLS_PER_RUN > YUKI_CALLS_PER_DAY:
            return next_day(now)
        return now + YUKI_INTERVAL
    following = now + PONTO_READ_INTERVAL
    slots = [bank_sync_allowed_at(state, a, now, attended=False) for a in accounts]
    return min([following, *slots]) if slots and min(slots) > now else following


def next_sync_after_failure(*, error_code: str, failures: int, now: datetime,
                            retry_after: float | None = None,
                            random: Callable[[], float]) -> datetime:
    """Also the new `backoff_until`."""
    if error_code in NEEDS_A_PERSON:
        return now + PERSON_RECHECK
    if error_code == "QuotaExhausted":
        return next_day(now)
    return now + backoff(failures, retry_after=retry_after, random=random)


def record_bank_sync(bank_syncs: Mapping[str, Iterable[datetime]], account: str,
                     at: datetime) -> dict[str, tuple[datetime, ...]]:
    """The per-account history after one more synchronization, older than 24 h dropped."""
    updated = {a: tuple(t for t in times if at - t < PONTO_WINDOW)
               for a, times in bank_syncs.items()}
    updated[account] = (*updated.get(account, ()), at)
    return {a: times for a, times in updated.items() if times}


def count_calls(state: BudgetState, *, now: datetime, calls: int) -> tuple[date, int]:
    """(budget_day, calls_today) after a run that spent `calls`."""
    return now.astimezone(UTC).date(), calls_used(state, now) + calls


@dataclass(frozen=True)
class Breaker:
    """One provider's circuit: `failures` outages in a row across its integrations."""

    failures: int = 0
    open_until: datetime | None = None

    def is_open(self, now: datetime) -> bool:
        return self.open_until is not None and self.open_until > now


def breaker_after(breaker: Breaker, *, error_code: str | None, now: datetime) -> Breaker:
    """A success closes the circuit; an outage counts, and the threshold opens it (a
    failure right after it reopens — half-open — opens it again at once); other errors
    (a revoked token, a bad body) say nothing about the provider being up."""
    if error_code is None:
        return Breaker()
    if error_code not in OUTAGES:
        return breaker
    failures = breaker.failures + 1
    if failures >= BREAKER_THRESHOLD:
        return Breaker(failures, now + BREAKER_OPEN)
    return Breaker(failures, breaker.open_until)
