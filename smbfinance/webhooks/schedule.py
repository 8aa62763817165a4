"""When to try a failed delivery again, and what an answer means. Pure.

Retries follow the Standard Webhooks recommendation: about 5 s, 5 min, 30 min, 2 h, 5 h,
10 h, 10 h after each failure (8 attempts over ~28 h). A `Retry-After` from the receiver
(429/503) is honoured by never retrying sooner than it asks, capped at a day so that a
hostile value cannot park a delivery forever.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
    timedelta(hours=5), timedelta(hours=10), timedelta(hours=10),
)
MAX_ATTEMPTS = 1 + len(RETRY_DELAYS)
MAX_RETRY_AFTER = timedelta(hours=24)
DISABLE_AFTER = timedelta(days=5)
TIMEOUT_SECONDS = 15.0


class Verdict(enum.StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"          # failed; try again later
    GONE = "gone"            # 410: the receiver asks us to stop; the endpoint is disabled


def verdict(status_code: int | None) -> Verdict:
    """2xx is success; 410 disables; everything else (3xx redirects included: they are
    never followed; 4xx, 5xx, timeouts and refused connections) is retried."""
    if status_code is not None and 200 <= status_code < 300:
        return Verdict.DELIVERED
    if status_code == 410:
        return Verdict.GONE
    return Verdict.RETRY


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Seconds (`120`) or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return timedelta(seconds=int(value[:9]))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(when - now, timedelta(0))


def next_attempt(attempts_made: int, now: datetime,
                 retry_after: timedelta | None = None) -> datetime | None:
    """When to try again after the `attempts_made`-th attempt failed; None: give up."""
    if attempts_made < 1:
        raise ValueError("attempts_made counts the attempt that just failed")
    if attempts_made >= MAX_ATTEMPTS:
        return None
    delay = RETRY_DELAYS[attempts_made - 1]
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return now + delay


def should_disable(failing_since: datetime | None, now: datetime) -> bool:
    return failing_since is not None and now - failing_since >= DISABLE_AFTER
