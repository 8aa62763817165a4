"""GraphQL face of webhook endpoints: list and read them and their deliveries; create
(the signing secret is shown once), update, delete, rotate the secret, send a test event,
retry a delivery — the same services, checks (owner, admin) and SSRF policy as REST."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from smbfinance.graphql.context import actor_of
from smbfinance.graphql.errors import UserError
from smbfinance.graphql.inputs import attempt, fetch_or_none, given, graphql_errors, load, plain
from smbfinance.graphql.relay import (
    Connection,
    Node,
    connection,
    decode_id,
    encode_id,
    page_args,
    register_node,
)
from smbfinance.webhooks import schemas, settings
from smbfinance.webhooks import service as webhooks


@strawberry.type(name="WebhookEndpoint",
                 description="A partner URL that receives signed events (Standard Webhooks). "
                             "Its secret is never shown again after create or rotate.")
class EndpointType(Node):
    url: str
    description: str | None
    event_types: list[str] = strawberry.field(description="Event types, or [\"*\"] for all")
    filter: JSON = strawberry.field(description="Field path → value (or list of values) the "
                                                "event's object must have")
    enabled: bool
    disabled_reason: str | None = strawberry.field(
        description="Why it stopped: disabled by a user, or failing for days")
    disabled_at: datetime | None
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="Until then deliveries are also signed with the previous secret")
    version: int = strawberry.field(description="Send as expectedVersion to avoid lost updates")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, found: Any) -> EndpointType:
        return cls(id=strawberry.ID(encode_id("WebhookEndpoint", found.id)), url=found.url,
                   description=found.description, event_types=list(found.event_types),
                   filter=dict(found.filter or {}), enabled=found.enabled,
                   disabled_reason=found.disabled_reason, disabled_at=found.disabled_at,
                   failing_since=found.failing_since,
                   previous_secret_expires_at=found.previous_secret_expires_at,
                   version=found.version, created_at=found.created_at,
                   updated_at=found.updated_at)


@strawberry.type(name="WebhookAttempt", description="One try at delivering.")
class AttemptType:
    at: str = strawberry.field(description="ISO 8601, UTC")
    status_code: int | None = strawberry.field(description="The receiver's HTTP status")
    error: str | None = strawberry.field(description="Why no status came (timeout, refused)")
    duration_ms: int
    response: str | None = strawberry.field(description="First 500 bytes of the answer")

    @classmethod
    def of(cls, found: dict[str, Any]) -> AttemptType:
        return cls(at=str(found.get("at")), status_code=found.get("status_code"),
                   error=found.get("error"), duration_ms=int(found.get("duration_ms") or 0),
                   response=found.get("response"))


@strawberry.type(name="WebhookDelivery", description="One event sent to one endpoint, with "
                                                     "its attempts.")
class DeliveryType:
    id: strawberry.ID = strawberry.field(description="Global id; pass as `after` to page on")
    endpoint_id: strawberry.ID = strawberry.field(description="Global id (WebhookEndpoint)")
    event_id: uuid.UUID | None = strawberry.field(description="The event (null for a test)")
    webhook_id: str = strawberry.field(description="The webhook-id header receivers "
                                                   "de-duplicate on")
    event_type: str
    object_id: uuid.UUID | None
    status: str = strawberry.field(description="pending, delivered or failed")
    attempt_count: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    attempts: list[AttemptType]
    created_at: datetime

    @classmethod
    def of(cls, found: Any) -> DeliveryType:
        return cls(id=strawberry.ID(encode_id("WebhookDelivery", found.id)),
                   endpoint_id=strawberry.ID(encode_id("WebhookEndpoint", found.endpoint_id)),
                   event_id=found.event_id, webhook_id=found.message_id,
                   event_type=found.event_type, object_id=found.object_id,
                   status=found.status, attempt_count=found.attempt_count,
                   next_attempt_at=found.next_attempt_at,
                   last_attempt_at=found.last_attempt_at,
                   last_status_code=found.last_status_code, last_error=found.last_error,
                   delivered_at=found.delivered_at,
                   attempts=[AttemptType.of(a) for a in found.attempts or []],
                   created_at=found.created_at)


def _endpoint(info: Info, endpoint_id: uuid.UUID) -> EndpointType:
    return EndpointType.of(webhooks.get_endpoint(session=info.context.session,
                                                 actor=actor_of(info), endpoint_id=endpoint_id))


def _endpoint_id(value: strawberry.ID, field: str = "id") -> uuid.UUID:
    return decode_id(value, "WebhookEndpoint", field=field)


register_node("WebhookEndpoint", _endpoint)


@strawberry.type
class Query:
    @strawberry.field(description="Webhook endpoints, oldest first (owner, admin).")
    def webhook_endpoints(self, info: Info, first: int | None = 50,
                          after: str | None = None) -> Connection[EndpointType]:
        with graphql_errors():
            page = webhooks.list_endpoints(
                session=info.context.session, actor=actor_of(info),
                **load(schemas.EndpointListArgs(), page_args(first, after, "WebhookEndpoint")))
        return connection(page, EndpointType.of)

    @strawberry.field(description="One webhook endpoint, without its secret (null when not "
                                  "found).")
    def webhook_endpoint(self, info: Info, id: strawberry.ID) -> EndpointType | None:
        return fetch_or_none(lambda: _endpoint(info, _endpoint_id(id)))

    @strawberry.field(description="An endpoint's deliveries with their attempts, newest "
                                  "first; status pending|delivered|failed.")
    def webhook_deliveries(self, info: Info, endpoint_id: strawberry.ID,
                           status: str | None = None, first: int | None = 50,
                           after: str | None = None) -> Connection[DeliveryType]:
        with graphql_errors():
            args = load(schemas.DeliveryListArgs(), {
                **page_args(first, after, "WebhookDelivery"), **given(status=status)})
            page = webhooks.list_deliveries(
                session=info.context.session, actor=actor_of(info),
                endpoint_id=_endpoint_id(endpoint_id, "endpointId"), **args)
        return connection(page, DeliveryType.of)


# ------------------------------------------------------------------ inputs and payloads

@strawberry.input(name="WebhookEndpointInput", description="Where to send which events.")
class EndpointInput:
    url: str = strawberry.field(description="https URL; private and metadata addresses are "
                                            "refused")
    event_types: list[str] = strawberry.field(description="Event types, or [\"*\"] for all")
    filter: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="Field path → value (or list of values) the "
                                              "event's object must have")
    description: str | None = strawberry.UNSET
    enabled: bool | None = strawberry.UNSET


@strawberry.input(name="WebhookEndpointPatchInput",
                  description="Only the fields given change; enabled: true re-enables.")
class EndpointPatchInput:
    url: str | None = strawberry.UNSET
    event_types: list[str] | None = strawberry.UNSET
    filter: JSON | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    enabled: bool | None = strawberry.UNSET


@strawberry.type(description="An endpoint with its signing secret: shown in this payload "
                             "only (create and rotate).")
class WebhookEndpointSecretPayload:
    webhook_endpoint: EndpointType | None
    secret: str | None = strawberry.field(description="whsec_…: store it now to verify "
                                                      "signatures; it is never shown again")
    errors: list[UserError]


@strawberry.type
class WebhookEndpointPayload:
    webhook_endpoint: EndpointType | None
    errors: list[UserError]


@strawberry.type
class WebhookEndpointDeletePayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


@strawberry.type
class WebhookDeliveryPayload:
    delivery: DeliveryType | None
    errors: list[UserError]


def _secret_payload(result: tuple[webhooks.WithSecret | None,
                                  list[UserError]]) -> WebhookEndpointSecretPayload:
    found, errors = result
    return WebhookEndpointSecretPayload(
        webhook_endpoint=EndpointType.of(found.endpoint) if found else None,
        secret=found.secret if found else None, errors=errors)


def _delivery_payload(result: tuple[Any, list[UserError]]) -> WebhookDeliveryPayload:
    found, errors = result
    return WebhookDeliveryPayload(delivery=DeliveryType.of(found) if found else None,
                                  errors=errors)


def _overlap(seconds: int | None) -> timedelta | None:
    checked = load(schemas.RotateIn(), given(overlap_seconds=seconds))
    return None if seconds is None else timedelta(seconds=checked["overlap_seconds"])


# ------------------------------------------------------------------ mutations

@strawberry.type
class Mutation:
    @strawberry.mutation(description="Subscribe a URL to event types; the signing secret is "
                                     "in this payload only (owner, admin).")
    def webhook_endpoint_create(self, info: Info,
                                input: EndpointInput) -> WebhookEndpointSecretPayload:
        return _secret_payload(attempt(lambda: webhooks.create_endpoint(
            session=info.context.session, actor=actor_of(info),
            data=load(schemas.EndpointIn(), plain(input)), policy=settings.policy(),
            box=settings.secret_box())))

    @strawberry.mutation(description="Change URL, event types, filter, description; enabled: "
                                     "true re-enables. expectedVersion refuses lost updates.")
    def webhook_endpoint_update(self, info: Info, id: strawberry.ID, input: EndpointPatchInput,
                                expected_version: int | None = None) -> WebhookEndpointPayload:
        found, errors = attempt(lambda: webhooks.update_endpoint(
            session=info.context.session, actor=actor_of(info), endpoint_id=_endpoint_id(id),
            changes=load(schemas.EndpointPatch(), plain(input)), policy=settings.policy(),
            expected_version=expected_version))
        return WebhookEndpointPayload(
            webhook_endpoint=EndpointType.of(found) if found else None, errors=errors)

    @strawberry.mutation(description="Delete an endpoint; its pending deliveries are given up.")
    def webhook_endpoint_delete(self, info: Info, id: strawberry.ID,
                                expected_version: int | None = None
                                ) -> WebhookEndpointDeletePayload:
        _, errors = attempt(lambda: webhooks.delete_endpoint(
            session=info.context.session, actor=actor_of(info), endpoint_id=_endpoint_id(id),
            expected_version=expected_version))
        return WebhookEndpointDeletePayload(deleted_id=None if errors else id, errors=errors)

    @strawberry.mutation(description="A new secret (shown once); the old one also signs for "
                                     "overlapSeconds (default 86400, at most 7 days).")
    def webhook_endpoint_rotate_secret(self, info: Info, id: strawberry.ID,
                                       overlap_seconds: int | None = None
                                       ) -> WebhookEndpointSecretPayload:
        return _secret_payload(attempt(lambda: webhooks.rotate_secret(
            session=info.context.session, actor=actor_of(info), endpoint_id=_endpoint_id(id),
            box=settings.secret_box(), overlap=_overlap(overlap_seconds))))

    @strawberry.mutation(description="Queue a webhook.test event to this endpoint (also when "
                                     "it is disabled).")
    def webhook_endpoint_send_test(self, info: Info, id: strawberry.ID) -> WebhookDeliveryPayload:
        return _delivery_payload(attempt(lambda: webhooks.send_test(
            session=info.context.session, actor=actor_of(info), endpoint_id=_endpoint_id(id))))

    @strawberry.mutation(description="Send a delivery again now (conflict when the endpoint "
                                     "is disabled).")
    def webhook_delivery_retry(self, info: Info, endpoint_id: strawberry.ID,
                               id: strawberry.ID) -> WebhookDeliveryPayload:
        return _delivery_payload(attempt(lambda: webhooks.retry_delivery(
            session=info.context.session, actor=actor_of(info),
            endpoint_id=_endpoint_id(endpoint_id, "endpointId"),
            delivery_id=decode_id(id, "WebhookDelivery"))))
