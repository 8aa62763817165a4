"""GraphQL face of categories (read only): `categories` and `category`, so the global ids a
transaction's `categoryId` and the `transactions(categoryId:)` filter use can be found.
Categories and rules are written through REST."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry
from strawberry.types import Info

from smbfinance.categorisation import schemas
from smbfinance.categorisation import service as categorisation
from smbfinance.graphql.context import actor_of
from smbfinance.graphql.inputs import fetch_or_none, given, graphql_errors, load
from smbfinance.graphql.relay import (
    Connection,
    Node,
    connection,
    decode_id,
    encode_id,
    page_args,
    register_node,
)


@strawberry.type(name="Category", description="A category transactions are sorted into.")
class CategoryType(Node):
    name: str
    kind: str | None = strawberry.field(description="income, expense, transfer or null")
    color: str | None = strawberry.field(description="#rrggbb")
    version: int

    @classmethod
    def of(cls, category: Any) -> CategoryType:
        return cls(id=strawberry.ID(encode_id("Category", category.id)), name=category.name,
                   kind=category.kind, color=category.color, version=category.version)


def _category(info: Info, category_id: uuid.UUID) -> CategoryType:
    return CategoryType.of(categorisation.get_category(
        session=info.context.session, actor=actor_of(info), category_id=category_id))


register_node("Category", _category)


@strawberry.type
class Query:
    @strawberry.field(description="Categories by name.")
    def categories(self, info: Info, first: int | None = 50, after: str | None = None,
                   kind: str | None = None) -> Connection[CategoryType]:
        with graphql_errors():
            args = load(schemas.CategoryListArgs(), {**page_args(first, after, "Category"),
                                                     **given(kind=kind)})
            page = categorisation.list_categories(session=info.context.session,
                                                  actor=actor_of(info), **args)
        return connection(page, CategoryType.of)

    @strawberry.field(description="One category (null when not found).")
    def category(self, info: Info, id: strawberry.ID) -> CategoryType | None:
        return fetch_or_none(lambda: _category(info, decode_id(id, "Category")))
