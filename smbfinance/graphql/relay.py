"""Relay pieces: global ids, the Node interface and `node(id)`, connections built from a
service Page (`first`/`after` map to the service's `limit`/`starting_after`)."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.types import Info

from smbfinance.errors import Invalid
from smbfinance.graphql.inputs import fetch_or_none, graphql_errors
from smbfinance.pagination import Page

N = TypeVar("N")


# ------------------------------------------------------------------ global ids

def encode_id(type_name: str, raw_id: uuid.UUID | str) -> str:
    """The global id of an object: base64 of "Type:uuid"."""
    return base64.b64encode(f"{type_name}:{raw_id}".encode()).decode("ascii")


def decode_id(global_id: str, type_name: str, *, field: str = "id") -> uuid.UUID:
    """The uuid inside a global id of `type_name`; Invalid (naming `field`) otherwise."""
    found, raw_id = split_id(global_id, field=field)
    if found != type_name:
        raise Invalid.field(field, f"must be the id of a {type_name} (got a {found} id)")
    return raw_id


def split_id(global_id: str, *, field: str = "id") -> tuple[str, uuid.UUID]:
    """(type name, uuid) from a global id; Invalid when it is not one of ours."""
    try:
        text = base64.b64decode(str(global_id).encode("ascii"), validate=True).decode("utf-8")
        type_name, _, raw = text.partition(":")
        return type_name, uuid.UUID(raw)
    except (ValueError, UnicodeError, binascii.Error):
        raise Invalid.field(field, "is not a valid global id") from None


# ------------------------------------------------------------------ Node and node(id)

@strawberry.interface(description="An object with a global id (Relay).")
class Node:
    id: strawberry.ID = strawberry.field(description="Global id: base64 of \"Type:uuid\"")


NodeResolver = Callable[[Info, uuid.UUID], Any]
_NODE_RESOLVERS: dict[str, NodeResolver] = {}


def register_node(type_name: str, resolver: NodeResolver) -> None:
    """A domain tells `node(id)` how to fetch its type (raising NotFound when absent)."""
    _NODE_RESOLVERS[type_name] = resolver


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global id (null when not found).")
    def node(self, info: Info, id: strawberry.ID) -> Node | None:
        with graphql_errors():
            type_name, raw_id = split_id(id)
        resolver = _NODE_RESOLVERS.get(type_name)
        return fetch_or_none(lambda: resolver(info, raw_id)) if resolver else None


# ------------------------------------------------------------------ connections

@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page")


@strawberry.type
class Edge(Generic[N]):
    cursor: str
    node: N


@strawberry.type
class Connection(Generic[N]):
    edges: list[Edge[N]]
    page_info: PageInfo


def connection(page: Page[Any], node_of: Callable[[Any], N]) -> Connection[N]:
    """Edges from a service Page; the cursor is the node's global id."""
    nodes = [node_of(item) for item in page.items]
    edges = [Edge(cursor=str(node.id), node=node) for node in nodes]  # type: ignore[attr-defined]
    return Connection(edges=edges, page_info=PageInfo(
        has_next_page=page.has_more, end_cursor=edges[-1].cursor if edges else None))


def page_args(first: int | None, after: str | None, type_name: str) -> dict[str, Any]:
    """`first`/`after` as the REST list arguments (`limit`/`starting_after`), for loading
    with the REST schema. Errors name `first` and `after` (see inputs.RENAMES)."""
    args: dict[str, Any] = {"limit": 50 if first is None else first}
    if after is not None:
        args["starting_after"] = str(decode_id(after, type_name, field="after"))
    return args
