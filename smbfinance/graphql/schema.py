"""The GraphQL schema: each domain's Query and Mutation merged into one."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.tools import merge_types

from smbfinance.audit import graphql as audit_graphql
from smbfinance.auth import graphql as auth_graphql
from smbfinance.cashflow import graphql as cashflow_graphql
from smbfinance.categorisation import graphql as categorisation_graphql
from smbfinance.contacts import graphql as contacts_graphql
from smbfinance.events import graphql as events_graphql
from smbfinance.graphql.errors import should_mask_error
from smbfinance.graphql.relay import NodeQuery
from smbfinance.integrations import graphql as integrations_graphql
from smbfinance.invoices import graphql as invoices_graphql
from smbfinance.reconciliation import graphql as reconciliation_graphql
from smbfinance.transactions import graphql as transactions_graphql
from smbfinance.webhooks import graphql as webhooks_graphql

QUERIES: tuple[type, ...] = (
    auth_graphql.Query, NodeQuery, contacts_graphql.Query, invoices_graphql.Query,
    transactions_graphql.Query, reconciliation_graphql.Query, cashflow_graphql.Query,
    categorisation_graphql.Query, integrations_graphql.Query, audit_graphql.Query,
    events_graphql.Query, webhooks_graphql.Query,
)
MUTATIONS: tuple[type, ...] = (
    auth_graphql.Mutation, contacts_graphql.Mutation, invoices_graphql.Mutation,
    reconciliation_graphql.Mutation, cashflow_graphql.Mutation,
    transactions_graphql.Mutation, integrations_graphql.Mutation, webhooks_graphql.Mutation,
)


def build_schema(
    *, max_depth: int = 10, max_aliases: int = 15, max_tokens: int = 2000, mask_errors: bool = True
) -> strawberry.Schema:
    extensions: list[Any] = [
        lambda: QueryDepthLimiter(max_depth=max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=max_aliases),
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
    ]
    if mask_errors:
        extensions.append(lambda: MaskErrors(should_mask_error=should_mask_error))
    mutation = merge_types("Mutation", MUTATIONS)
    mutation.__strawberry_definition__.description = MUTATION_DESCRIPTION
    return strawberry.Schema(
        query=merge_types("Query", QUERIES),
        mutation=mutation,
        extensions=extensions,
    )


MUTATION_DESCRIPTION = (
    "Changes. Send an `Idempotency-Key` header (1-255 printable characters, kept 24 hours "
    "per company) to make a retry safe: the same key with the same request replays the "
    "first response (`Idempotent-Replayed: true`); with another request it is refused "
    "(`IDEMPOTENCY_KEY_REUSED`), and while the first still runs too "
    "(`IDEMPOTENCY_KEY_IN_USE`, with `Retry-After`).")
