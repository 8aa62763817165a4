"""Exactly-once keys for bank transactions. Pure.

A file's entry is identified within its account by (booking date, amount, n) where n
counts the entries with that same date and amount in the statement: the same movement
read from two overlapping statements, or from a CODA and a CAMT.053 export of the same
day, gets the same key. Counterparty and remittance text are left out on purpose: formats
spell them differently (truncated, joined, transliterated), and the bank's reference
differs between formats too. See docs/decisions/0014-transaction-dedupe-keys.md.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal


def provider_key(provider: str, provider_id: str) -> str:
    return f"{provider}:{provider_id}"


class FileKeys:
    """Hands out fingerprint keys for one statement's entries, in file order."""

    def __init__(self) -> None:
        self._seen: dict[tuple[date, Decimal], int] = defaultdict(int)

    def key(self, booking_date: date, amount: Decimal) -> str:
        # As NUMERIC(18, 2) stores it (half away from zero), which the import's keys are
        # spelled from: 12.505 is 12.51 here too.
        normalised = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        slot = (booking_date, normalised)
        self._seen[slot] += 1
        return f"fp:{booking_date.isoformat()}:{normalised}:{self._seen[slot]}"
