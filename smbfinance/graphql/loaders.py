"""Per-request batching loaders, synchronous.

strawberry's DataLoader is async, and our view (strawberry.flask GraphQLView) executes
synchronously: an awaitable resolver fails with "GraphQL execution failed to complete
synchronously". So the batching is done by hand: a list resolver tells a loader which keys
its nodes will ask for (`want`), and the first `load` fetches every wanted key in one
call (one SQL statement). A page of 100 invoices with their contacts and lines thus costs
the same few statements as a page of 10, and nothing when the fields are not selected.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from smbfinance.auth.permissions import Permission, require
from smbfinance.contacts import service as contacts
from smbfinance.db import transaction
from smbfinance.invoices import queries as invoice_queries

if TYPE_CHECKING:
    from strawberry.types import Info

    from smbfinance.contacts.models import Contact
    from smbfinance.graphql.context import Context
    from smbfinance.invoices.models import InvoiceLine

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BatchLoader(Generic[K, V]):
    """Values by key, fetched in batches and cached for the request."""

    def __init__(self, fetch: Callable[[list[K]], Mapping[K, V]], default: V | None = None) -> None:
        self._fetch = fetch
        self._default = default
        self._cache: dict[K, V | None] = {}
        self._wanted: dict[K, None] = {}  # insertion-ordered set
        self.batches = 0

    def want(self, keys: Iterable[K]) -> None:
        """Keys that will probably be loaded: fetched together with the next miss."""
        self._wanted.update((key, None) for key in keys if key not in self._cache)

    def prime(self, key: K, value: V) -> None:
        self._cache[key] = value
        self._wanted.pop(key, None)

    def load(self, key: K) -> V | None:
        if key not in self._cache:
            batch = [*self._wanted, *([] if key in self._wanted else [key])]
            self._wanted.clear()
            found = self._fetch(batch)
            self.batches += 1
            self._cache.update({k: found.get(k, self._default) for k in batch})
        return self._cache[key]


def _contacts(context: Context) -> BatchLoader[uuid.UUID, Contact]:
    def fetch(ids: Collection[uuid.UUID]) -> Mapping[uuid.UUID, Contact]:
        return contacts.get_contacts(session=context.session, actor=context.require_actor(),
                                     contact_ids=ids, include_deleted=True)
    return BatchLoader(fetch)


def _lines(context: Context) -> BatchLoader[uuid.UUID, list[InvoiceLine]]:
    def fetch(ids: list[uuid.UUID]) -> Mapping[uuid.UUID, list[InvoiceLine]]:
        require(context.require_actor(), Permission.FINANCE_READ)
        with transaction(context.session):  # RLS: only the request tenant's lines
            return invoice_queries.lines_for(context.session, ids)
    return BatchLoader(fetch, default=[])


FACTORIES: dict[str, Callable[[Context], BatchLoader[Any, Any]]] = {
    "contacts": _contacts,
    "invoice_lines": _lines,
}


def contacts_by_id(info: Info) -> BatchLoader[uuid.UUID, Contact]:
    return info.context.loader("contacts")  # type: ignore[no-any-return]


def lines_by_invoice_id(info: Info) -> BatchLoader[uuid.UUID, list[InvoiceLine]]:
    return info.context.loader("invoice_lines")  # type: ignore[no-any-return]
