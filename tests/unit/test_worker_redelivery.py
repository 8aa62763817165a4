"""How soon a dead worker's task is handed to another one: its visibility timeout, plus the
period at which workers scan for such tasks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smbfinance.worker import redelivery_options


@pytest.mark.parametrize(("timeout", "interval"), [(1, 1), (3, 1), (30, 10), (3600, 10)])
def test_workers_scan_at_least_three_times_per_timeout_and_every_10s_at_most(timeout, interval):
    # given a visibility timeout / when the transport options are derived
    options = redelivery_options(timeout)
    # then kombu scans at every look (no tenfold throttle) and looks at the expected period
    assert options == {"visibility_timeout": timeout, "unacked_restore_interval": interval,
                       "unacked_restore_throttle": 1}


@given(st.integers(min_value=1, max_value=7 * 24 * 3600))
def test_a_dead_workers_task_waits_at_most_a_third_longer_than_its_timeout(timeout):
    # given any timeout / when derived / then the worst wait is timeout + one scan period
    options = redelivery_options(timeout)
    period = options["unacked_restore_interval"] * options["unacked_restore_throttle"]
    assert 1 <= period <= 10
    assert timeout + period <= max(timeout + 1, timeout * 4 // 3 + 1)
