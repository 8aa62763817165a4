"""Small GraphQL types shared by every domain."""

from __future__ import annotations

from collections.abc import Mapping

import strawberry


@strawberry.type(description="An amount of money: a decimal string, never a float.")
class Money:
    amount: str = strawberry.field(description="Decimal string, e.g. \"123.45\"")
    currency: str = strawberry.field(description="ISO 4217 code, e.g. \"EUR\"")

    @classmethod
    def of(cls, body: Mapping[str, str]) -> Money:
        """From the REST representation {"amount": "123.45", "currency": "EUR"}."""
        return cls(amount=body["amount"], currency=body["currency"])
