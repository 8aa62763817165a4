"""Webhook endpoints: create (the secret is shown once), list, read, change, delete, rotate
the secret; list an endpoint's deliveries, re-send one, send a test event.

Managing endpoints needs `integrations:secrets` (owners and admins): an endpoint decides
where the tenant's data goes and holds a signing secret."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.concurrency import check_version
from smbfinance.db import new_id, on_commit, transaction, utcnow
from smbfinance.errors import Conflict, ErrorList, Invalid, NotFound
from smbfinance.events import alerts as event_alerts
from smbfinance.events.catalogue import TEST_EVENT
from smbfinance.integrations.secrets import SecretBox
from smbfinance.pagination import Page, check_limit, page_of
from smbfinance.tenancy import current_tenant_id
from smbfinance.webhooks import dispatch, filters, signing
from smbfinance.webhooks.models import WebhookDelivery, WebhookEndpoint
from smbfinance.webhooks.ssrf import Policy, UnsafeTarget, check_url

DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=7)
MAX_ENDPOINTS = 20
DELIVERY_STATUSES = ("pending", "delivered", "failed")


@dataclass(frozen=True)
class WithSecret:
    """An endpoint and its new secret: returned once, at creation and rotation."""

    endpoint: WebhookEndpoint
    secret: str


def _check_url(raw: Any, policy: Policy, errors: ErrorList) -> str | None:
    try:
        return check_url(raw, policy)
    except UnsafeTarget as exc:
        errors.add("url", str(exc), "unsafe_url")
        return None


def _clean(data: dict[str, Any], policy: Policy, *, partial: bool) -> dict[str, Any]:
    errors = ErrorList()
    clean: dict[str, Any] = {}
    if "url" in data or not partial:
        clean["url"] = _check_url(data.get("url"), policy, errors)
    if "event_types" in data or not partial:
        clean["event_types"] = filters.check_event_types(data.get("event_types"), errors)
    if "filter" in data:
        clean["filter"] = filters.check_filter(data["filter"], errors)
    if "description" in data:
        clean["description"] = data["description"]
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            errors.add("enabled", "true or false")
        clean["enabled"] = data["enabled"]
    errors.raise_if_any()
    return clean


def seal_context(tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> str:
    """Associated data binding a sealed secret to its endpoint row (either column)."""
    return f"webhook-endpoint:{tenant_id}:{endpoint_id}"


def signing_secrets(endpoint: WebhookEndpoint, *, box: SecretBox, now: datetime) -> list[str]:
    context = seal_context(endpoint.tenant_id, endpoint.id)
    return [box.decrypt(sealed, context=context)
            for sealed in endpoint.sealed_signing_secrets(now)]


def _require_box(box: SecretBox | None) -> SecretBox:
    if box is None:
        raise Conflict("webhook secrets cannot be stored: the server has no encryption key "
                       "(INTEGRATION_ENCRYPTION_KEYS)")
    return box


def create_endpoint(*, session: Session, actor: Actor, data: dict[str, Any],
                    policy: Policy, box: SecretBox | None) -> WithSecret:
    require(actor, Permission.INTEGRATION_SECRETS)
    clean = _clean(data, policy, partial=False)
    box = _require_box(box)
    secret = signing.generate_secret()
    endpoint_id = new_id()
    with transaction(session):
        count = session.execute(select(func.count()).select_from(WebhookEndpoint).where(
            WebhookEndpoint.deleted_at.is_(None))).scalar_one()
        if count >= MAX_ENDPOINTS:
            raise Conflict(f"a company can have at most {MAX_ENDPOINTS} webhook endpoints")
        sealed = box.encrypt(secret, context=seal_context(current_tenant_id(session),
                                                          endpoint_id))
        endpoint = WebhookEndpoint(id=endpoint_id, secret=sealed,
                                   filter=clean.pop("filter", {}),
                                   enabled=clean.pop("enabled", True), **clean)
        session.add(endpoint)
        session.flush()
    return WithSecret(endpoint=endpoint, secret=secret)


def _get(session: Session, endpoint_id: uuid.UUID, *, for_update: bool = False
         ) -> WebhookEndpoint:
    query = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id,
                                          WebhookEndpoint.deleted_at.is_(None))
    if for_update:
        query = query.with_for_update()
    endpoint = session.execute(query).scalar_one_or_none()
    if endpoint is None:
        raise NotFound(f"no webhook endpoint {endpoint_id}")
    return endpoint


def get_endpoint(*, session: Session, actor: Actor, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    require(actor, Permission.INTEGRATION_SECRETS)
    with transaction(session):
        return _get(session, endpoint_id)


def list_endpoints(*, session: Session, actor: Actor, limit: int | None = None,
                   starting_after: uuid.UUID | None = None) -> Page[WebhookEndpoint]:
    require(actor, Permission.INTEGRATION_SECRETS)
    limit = check_limit(limit)
    query = select(WebhookEndpoint).where(WebhookEndpoint.deleted_at.is_(None))
    with transaction(session):
        if starting_after is not None:
            _get(session, starting_after)
            query = query.where(WebhookEndpoint.id > starting_after)
        rows = session.execute(query.order_by(WebhookEndpoint.id).limit(limit + 1)
                               ).scalars().all()
    return page_of(rows, limit)


def update_endpoint(*, session: Session, actor: Actor, endpoint_id: uuid.UUID,
                    changes: dict[str, Any], policy: Policy,
                    expected_version: int | None = None) -> WebhookEndpoint:
    """Change URL, types, filter, description or enabled; enabling again clears the
    failure state, and the deliveries still pending resume."""
    require(actor, Permission.INTEGRATION_SECRETS)
    clean = _clean(changes, policy, partial=True)
    with transaction(session):
        endpoint = _get(session, endpoint_id, for_update=True)
        check_version("webhook endpoint", endpoint.version, expected_version)
        if clean.get("enabled") is True and not endpoint.enabled:
            endpoint.disabled_reason = None
            endpoint.disabled_at = None
            endpoint.failing_since = None
            event_alerts.endpoint_alerts_cleared(session, endpoint_id=endpoint.id,
                                                 now=utcnow())
        elif clean.get("enabled") is False and endpoint.enabled:
            endpoint.disabled_reason = "disabled by a user"
            endpoint.disabled_at = utcnow()
        for key, value in clean.items():
            setattr(endpoint, key, value)
        endpoint.updated_at = utcnow()
        session.flush()
    return endpoint


def delete_endpoint(*, session: Session, actor: Actor, endpoint_id: uuid.UUID,
                    expected_version: int | None = None) -> None:
    """Soft delete (its delivery log stays readable in the database); pending deliveries
    are given up."""
    require(actor, Permission.INTEGRATION_SECRETS)
    with transaction(session):
        endpoint = _get(session, endpoint_id, for_update=True)
        check_version("webhook endpoint", endpoint.version, expected_version)
        now = utcnow()
        endpoint.deleted_at = now
        endpoint.enabled = False
        event_alerts.endpoint_alerts_cleared(session, endpoint_id=endpoint.id, now=now)
        session.execute(update(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "pending",
        ).values(status="failed", next_attempt_at=None, last_error="endpoint deleted",
                 updated_at=now).execution_options(synchronize_session=False))


def rotate_secret(*, session: Session, actor: Actor, endpoint_id: uuid.UUID,
                  box: SecretBox | None, overlap: timedelta | None = None,
                  now: datetime | None = None) -> WithSecret:
    """A new secret signs from now on; the current one keeps signing too (deliveries carry
    both signatures) until the overlap ends, so receivers can switch without a gap."""
    require(actor, Permission.INTEGRATION_SECRETS)
    overlap = DEFAULT_OVERLAP if overlap is None else overlap
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise Invalid.field("overlap_seconds", f"between 0 and {int(MAX_OVERLAP.total_seconds())}")
    now = now or utcnow()
    box = _require_box(box)
    secret = signing.generate_secret()
    with transaction(session):
        endpoint = _get(session, endpoint_id, for_update=True)
        endpoint.previous_secret = endpoint.secret if overlap else None
        endpoint.previous_secret_expires_at = now + overlap if overlap else None
        endpoint.secret = box.encrypt(secret, context=seal_context(endpoint.tenant_id,
                                                                    endpoint.id))
        endpoint.updated_at = now
        session.flush()
    return WithSecret(endpoint=endpoint, secret=secret)


# ------------------------------------------------------------------ deliveries

def list_deliveries(*, session: Session, actor: Actor, endpoint_id: uuid.UUID,
                    status: str | None = None, limit: int | None = None,
                    starting_after: uuid.UUID | None = None) -> Page[WebhookDelivery]:
    """Newest first."""
    require(actor, Permission.INTEGRATION_SECRETS)
    limit = check_limit(limit)
    if status is not None and status not in DELIVERY_STATUSES:
        raise Invalid.field("status", f"one of {', '.join(DELIVERY_STATUSES)}")
    with transaction(session):
        _get(session, endpoint_id)
        query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
        if status:
            query = query.where(WebhookDelivery.status == status)
        if starting_after is not None:
            _delivery(session, endpoint_id, starting_after)
            query = query.where(WebhookDelivery.id < starting_after)
        rows = session.execute(query.order_by(WebhookDelivery.id.desc()).limit(limit + 1)
                               ).scalars().all()
    return page_of(rows, limit)


def _delivery(session: Session, endpoint_id: uuid.UUID, delivery_id: uuid.UUID, *,
              for_update: bool = False) -> WebhookDelivery:
    query = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id,
                                          WebhookDelivery.endpoint_id == endpoint_id)
    if for_update:
        query = query.with_for_update()
    delivery = session.execute(query).scalar_one_or_none()
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id} for webhook endpoint {endpoint_id}")
    return delivery


def get_delivery(*, session: Session, actor: Actor, endpoint_id: uuid.UUID,
                 delivery_id: uuid.UUID) -> WebhookDelivery:
    require(actor, Permission.INTEGRATION_SECRETS)
    with transaction(session):
        _get(session, endpoint_id)
        return _delivery(session, endpoint_id, delivery_id)


def retry_delivery(*, session: Session, actor: Actor, endpoint_id: uuid.UUID,
                   delivery_id: uuid.UUID) -> WebhookDelivery:
    """Send a delivery again now, whatever its state (a delivered one too: receivers
    de-duplicate on webhook-id). It keeps its place in its object's order."""
    require(actor, Permission.INTEGRATION_SECRETS)
    with transaction(session):
        endpoint = _get(session, endpoint_id)
        if not endpoint.enabled:
            raise Conflict("the endpoint is disabled: enable it first (PATCH enabled=true)")
        delivery = _delivery(session, endpoint_id, delivery_id, for_update=True)
        delivery.status = "pending"
        delivery.next_attempt_at = utcnow()
        delivery.updated_at = utcnow()
        session.flush()
        _deliver_after_commit(session, delivery)
    return delivery


