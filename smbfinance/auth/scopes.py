"""What a partner API key may do: scopes per resource, read or write. Pure.

A REST route's resource is its blueprint; reading (GET, HEAD) needs `<resource>:read`,
anything else `<resource>:write` (which also allows reading). Routes whose blueprint has
no resource here (sign-in, members, the company profile, API keys themselves, GDPR) are
never open to a key: a person signs in for those."""

from __future__ import annotations

from collections.abc import Iterable

RESOURCES: dict[str, str] = {
    "invoices": "invoices",
    "exchange_rates": "invoices",
    "contacts": "contacts",
    "transactions": "transactions",
    "categorisation": "transactions",
    "reconciliation": "reconciliation",
    "cashflow": "cashflow",
    "events": "events",
    "webhooks": "webhooks",
    "audit": "audit",
    "integrations": "integrations",
}
READ_ONLY = frozenset({"events", "audit"})
# Never open to a key, whatever RESOURCES says: deleting the company is an owner's act.
PEOPLE_ONLY = frozenset({"tenant_deletion"})
SCOPES: tuple[str, ...] = tuple(sorted(
    {f"{r}:read" for r in RESOURCES.values()}
    | {f"{r}:write" for r in RESOURCES.values() if r not in READ_ONLY}))
READING = frozenset({"GET", "HEAD", "OPTIONS"})


def required_scope(blueprint: str | None, method: str) -> str | None:
    """The scope a route needs, or None when API keys may not use it at all."""
    if blueprint in PEOPLE_ONLY:
        return None
    resource = RESOURCES.get(blueprint or "")
    if resource is None:
        return None
    return f"{resource}:{'read' if method.upper() in READING else 'write'}"


def allows(scopes: Iterable[str], needed: str) -> bool:
    granted = set(scopes)
    if needed in granted:
        return True
    resource, _, access = needed.partition(":")
    return access == "read" and f"{resource}:write" in granted


def unknown(scopes: Iterable[str]) -> list[str]:
    return sorted(set(scopes) - set(SCOPES))
