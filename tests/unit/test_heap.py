"""The entry points settle the heap once the app is built (smbfinance/heap.py)."""

from __future__ import annotations

import gc

from smbfinance.heap import YOUNG_THRESHOLD, settle_after_start


def test_settling_freezes_the_start_up_heap_and_raises_the_young_threshold() -> None:
    before = gc.get_threshold()
    try:
        # given a process that has built its long-lived objects
        long_lived = [{"n": n} for n in range(1000)]
        # when it settles
        settle_after_start()
        # then they are out of the collector's sight, and young objects wait longer
        assert gc.get_freeze_count() >= len(long_lived)
        assert gc.get_threshold() == (YOUNG_THRESHOLD, before[1], before[2])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
