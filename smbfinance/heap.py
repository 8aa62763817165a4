"""Garbage-collector settings for long-running processes (API workers, Celery workers).

Everything imported and built at start-up (modules, the app, its schemas) lives as long as
the process: `gc.freeze()` moves it out of the collector's sight, so full collections
no longer walk it. Requests allocate thousands of short-lived containers (a page of 100
invoices is ~1,500 dicts); with the default first-generation threshold of 700 the
collector runs several times per request and re-walks the page each time. A threshold of
10,000 collects them about once per request, for a few hundred kilobytes of extra peak.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000


def settle_after_start() -> None:
    """Call once the app is built, before serving."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