def send_test(*, session: Session, actor: Actor, endpoint_id: uuid.UUID) -> WebhookDelivery:
    """Queue a `webhook.test` event to this endpoint (also when it is disabled, to check
    it before enabling it again). It is not part of the event feed."""
    require(actor, Permission.INTEGRATION_SECRETS)
    with transaction(session):
        endpoint = _get(session, endpoint_id)
        now = utcnow()
        message_id = new_id()
        seq = session.execute(text("SELECT nextval('outbox_feed_seq')")).scalar_one()
        delivery = WebhookDelivery(
            id=new_id(), endpoint_id=endpoint.id, event_id=None, message_id=str(message_id),
            event_type=TEST_EVENT, object_id=None, seq=seq, status="pending",
            attempt_count=0, attempts=[], next_attempt_at=now,
            payload={"id": str(message_id), "object": "event", "type": TEST_EVENT,
                     "created_at": now.isoformat(), "object_id": None,
                     "data": {"message": "A test event from SMB Finance OS.",
                              "webhook_endpoint_id": str(endpoint.id)}})
        session.add(delivery)
        session.flush()
        _deliver_after_commit(session, delivery)
    return delivery


def _deliver_after_commit(session: Session, delivery: WebhookDelivery) -> None:
    tenant_id, delivery_id = current_tenant_id(session), delivery.id
    on_commit(session, lambda: dispatch.deliver_later(tenant_id, delivery_id))
