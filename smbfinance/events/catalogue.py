"""The event types a partner can subscribe to (docs/events.md shows their payloads).

DOMAIN.md names the domain events; `invoice.opened`, `invoice.cancelled` and the contact
events are added where a partner needs the transition itself (ADR 0023). Bulk writes
(statement imports, provider syncs) send one summary event, `import.completed` or
`sync.succeeded`, instead of one `transaction.*` per row (ADR 0036).
"""

from __future__ import annotations

EVENT_TYPES: frozenset[str] = frozenset({
    "invoice.created", "invoice.updated", "invoice.opened", "invoice.paid",
    "invoice.cancelled", "invoice.overdue", "invoice.deleted",
    "contact.created", "contact.updated", "contact.deleted",
    "transaction.created", "transaction.updated",
    "reconciliation.matched", "reconciliation.unmatched",
    "import.completed", "import.failed",
    "sync.succeeded", "sync.failed", "integration.consent_expiring",
    "cashflow.low_balance_forecast",
    "webhook_endpoint.disabled",
})

# Sent by POST /webhook-endpoints/{id}/test only; never in the feed.
TEST_EVENT = "webhook.test"


def object_type_of(event_type: str) -> str:
    return event_type.split(".", 1)[0]
