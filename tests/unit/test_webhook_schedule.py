"""Retry schedule, Retry-After, verdicts and the 5-day rule. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smbfinance.webhooks import schedule
from smbfinance.webhooks.schedule import Verdict

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_the_schedule_is_the_issue_s() -> None:
    assert [d.total_seconds() for d in schedule.RETRY_DELAYS] == [
        5, 300, 1800, 7200, 18000, 36000, 36000]
    assert schedule.MAX_ATTEMPTS == 8


@pytest.mark.parametrize(("attempts", "delay"), [
    (1, timedelta(seconds=5)), (2, timedelta(minutes=5)), (3, timedelta(minutes=30)),
    (4, timedelta(hours=2)), (5, timedelta(hours=5)), (6, timedelta(hours=10)),
    (7, timedelta(hours=10)),
])
def test_each_failure_waits_its_delay(attempts: int, delay: timedelta) -> None:
    assert schedule.next_attempt(attempts, NOW) == NOW + delay


def test_after_the_eighth_attempt_we_give_up() -> None:
    assert schedule.next_attempt(8, NOW) is None
    assert schedule.next_attempt(9, NOW) is None
    with pytest.raises(ValueError):
        schedule.next_attempt(0, NOW)


@pytest.mark.parametrize(("attempts", "retry_after", "expected"), [
    (1, timedelta(seconds=120), timedelta(seconds=120)),   # longer than 5 s: honoured
    (2, timedelta(seconds=1), timedelta(minutes=5)),       # shorter: the schedule stands
    (1, timedelta(days=30), timedelta(hours=24)),          # capped at a day
    (7, timedelta(hours=11), timedelta(hours=11)),
])
def test_retry_after_only_ever_delays(attempts: int, retry_after: timedelta,
                                      expected: timedelta) -> None:
    assert schedule.next_attempt(attempts, NOW, retry_after) == NOW + expected


@given(attempts=st.integers(min_value=1, max_value=7),
       seconds=st.integers(min_value=0, max_value=10**7))
def test_never_sooner_than_either(attempts: int, seconds: int) -> None:
    after = timedelta(seconds=seconds)
    when = schedule.next_attempt(attempts, NOW, after)
    assert when is not None
    assert when >= NOW + schedule.RETRY_DELAYS[attempts - 1]
    assert when >= NOW + min(after, schedule.MAX_RETRY_AFTER)
    assert when <= NOW + max(schedule.RETRY_DELAYS[attempts - 1], schedule.MAX_RETRY_AFTER)


@pytest.mark.parametrize(("value", "expected"), [
    ("120", timedelta(seconds=120)), (" 0 ", timedelta(0)),
    ("Sun, 22 Nov 2026 12:10:00 GMT", timedelta(minutes=10)),
    ("Sun, 22 Nov 2026 11:00:00 GMT", timedelta(0)),        # in the past: now
    (None, None), ("", None), ("soon", None), ("-5", None), ("1.5", None),
    ("Sun, 22 Nov 2026 12:10:00", None),                    # no zone: unreadable
])
def test_retry_after_values(value: str | None, expected: timedelta | None) -> None:
    assert schedule.parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(("status", "verdict"), [
    (200, Verdict.DELIVERED), (201, Verdict.DELIVERED), (204, Verdict.DELIVERED),
    (299, Verdict.DELIVERED), (410, Verdict.GONE), (301, Verdict.RETRY),
    (302, Verdict.RETRY), (307, Verdict.RETRY), (308, Verdict.RETRY), (400, Verdict.RETRY),
    (401, Verdict.RETRY), (404, Verdict.RETRY), (429, Verdict.RETRY), (500, Verdict.RETRY),
    (503, Verdict.RETRY), (None, Verdict.RETRY), (100, Verdict.RETRY),
])
def test_verdicts(status: int | None, verdict: Verdict) -> None:
    assert schedule.verdict(status) is verdict


def test_five_days_of_failures_disable() -> None:
    assert not schedule.should_disable(None, NOW)
    assert not schedule.should_disable(NOW - timedelta(days=5) + timedelta(seconds=1), NOW)
    assert schedule.should_disable(NOW - timedelta(days=5), NOW)
