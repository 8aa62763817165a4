"""Domain events: the transactional outbox, its relay and the event feed.

`emit(session=..., type=..., obj=..., object_id=...)` writes an event in the caller's
transaction, so it exists if and only if the change that caused it is committed.
"""

from smbfinance.events.outbox import emit

__all__ = ["emit"]
