"""GraphQL face of cash flow: `cashPosition`, `cashPositions`, `forecast`, `scenarios`,
`scenario`, and `scenarioCreate` / `scenarioUpdate` / `scenarioDelete`.

Amounts are decimal strings as in REST; inputs are loaded with the REST schemas, so the
validation (and the field names in errors) is the same through both doors."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from smbfinance.cashflow import schemas
from smbfinance.cashflow import service as cashflow
from smbfinance.graphql.context import actor_of
from smbfinance.graphql.errors import UserError
from smbfinance.graphql.inputs import attempt, fetch_or_none, given, graphql_errors, load, plain
from smbfinance.graphql.relay import Node, decode_id, encode_id, register_node


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@strawberry.type(name="CashAccountPosition")
class AccountPositionType:
    id: str
    name: str | None
    iban: str | None
    currency: str
    balance: str
    balance_base: str | None = strawberry.field(
        description="In the base currency; null when no rate converts it")
    rate: str | None
    balance_date: date | None
    synchronized_at: datetime | None


@strawberry.type(name="CashPosition", description="Cash now, in the base currency.")
class PositionType:
    as_of: date
    currency: str
    total: str
    accounts: list[AccountPositionType]
    oldest_synchronized_at: datetime | None
    warnings: list[str]

    @classmethod
    def of(cls, position: Any) -> PositionType:
        return cls(as_of=position.as_of, currency=position.currency, total=str(position.total),
                   accounts=[AccountPositionType(
                       id=a.id, name=a.name, iban=a.iban, currency=a.currency,
                       balance=str(a.balance), balance_base=_s(a.balance_base),
                       rate=_s(a.rate), balance_date=a.balance_date,
                       synchronized_at=a.synchronized_at) for a in position.accounts],
                   oldest_synchronized_at=position.oldest_synchronized_at,
                   warnings=list(position.warnings))


@strawberry.type(name="CashPositionPoint")
class PositionPointType:
    day: date
    currency: str
    total: str


@strawberry.type(name="ForecastItem", description="One amount expected on one day, and why.")
class ItemType:
    key: str
    source: str = strawberry.field(description="invoice:ID, recurring:ID or planned:ID")
    kind: str
    label: str
    date: date
    amount: str
    low_date: date | None
    low_amount: str
    high_date: date | None
    high_amount: str
    reason: str


@strawberry.type(name="ForecastBucket")
class BucketType:
    start: date
    end: date
    opening: str
    inflows: str
    outflows: str
    closing: str
    low: str = strawberry.field(description="P10 closing")
    high: str = strawberry.field(description="P90 closing")
    items: list[ItemType]


@strawberry.type(name="Forecast")
class ForecastType:
    as_of: date
    horizon_days: int
    granularity: str
    currency: str
    opening: str
    buckets: list[BucketType]
    warnings: list[str]

    @classmethod
    def of(cls, result: Any) -> ForecastType:
        return cls(
            as_of=result.as_of, horizon_days=result.horizon_days,
            granularity=result.granularity.value, currency=result.currency,
            opening=str(result.opening), warnings=list(result.warnings),
            buckets=[BucketType(
                start=b.start, end=b.end, opening=str(b.opening), inflows=str(b.inflows),
                outflows=str(b.outflows), closing=str(b.closing), low=str(b.low),
                high=str(b.high), items=[ItemType(
                    key=c.key, source=c.source, kind=c.kind, label=c.label, date=c.day,
                    amount=str(c.amount), low_date=c.low_day, low_amount=str(c.low_amount),
                    high_date=c.high_day, high_amount=str(c.high_amount), reason=c.reason)
                    for c in b.items]) for b in result.buckets])


@strawberry.type(name="Scenario", description="A what-if: adjustments to the forecast's "
                                              "inputs; real data never changes.")
class ScenarioType(Node):
    name: str
    description: str | None
    adjustments: JSON
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, scenario: Any) -> ScenarioType:
        return cls(id=strawberry.ID(encode_id("Scenario", scenario.id)), name=scenario.name,
                   description=scenario.description, adjustments=scenario.adjustments,
                   version=scenario.version, created_at=scenario.created_at,
                   updated_at=scenario.updated_at)


@strawberry.input(description="Only the fields given change.")
class ScenarioPatchInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    adjustments: JSON | None = strawberry.field(default=strawberry.UNSET, description=(
        "A list: delay_invoice {invoice_id, days}; add_item {label, amount, date, period?, "
        "end_date?}; remove_item {source}; change_amount {source, amount}"))


@strawberry.input(description="A new scenario.")
class ScenarioInput(ScenarioPatchInput):
    name: str


@strawberry.type
class ScenarioPayload:
    scenario: ScenarioType | None
    errors: list[UserError]

    @classmethod
    def of(cls, scenario: Any, errors: list[UserError]) -> ScenarioPayload:
        return cls(scenario=ScenarioType.of(scenario) if scenario else None, errors=errors)


@strawberry.type
class ScenarioDeletePayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


def _get(info: Info, scenario_id: Any) -> ScenarioType:
    return ScenarioType.of(cashflow.get_scenario(session=info.context.session,
                                                 actor=actor_of(info),
                                                 scenario_id=scenario_id))


register_node("Scenario", _get)


def _scenario_body(input: ScenarioPatchInput) -> dict[str, Any]:
    body = plain(input)
    if "adjustments" in body and body["adjustments"] is None:
        body.pop("adjustments")
    return body


@strawberry.type
class Query:
    @strawberry.field(description="Cash now: each active account's latest balance in the "
                                  "base currency at the day's rate.")
    def cash_position(self, info: Info) -> PositionType:
        with graphql_errors():
            return PositionType.of(cashflow.get_position(session=info.context.session,
                                                         actor=actor_of(info)))

    @strawberry.field(description="Daily positions kept as snapshots; by week or month, the "
                                  "last day of each.")
    def cash_positions(
        self, info: Info,
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
        to: date | None = None, granularity: str = "day",
    ) -> list[PositionPointType]:
        with graphql_errors():
            args = load(schemas.PositionsArgs(), given(**{"from": from_, "to": to,
                                                          "granularity": granularity}))
            points = cashflow.list_positions(session=info.context.session,
                                             actor=actor_of(info), **args)
        return [PositionPointType(day=p.day, currency=p.currency, total=str(p.total))
                for p in points]

    @strawberry.field(description="Forecast buckets with their P10/P90 band and every item's "
                                  "reason; with scenarioId, that scenario's what-if.")
    def forecast(self, info: Info, horizon_days: int | None = None, granularity: str = "week",
                 scenario_id: strawberry.ID | None = None) -> ForecastType:
        with graphql_errors():
            args = load(schemas.ForecastArgs(), given(horizon_days=horizon_days,
                                                      granularity=granularity))
            if scenario_id is not None:
                args["scenario_id"] = decode_id(scenario_id, "Scenario", field="scenarioId")
            result = cashflow.get_forecast(session=info.context.session,
                                           actor=actor_of(info), **args)
        return ForecastType.of(result)

    @strawberry.field(description="Saved scenarios, oldest first.")
    def scenarios(self, info: Info) -> list[ScenarioType]:
        with graphql_errors():
            found = cashflow.list_scenarios(session=info.context.session, actor=actor_of(info))
        return [ScenarioType.of(s) for s in found]

    @strawberry.field(description="One scenario (null when not found).")
    def scenario(self, info: Info, id: strawberry.ID) -> ScenarioType | None:
        return fetch_or_none(lambda: _get(info, decode_id(id, "Scenario")))


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Save a scenario.")
    def scenario_create(self, info: Info, input: ScenarioInput) -> ScenarioPayload:
        return ScenarioPayload.of(*attempt(lambda: cashflow.create_scenario(
            session=info.context.session, actor=actor_of(info),
            data=load(schemas.ScenarioIn(), _scenario_body(input)))))

    @strawberry.mutation(description="Rename a scenario or replace its adjustments; pass "
                                     "expectedVersion to refuse a lost update.")
    def scenario_update(self, info: Info, id: strawberry.ID, input: ScenarioPatchInput,
                        expected_version: int | None = None) -> ScenarioPayload:
        return ScenarioPayload.of(*attempt(lambda: cashflow.update_scenario(
            session=info.context.session, actor=actor_of(info),
            scenario_id=decode_id(id, "Scenario"),
            changes=load(schemas.ScenarioPatch(), _scenario_body(input)),
            expected_version=expected_version)))

    @strawberry.mutation(description="Delete a scenario.")
    def scenario_delete(self, info: Info, id: strawberry.ID,
                        expected_version: int | None = None) -> ScenarioDeletePayload:
        _, errors = attempt(lambda: cashflow.delete_scenario(
            session=info.context.session, actor=actor_of(info),
            scenario_id=decode_id(id, "Scenario"), expected_version=expected_version))
        return ScenarioDeletePayload(deleted_id=None if errors else id, errors=errors)
