"""How late each contact pays: median and spread (P10, P90) of the days between due date
and full payment over the contact's paid invoices, with a tenant-wide fallback.

Input is a histogram (contact, delay in days, number of invoices) that PostgreSQL builds
with one GROUP BY, so history size does not reach Python. A negative delay is an early
payment."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from smbfinance.cashflow.stats import quantile

# Fewer paid invoices than this and a contact's own figures are noise: use the tenant's.
MIN_SAMPLES = 3


class DelaySource(StrEnum):
    CONTACT = "contact"
    TENANT = "tenant"
    DEFAULT = "default"


@dataclass(frozen=True)
class DelaySample:
    contact_id: str | None
    delay_days: int
    count: int = 1


@dataclass(frozen=True)
class Delay:
    p10: int
    median: int
    p90: int
    samples: int
    source: DelaySource

    def describe(self, who: str) -> str:
        return _describe(self, who)


@lru_cache(maxsize=4096)
def _describe(delay: Delay, who: str) -> str:
    """Why a payment date is expected, in words (cached: thousands of invoices share a few)."""
    if delay.source is DelaySource.DEFAULT:
        return ("no payment history yet: assumed paid on the due date, "
                f"up to {delay.p90} days late")
    whose = who if delay.source is DelaySource.CONTACT else "customers of this company"
    if delay.median == 0:
        usual = "usually pay on the due date"
    elif delay.median > 0:
        usual = f"usually pay {delay.median} days late"
    else:
        usual = f"usually pay {-delay.median} days early"
    return (f"{whose} {usual} (median of {delay.samples} paid invoices; "
            f"P10 {delay.p10:+d}, P90 {delay.p90:+d} days)")


# With no history at all: expect payment on the due date, pessimistically a month late.
DEFAULT_DELAY = Delay(p10=0, median=0, p90=30, samples=0, source=DelaySource.DEFAULT)


@dataclass(frozen=True)
class DelayModel:
    by_contact: dict[str, Delay] = field(default_factory=dict)
    tenant: Delay = DEFAULT_DELAY

    def for_contact(self, contact_id: str | None) -> Delay:
        if contact_id is not None and contact_id in self.by_contact:
            return self.by_contact[contact_id]
        return self.tenant


def _delay(pairs: list[tuple[int, int]], source: DelaySource) -> Delay:
    return Delay(p10=quantile(pairs, 10), median=quantile(pairs, 50), p90=quantile(pairs, 90),
                 samples=sum(count for _, count in pairs), source=source)


def delay_model(samples: Iterable[DelaySample], *, min_samples: int = MIN_SAMPLES) -> DelayModel:
    """Per-contact delays for contacts with at least `min_samples` paid invoices; the
    tenant's pooled delays (same minimum) for everyone else; DEFAULT_DELAY below that."""
    per_contact: dict[str | None, list[tuple[int, int]]] = defaultdict(list)
    pooled: list[tuple[int, int]] = []
    for sample in samples:
        if sample.count <= 0:
            continue
        per_contact[sample.contact_id].append((sample.delay_days, sample.count))
        pooled.append((sample.delay_days, sample.count))
    total = sum(count for _, count in pooled)
    tenant = _delay(pooled, DelaySource.TENANT) if total >= min_samples else DEFAULT_DELAY
    by_contact = {
        contact: _delay(pairs, DelaySource.CONTACT)
        for contact, pairs in per_contact.items()
        if contact is not None and sum(count for _, count in pairs) >= min_samples
    }
    return DelayModel(by_contact=by_contact, tenant=tenant)
