"""Reading Ponto until known data (pure: the adapter's walk over fake pages). Whatever the
page size, and with items reordered within pages or repeated from the previous page, a
walk with the cursor of an earlier walk returns exactly what appeared since, each once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from smbfinance.integrations.providers import ponto
from smbfinance.integrations.providers.http import HttpPolicy

DAY0 = date(2026, 11, 1)


def resource(identifier: str, day: date) -> dict:
    return {"type": "transaction", "id": identifier, "attributes": {
        "amount": Decimal("1.00"), "currency": "EUR",
        "executionDate": f"{day.isoformat()}T00:00:00.000Z",
        "valueDate": f"{day.isoformat()}T00:00:00.000Z"}}


class FakePonto(ponto.PontoClient):
    """The real walk over pages cut from a list, with the simulator's page faults."""

    def __init__(self, items, page_size, shuffles, duplicates):
        settings = ponto.PontoSettings(client_id="c", client_secret="s", redirect_uri="r",
                                       api_url="http://127.0.0.1:1/x", policy=HttpPolicy())
        tokens = ponto.TokenSet("a", "r", datetime(2100, 1, 1, tzinfo=UTC))
        super().__init__(settings, tokens, on_tokens=lambda t: None)
        self.items, self.page_size = items, page_size
        self.shuffles, self.duplicates = shuffles, duplicates

    def _pages(self, path):
        pages = [self.items[i:i + self.page_size]
                 for i in range(0, len(self.items), self.page_size)] or [[]]
        for number, page in enumerate(pages):
            served = list(page)
            if number in self.duplicates and number > 0:
                served = pages[number - 1] + served
            if number in self.shuffles:
                served.reverse()
            yield served, {}


def history(counts):
    """Newest first, as Ponto lists: `counts[d]` movements on day d."""
    items = [resource(f"d{d}-{i}", DAY0 + timedelta(days=d))
             for d, n in enumerate(counts) for i in range(n)]
    return list(reversed(items))


@settings(max_examples=150, deadline=None)
@given(
    old_days=st.lists(st.integers(0, 6), min_size=1, max_size=15),
    new_days=st.lists(st.integers(0, 6), min_size=0, max_size=6),
    page_size=st.integers(1, 12),
    shuffles=st.sets(st.integers(0, 30), max_size=6),
    duplicates=st.sets(st.integers(0, 30), max_size=6),
    late=st.integers(0, 2),
)
def test_a_walk_with_the_cursor_returns_exactly_what_is_new(old_days, new_days, page_size,
                                                            shuffles, duplicates, late):
    # given what Ponto held at the first walk, and the cursor that walk gave
    before = history(old_days)
    first = FakePonto(before, page_size, shuffles, duplicates).transactions_since("acc", None)
    ids = [t.provider_id for t in first.transactions]
    assert sorted(ids) == sorted(r["id"] for r in before)  # each once
    assert [t.booking_date for t in first.transactions] == sorted(
        t.booking_date for t in first.transactions)  # oldest first
    if not shuffles:  # within a day, the order Ponto listed (reversed)
        assert ids == [r["id"] for r in reversed(before)]
    # when new movements are added from up to two days before the newest day (booked
    # late) onwards, and read again (Ponto keeps listing by date, newest first)
    start = max(0, len(old_days) - 1 - late)
    added = [resource(f"new{d}-{i}", DAY0 + timedelta(days=start + d))
             for d, n in enumerate(new_days) for i in range(n)]
    after = sorted(list(reversed(added)) + before,
                   key=lambda r: r["attributes"]["executionDate"], reverse=True)
    second = FakePonto(after, page_size, shuffles, duplicates).transactions_since(
        "acc", first.cursor)
    # then exactly the new ones come back, each once, oldest first
    ids = [t.provider_id for t in second.transactions]
    assert sorted(ids) == sorted(r["id"] for r in added)
    assert len(ids) == len(set(ids))
    assert [t.booking_date for t in second.transactions] == sorted(
        t.booking_date for t in second.transactions)
    # and a third walk with nothing new returns nothing
    third = FakePonto(after, page_size, shuffles, duplicates).transactions_since(
        "acc", second.cursor)
    assert third.transactions == ()


def test_the_walk_stops_early_once_below_the_watermark():
    # given two months of history read once, pages of ten
    before = history([3] * 60)
    first = FakePonto(before, 10, set(), set()).transactions_since("acc", None)
    assert first.pages_read == 18
    # when it is read again with the cursor
    again = FakePonto(before, 10, set(), set()).transactions_since("acc", first.cursor)
    # then only the pages down to the watermark (three days back) are read
    assert again.pages_read == 2
    assert again.transactions == ()


def test_an_unreadable_cursor_means_a_full_walk():
    before = history([2, 2])
    batch = FakePonto(before, 3, set(), set()).transactions_since("acc", "garbage")
    assert len(batch.transactions) == 4
