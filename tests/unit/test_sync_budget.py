"""The sync budget rules (pure): Ponto's rationed bank synchronizations, Yuki's daily calls,
backoff with jitter honouring Retry-After, consent, the circuit breaker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smbfinance.integrations import budget
from smbfinance.integrations.budget import Breaker, BudgetState

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
HALF = lambda: 0.5  # noqa: E731


def ponto(**kwargs):
    return BudgetState(provider="ponto", **kwargs)


def yuki(**kwargs):
    return BudgetState(provider="yuki", **kwargs)


def test_a_first_ponto_run_synchronizes_every_known_account_unattended():
    plan = budget.plan(ponto(), now=NOW, trigger="tick", accounts=["a", "b"])
    assert plan.run and plan.bank_sync_accounts == {"a", "b"} and plan.customer_ip is None


def test_unattended_synchronizations_are_spaced_six_hours_and_five_minutes():
    state = ponto(bank_syncs={"a": (NOW - timedelta(hours=6),)})
    assert budget.plan(state, now=NOW, trigger="tick", accounts=["a"]).bank_sync_accounts \
        == frozenset()
    later = NOW + timedelta(minutes=5)
    assert budget.plan(state, now=later, trigger="tick", accounts=["a"]).bank_sync_accounts \
        == {"a"}


def test_reading_goes_on_when_no_synchronization_is_left():
    state = ponto(bank_syncs={"a": (NOW - timedelta(minutes=1),)})
    plan = budget.plan(state, now=NOW, trigger="tick", accounts=["a"])
    assert plan.run and plan.bank_sync_accounts == frozenset()


def test_a_webhook_only_reads():
    plan = budget.plan(ponto(), now=NOW, trigger="webhook", accounts=["a"])
    assert plan.run and plan.bank_sync_accounts == frozenset()


def test_attended_sync_carries_the_ip_and_needs_five_minutes_only():
    state = ponto(bank_syncs={"a": (NOW - timedelta(minutes=5),)})
    plan = budget.plan(state, now=NOW, trigger="manual", accounts=["a"],
                       customer_ip="203.0.113.9")
    assert plan.run and plan.bank_sync_accounts == {"a"} and plan.customer_ip == "203.0.113.9"
    soon = ponto(bank_syncs={"a": (NOW - timedelta(minutes=4),)})
    refused = budget.plan(soon, now=NOW, trigger="manual", accounts=["a"], customer_ip="x")
    assert (refused.run, refused.reason) == (False, "bank_budget_spent")
    assert refused.next_allowed_at == NOW + timedelta(minutes=1)


def test_four_in_twenty_four_hours_is_the_ceiling_even_attended():
    times = tuple(NOW - timedelta(hours=h) for h in (23, 18, 12, 6))
    plan = budget.plan(ponto(bank_syncs={"a": times}), now=NOW, trigger="manual",
                       accounts=["a"], customer_ip="x")
    assert not plan.run and plan.next_allowed_at == NOW + timedelta(hours=1)


@given(st.lists(st.integers(min_value=0, max_value=3 * 24 * 60), max_size=200))
def test_unattended_plans_never_exceed_four_in_any_rolling_day(minutes):
    # given ticks at arbitrary minutes over three days, each taking what the plan allows
    history: dict[str, tuple[datetime, ...]] = {}
    taken: list[datetime] = []
    for minute in sorted(set(minutes)):
        now = NOW + timedelta(minutes=minute)
        plan = budget.plan(ponto(bank_syncs=history), now=now, trigger="tick",
                           accounts=["a"])
        if "a" in plan.bank_sync_accounts:
            history = budget.record_bank_sync(history, "a", now)
            taken.append(now)
    # then no 24-hour window holds more than four
    for start in taken:
        assert sum(start <= t < start + timedelta(hours=24) for t in taken) <= 4


def test_yuki_runs_while_its_day_has_calls_left():
    assert budget.plan(yuki(budget_day=NOW.date(), calls_today=996), now=NOW,
                       trigger="tick").run
    spent = budget.plan(yuki(budget_day=NOW.date(), calls_today=997), now=NOW, trigger="tick")
    assert (spent.run, spent.reason) == (False, "quota_spent")
    assert spent.next_allowed_at == datetime(2026, 11, 23, tzinfo=UTC)
    # yesterday's count does not count today
    assert budget.plan(yuki(budget_day=NOW.date() - timedelta(days=1), calls_today=1000),
                       now=NOW, trigger="tick").run


@pytest.mark.parametrize(("state", "reason"), [
    (ponto(status="disconnected"), "not_connected"),
    (ponto(consent_expires_at=NOW), "consent_expired"),
    (ponto(backoff_until=NOW + timedelta(seconds=1)), "backoff"),
    (yuki(last_sync_started_at=NOW - timedelta(seconds=59)), "too_soon"),
])
def test_what_stops_a_run(state, reason):
    plan = budget.plan(state, now=NOW, trigger="manual", accounts=["a"], customer_ip="x")
    assert (plan.run, plan.reason) == (False, reason)


def test_an_open_circuit_stops_every_run_until_it_closes():
    plan = budget.plan(yuki(), now=NOW, trigger="tick",
                       breaker_open_until=NOW + timedelta(minutes=1))
    assert (plan.run, plan.reason, plan.next_allowed_at) == (
        False, "circuit_open", NOW + timedelta(minutes=1))
    assert budget.plan(yuki(), now=NOW, trigger="tick", breaker_open_until=NOW).run


def test_a_run_right_after_a_good_one_is_too_soon_but_not_after_a_failure():
    just = yuki(last_sync_started_at=NOW - timedelta(seconds=30))
    assert budget.plan(just, now=NOW, trigger="tick").reason == "too_soon"
    assert budget.plan(just, now=NOW, trigger="webhook").run
    failed = yuki(last_sync_started_at=NOW - timedelta(seconds=30), last_error_code="X")
    assert budget.plan(failed, now=NOW, trigger="tick").run


@pytest.mark.parametrize(("failures", "seconds"), [
    (1, 60), (2, 120), (3, 240), (6, 1920), (7, 3600), (40, 3600)])
def test_backoff_doubles_and_is_capped(failures, seconds):
    assert budget.backoff(failures, random=lambda: 1.0) == timedelta(seconds=seconds)
    assert budget.backoff(failures, random=lambda: 0.0) == timedelta(seconds=seconds / 2)


@given(st.integers(min_value=0, max_value=100), st.floats(min_value=0, max_value=1),
       st.one_of(st.none(), st.floats(min_value=0, max_value=86_400)))
def test_backoff_is_jittered_within_bounds_and_honours_retry_after(failures, r, retry_after):
    delay = budget.backoff(failures, retry_after=retry_after, random=lambda: r)
    assert timedelta(seconds=30) <= delay or (retry_after or 0) > 0
    assert delay <= max(budget.BACKOFF_CAP, timedelta(seconds=retry_after or 0))
    if retry_after:
        assert delay >= timedelta(seconds=retry_after)


def test_next_time_after_failures():
    assert budget.next_sync_after_failure(error_code="TokenRevoked", failures=1, now=NOW,
                                          random=HALF) == NOW + timedelta(hours=24)
    assert budget.next_sync_after_failure(error_code="QuotaExhausted", failures=1, now=NOW,
                                          random=HALF) == datetime(2026, 11, 23, tzinfo=UTC)
    assert budget.next_sync_after_failure(
        error_code="RateLimited", failures=1, now=NOW, retry_after=600,
        random=HALF) == NOW + timedelta(seconds=600)


def test_next_time_after_success():
    assert budget.next_sync_after_success(yuki(), now=NOW) == NOW + budget.YUKI_INTERVAL
    assert budget.next_sync_after_success(
        yuki(budget_day=NOW.date(), calls_today=997), now=NOW) == \
        datetime(2026, 11, 23, tzinfo=UTC)
    state = ponto(bank_syncs={"a": (NOW,)})
    assert budget.next_sync_after_success(state, now=NOW, accounts=["a"]) == \
        NOW + budget.PONTO_READ_INTERVAL


def test_count_calls_starts_a_new_day():
    assert budget.count_calls(yuki(budget_day=NOW.date(), calls_today=10), now=NOW,
                              calls=4) == (NOW.date(), 14)
    assert budget.count_calls(yuki(budget_day=NOW.date() - timedelta(days=1),
                                   calls_today=10), now=NOW, calls=4) == (NOW.date(), 4)


def test_the_breaker_opens_after_five_outages_and_closes_on_success():
    breaker = Breaker()
    for _ in range(4):
        breaker = budget.breaker_after(breaker, error_code="ProviderUnavailable", now=NOW)
        assert not breaker.is_open(NOW)
    breaker = budget.breaker_after(breaker, error_code="ProviderTimeout", now=NOW)
    assert breaker.is_open(NOW) and not breaker.is_open(NOW + budget.BREAKER_OPEN)
    # half-open: one more outage after it opens it again at once
    again = budget.breaker_after(breaker, error_code="ProviderUnavailable",
                                 now=NOW + budget.BREAKER_OPEN)
    assert again.is_open(NOW + budget.BREAKER_OPEN)
    # other errors say nothing about the provider being up; a success closes it
    assert budget.breaker_after(again, error_code="TokenRevoked", now=NOW) == again
    assert budget.breaker_after(again, error_code=None, now=NOW) == Breaker()
