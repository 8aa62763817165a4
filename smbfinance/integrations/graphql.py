"""GraphQL face of integrations: `integrations` (health, freshness, consent, when a sync
may next be asked for), `integrationSyncLogs`, `integrationSyncRequest`,
`integrationYukiConnect` and `integrationDisconnect` — the same services, fed by the same
`integrations/settings.py`, as REST. Connecting Ponto stays on REST: it is a browser
redirect (ADR 0040)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import strawberry
from flask import request
from strawberry.scalars import JSON
from strawberry.types import Info

from smbfinance.db import utcnow
from smbfinance.errors import DomainError
from smbfinance.graphql.context import actor_of
from smbfinance.graphql.errors import UserError
from smbfinance.graphql.inputs import attempt, given, graphql_errors, load, payload_errors
from smbfinance.graphql.relay import Connection, connection, decode_id, encode_id, page_args
from smbfinance.integrations import (
    disconnect_service,
    schemas,
    sync_requests,
    sync_window_service,
    yuki_connect_service,
)
from smbfinance.integrations import service as integrations
from smbfinance.integrations import settings as app_settings
from smbfinance.integrations.health import effective_health
from smbfinance.web.schemas import ListArgs


def _customer_ip() -> str | None:
    # As REST: the person's IP goes to Ponto for an attended sync (GraphQL is people only).
    return request.remote_addr


def _enqueue_sync(*args: Any, **kwargs: Any) -> None:
    # settings.enqueue_sync is looked up at each call, not bound at import; tests replace
    # this module's _enqueue_sync.
    app_settings.enqueue_sync(*args, **kwargs)


@strawberry.type(name="Integration",
                 description="A connection to Ponto (bank) or Yuki (accounting); never its "
                             "secrets.")
class IntegrationType:
    id: strawberry.ID = strawberry.field(description="Global id: base64 of "
                                                     "\"Integration:uuid\"")
    provider: str = strawberry.field(description="ponto or yuki")
    status: str = strawberry.field(description="pending, connected or disconnected")
    health: str = strawberry.field(description="ok, degraded (recent errors), failing (a "
                                               "person must act, or three failures in a "
                                               "row), consent_expiring (within 14 days), "
                                               "disconnected")
    display_name: str | None
    external_id: str | None = strawberry.field(description="Ponto organization or Yuki "
                                                           "administration id")
    consent_expires_at: datetime | None = strawberry.field(
        description="When the bank consent ends (Ponto); after it nothing new arrives until "
                    "the user re-authorizes")
    synchronized_at: datetime | None = strawberry.field(
        description="End of the last successful sync: how fresh the data is")
    last_sync_started_at: datetime | None = strawberry.field(
        description="Start of the last sync run, whatever its outcome")
    next_sync_at: datetime | None = strawberry.field(
        description="When the scheduler will next sync on its own")
    next_allowed_sync_at: datetime | None = strawberry.field(
        description="When integrationSyncRequest would be allowed: now if allowed now, a "
                    "later time when the provider's budget is spent, null when only "
                    "reconnecting or re-authorizing helps")
    last_error_code: str | None = strawberry.field(description="Error type of the last "
                                                               "failed run, e.g. TokenRevoked")
    last_error: str | None
    consecutive_failures: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, found: Any, *, now: datetime, customer_ip: str | None) -> IntegrationType:
        return cls(
            id=strawberry.ID(encode_id("Integration", found.id)), provider=found.provider,
            status=found.status, health=effective_health(found, now=now),
            display_name=found.display_name, external_id=found.external_id,
            consent_expires_at=found.consent_expires_at,
            synchronized_at=found.last_success_at,
            last_sync_started_at=found.last_sync_started_at, next_sync_at=found.next_sync_at,
            next_allowed_sync_at=sync_window_service.next_allowed_sync_at(
                found, now=now, customer_ip=customer_ip),
            last_error_code=found.last_error_code, last_error=found.last_error,
            consecutive_failures=found.consecutive_failures, created_at=found.created_at,
            updated_at=found.updated_at)


@strawberry.type(name="IntegrationSyncLog", description="One sync run of an integration.")
class SyncLogType:
    id: strawberry.ID = strawberry.field(description="Global id; pass as `after` to page on")
    integration_id: strawberry.ID = strawberry.field(description="Global id (Integration)")
    trigger: str = strawberry.field(description="tick, manual, webhook or connect")
    status: str = strawberry.field(description="running, success, partial, failed or skipped")
    started_at: datetime
    finished_at: datetime | None
    counts: JSON = strawberry.field(description="Records read, created, updated per kind")
    calls: int = strawberry.field(description="Provider calls the run spent (Yuki's quota, "
                                              "Ponto's requests)")
    error_code: str | None
    error: str | None

    @classmethod
    def of(cls, found: Any) -> SyncLogType:
        return cls(id=strawberry.ID(encode_id("IntegrationSyncLog", found.id)),
                   integration_id=strawberry.ID(encode_id("Integration", found.integration_id)),
                   trigger=found.trigger, status=found.status, started_at=found.started_at,
                   finished_at=found.finished_at, counts=dict(found.counts),
                   calls=found.calls, error_code=found.error_code, error=found.error)


@strawberry.type(name="IntegrationSyncRequest", description="A sync queued on request.")
class SyncRequestType:
    integration_id: strawberry.ID = strawberry.field(description="Global id (Integration)")
    status: str = strawberry.field(description="Always queued: the sync runs in the "
                                               "background; watch integrationSyncLogs")
    attended: bool = strawberry.field(description="A user is present: Ponto gets their IP as "
                                                  "customerIpAddress")
    bank_synchronizations: int = strawberry.field(description="Ponto accounts the bank will "
                                                              "be asked about (0: read only)")
    requested_at: datetime

    @classmethod
    def of(cls, found: sync_requests.SyncRequested) -> SyncRequestType:
        return cls(integration_id=strawberry.ID(encode_id("Integration", found.integration_id)),
                   status="queued", attended=found.attended,
                   bank_synchronizations=found.bank_synchronizations,
                   requested_at=found.requested_at)


@strawberry.type(description="The queued sync, or why not. When the provider's budget is "
                             "spent (REST's 429) errors has code sync_budget_spent and "
                             "nextAllowedAt says when to ask again.")
class IntegrationSyncRequestPayload:
    sync_request: SyncRequestType | None
    errors: list[UserError]
    next_allowed_at: datetime | None = strawberry.field(
        default=None, description="Only when the budget is spent: the earliest time a sync "
                                  "may be asked for")
    retry_after_seconds: int | None = strawberry.field(
        default=None, description="Only when the budget is spent: seconds until "
                                  "nextAllowedAt, as REST's Retry-After")
    reason: str | None = strawberry.field(
        default=None, description="Only when the budget is spent: backoff, circuit_open, "
                                  "too_soon, quota_spent or bank_budget_spent")


def _sync_payload(action: Any) -> IntegrationSyncRequestPayload:
    try:
        return IntegrationSyncRequestPayload(sync_request=SyncRequestType.of(action()), errors=[])
    except sync_requests.SyncBudgetSpent as spent:
        wait = (spent.next_allowed_at - utcnow()).total_seconds()
        return IntegrationSyncRequestPayload(
            sync_request=None, errors=payload_errors(spent), reason=spent.reason,
            next_allowed_at=spent.next_allowed_at, retry_after_seconds=max(1, int(wait + 0.999)))
    except DomainError as error:
        return IntegrationSyncRequestPayload(sync_request=None, errors=payload_errors(error))


@strawberry.type(description="The integration connected or disconnected, or why not: errors "
                             "name the argument (accessKey, administrationId, "
                             "administrationName, integrationId); code provider_unreachable "
                             "(no field) when the provider was down, too slow, out of quota "
                             "or answered nonsense — nothing was stored, try again later.")
class IntegrationPayload:
    integration: IntegrationType | None
    errors: list[UserError]


def _integration_payload(action: Callable[[], Any]) -> IntegrationPayload:
    found, errors = attempt(action)
    if found is None:
        return IntegrationPayload(integration=None, errors=errors)
    return IntegrationPayload(errors=[], integration=IntegrationType.of(
        found, now=utcnow(), customer_ip=_customer_ip()))


@strawberry.type
class Query:
    @strawberry.field(description="The company's integrations, oldest first, with health and "
                                  "freshness (provider: ponto|yuki).")
    def integrations(self, info: Info, provider: str | None = None) -> list[IntegrationType]:
        with graphql_errors():
            args = load(schemas.IntegrationListArgs(), {"limit": 200, **given(provider=provider)})
            page = integrations.list_integrations(session=info.context.session,
                                                  actor=actor_of(info), **args)
        now, customer_ip = utcnow(), _customer_ip()
        return [IntegrationType.of(found, now=now, customer_ip=customer_ip)
                for found in page.items]

    @strawberry.field(description="An integration's sync runs, newest first.")
    def integration_sync_logs(self, info: Info, integration_id: strawberry.ID,
                              first: int | None = 50,
                              after: str | None = None) -> Connection[SyncLogType]:
        with graphql_errors():
            page = integrations.list_sync_logs(
                session=info.context.session, actor=actor_of(info),
                integration_id=decode_id(integration_id, "Integration", field="integrationId"),
                **load(ListArgs(), page_args(first, after, "IntegrationSyncLog")))
        return connection(page, SyncLogType.of)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Ask for a sync now (attended: your IP goes to Ponto). "
                                     "Refused with nextAllowedAt when the budget is spent, "
                                     "with conflict when only reconnecting helps.")
    def integration_sync_request(self, info: Info,
                                 integration_id: strawberry.ID) -> IntegrationSyncRequestPayload:
        return _sync_payload(lambda: sync_requests.request_sync(
            session=info.context.session, actor=actor_of(info),
            integration_id=decode_id(integration_id, "Integration", field="integrationId"),
            customer_ip=_customer_ip(), enqueue=_enqueue_sync))

    @strawberry.mutation(description="Connect Yuki with its web-service access key (Yuki: "
                                     "Settings → Web service access), checked at Yuki "
                                     "before anything is stored, stored sealed, never "
                                     "returned; name the administration when the key opens "
                                     "several. The first sync is queued. Owner and admin.")
    def integration_yuki_connect(self, info: Info, access_key: str,
                                 administration_id: str | None = None,
                                 administration_name: str | None = None) -> IntegrationPayload:
        body = given(access_key=access_key, administration_id=administration_id,
                     administration_name=administration_name)
        return _integration_payload(lambda: yuki_connect_service.connect_yuki(
            session=info.context.session, actor=actor_of(info), box=app_settings.box(),
            settings=app_settings.yuki_settings(), enqueue=_enqueue_sync,
            **load(schemas.YukiConnectIn(), body)))

    @strawberry.mutation(description="Disconnect an integration (Ponto: our grant revoked at "
                                     "Ponto first): credentials forgotten, no more syncs, "
                                     "data and sync logs kept. Again: the same answer, "
                                     "nothing changes. Owner and admin.")
    def integration_disconnect(self, info: Info,
                               integration_id: strawberry.ID) -> IntegrationPayload:
        return _integration_payload(lambda: disconnect_service.disconnect(
            session=info.context.session, actor=actor_of(info),
            integration_id=decode_id(integration_id, "Integration", field="integrationId"),
            box=app_settings.box(), ponto_settings=app_settings.ponto_settings(),
            redis=app_settings.redis()))
