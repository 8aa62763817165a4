"""One delivery attempt, in three steps so that no transaction stays open over HTTP:

1. claim (a short transaction): lock the delivery, check it is due, its endpoint enabled
   and nothing older for the same object is still waiting (per-object order), then lease
   it by moving `next_attempt_at` past the request's deadline — a worker that dies
   mid-request is retried after the lease, never lost;
2. POST, signed, to an address resolved and vetted now, without following redirects;
3. record (a short transaction): the attempt, then delivered, a retry time, or failed; the
   endpoint's failure clock, which disables it after 5 days of failures or on 410.

Time is passed in (`now`) so that tests drive the schedule without sleeping.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, aliased

from smbfinance.db import transaction
from smbfinance.events import alerts, emit
from smbfinance.events.feed import representation
from smbfinance.events.models import OutboxEvent
from smbfinance.integrations.secrets import SecretBox
from smbfinance.webhooks import schedule, signing
from smbfinance.webhooks.client import DeliveryFailed, Response
from smbfinance.webhooks.models import WebhookDelivery, WebhookEndpoint
from smbfinance.webhooks.service import signing_secrets
from smbfinance.webhooks.ssrf import Policy, Resolver, Target, UnsafeTarget, resolve_target

log = logging.getLogger(__name__)

Sender = Callable[[Target, bytes, dict[str, str]], Response]
LEASE = timedelta(seconds=schedule.TIMEOUT_SECONDS + 45)
MAX_LOGGED_ATTEMPTS = 20
_D = aliased(WebhookDelivery)  # the outer row in due()'s per-object order check


@dataclass(frozen=True)
class Claimed:
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Outcome:
    status: str                     # delivered | pending | failed | skipped
    next_attempt_at: datetime | None = None
    endpoint_disabled: bool = False
    # The next delivery of the same object to the same endpoint, now free to go.
    unblocked: uuid.UUID | None = None


def body_of(session: Session, delivery: WebhookDelivery) -> bytes:
    if delivery.payload is not None:
        data = delivery.payload
    else:
        event = session.execute(select(OutboxEvent).where(
            OutboxEvent.id == delivery.event_id)).scalar_one()
        data = representation(event)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _blocked(session: Session, delivery: WebhookDelivery) -> bool:
    if delivery.object_id is None:
        return False
    earlier = session.execute(select(WebhookDelivery.id).where(
        WebhookDelivery.endpoint_id == delivery.endpoint_id,
        WebhookDelivery.object_id == delivery.object_id,
        WebhookDelivery.status == "pending",
        WebhookDelivery.seq < delivery.seq).limit(1)).first()
    return earlier is not None


def claim(*, session: Session, delivery_id: uuid.UUID, now: datetime,
          box: SecretBox) -> Claimed | None:
    with transaction(session):
        delivery = session.execute(select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id).with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        if (delivery is None or delivery.status != "pending"
                or delivery.next_attempt_at is None or delivery.next_attempt_at > now):
            return None
        endpoint = session.execute(select(WebhookEndpoint).where(
            WebhookEndpoint.id == delivery.endpoint_id)).scalar_one()
        is_test = delivery.payload is not None
        if endpoint.deleted_at is not None or (not endpoint.enabled and not is_test):
            return None
        if _blocked(session, delivery):
            return None
        body = body_of(session, delivery)
        secrets = signing_secrets(endpoint, box=box, now=now)
        headers = signing.headers(secrets, msg_id=delivery.message_id,
                                  timestamp=int(now.timestamp()), body=body)
        delivery.next_attempt_at = now + LEASE
        return Claimed(delivery_id=delivery.id, endpoint_id=endpoint.id, url=endpoint.url,
                       body=body, headers=headers)


def send(claimed: Claimed, *, policy: Policy, sender: Sender,
         resolver: Resolver | None = None) -> tuple[Response | None, str | None, int]:
    """POST the claimed delivery; (response, error, milliseconds). Never raises for the
    receiver's failures: those are the outcome."""
    started = time.monotonic()
    try:
        target = (resolve_target(claimed.url, policy, resolver) if resolver
                  else resolve_target(claimed.url, policy))
        response = sender(target, claimed.body, claimed.headers)
        error = None
    except UnsafeTarget as exc:
        response, error = None, f"refused: {exc}"
    except DeliveryFailed as exc:
        response, error = None, str(exc)
    return response, error, int((time.monotonic() - started) * 1000)


def record(*, session: Session, claimed: Claimed, now: datetime, response: Response | None,
           error: str | None, duration_ms: int) -> Outcome:
    with transaction(session):
        delivery = session.execute(select(WebhookDelivery).where(
            WebhookDelivery.id == claimed.delivery_id).with_for_update()).scalar_one()
        endpoint = session.execute(select(WebhookEndpoint).where(
            WebhookEndpoint.id == claimed.endpoint_id).with_for_update()).scalar_one()
        status_code = response.status if response is not None else None
        if status_code is not None and not 200 <= status_code < 300:
            error = f"HTTP {status_code}" + (" (redirects are not followed)"
                                             if 300 <= status_code < 400 else "")
        entry = {"at": now.isoformat(), "status_code": status_code, "error": error,
                 "duration_ms": duration_ms,
                 "response": response.body[:500].decode("utf-8", "replace") if response else None}
        delivery.attempts = [*delivery.attempts, entry][-MAX_LOGGED_ATTEMPTS:]
        delivery.attempt_count += 1
        delivery.last_attempt_at = now
        delivery.last_status_code = status_code
        delivery.last_error = error[:500] if error else None
        delivery.updated_at = now
        verdict = schedule.verdict(status_code)
        disabled = False
        if verdict is schedule.Verdict.DELIVERED:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
                "delivered", now, None)
            if endpoint.failing_since is not None:
                _set_failing_since(session, endpoint, None)
        elif verdict is schedule.Verdict.GONE:
            delivery.status, delivery.next_attempt_at = "failed", None
            disabled = _disable(session, endpoint, now, "the receiver answered 410 Gone")
        else:
            retry_after = schedule.parse_retry_after(
                response.headers.get("retry-after") if response else None, now)
            delivery.next_attempt_at = schedule.next_attempt(delivery.attempt_count, now,
                                                             retry_after)
            if delivery.next_attempt_at is None:
                delivery.status = "failed"
            failing_since = endpoint.failing_since or now
            if endpoint.failing_since is None:
                _set_failing_since(session, endpoint, now)
            if schedule.should_disable(failing_since, now):
                disabled = _disable(session, endpoint, now,
                                    f"every delivery failed for {schedule.DISABLE_AFTER.days} "
                                    "days")
        session.flush()
        unblocked = _next_in_queue(session, delivery) if delivery.status != "pending" else None
        return Outcome(status=delivery.status, next_attempt_at=delivery.next_attempt_at,
                       endpoint_disabled=disabled, unblocked=unblocked)


def _set_failing_since(session: Session, endpoint: WebhookEndpoint,
                       value: datetime | None) -> None:
    # Bookkeeping, not an edit: a Core UPDATE leaves the endpoint's version (ETag) alone.
    session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id)
                    .values(failing_since=value).execution_options(synchronize_session=False))
    session.expire(endpoint, ["failing_since"])


def _disable(session: Session, endpoint: WebhookEndpoint, now: datetime, reason: str) -> bool:
    if not endpoint.enabled:
        return False
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    endpoint.disabled_at = now
    endpoint.updated_at = now
    session.flush()
    emit(session=session, type="webhook_endpoint.disabled", object_id=endpoint.id,
         obj=public_view(endpoint))
    # The owners are told in the app (an alert only owners and admins see); the event
    # reaches their other endpoints and the feed; the log line (level ERROR) is what
    # operations alerting watches. All in the transaction that disables the endpoint.
    alerts.endpoint_disabled(session, endpoint=endpoint, now=now)
    log.error("webhook endpoint disabled", extra={"endpoint_id": str(endpoint.id),
                                                  "reason": reason})
    return True


def _next_in_queue(session: Session, delivery: WebhookDelivery) -> uuid.UUID | None:
    if delivery.object_id is None:
        return None
    return session.execute(select(WebhookDelivery.id).where(
        WebhookDelivery.endpoint_id == delivery.endpoint_id,
        WebhookDelivery.object_id == delivery.object_id,
        WebhookDelivery.status == "pending").order_by(WebhookDelivery.seq).limit(1)
    ).scalar_one_or_none()


def attempt(*, session: Session, delivery_id: uuid.UUID, now: datetime, policy: Policy,
            box: SecretBox, sender: Sender, resolver: Resolver | None = None,
            clock: Callable[[], datetime] | None = None) -> Outcome:
    """Claim, send, record. `clock` gives the time the answer arrived (defaults to `now`)."""
    claimed = claim(session=session, delivery_id=delivery_id, now=now, box=box)
    if claimed is None:
        return Outcome(status="skipped")
    response, error, duration_ms = send(claimed, policy=policy, sender=sender,
                                        resolver=resolver)
    return record(session=session, claimed=claimed, now=clock() if clock else now,
                  response=response, error=error, duration_ms=duration_ms)


def due(*, session: Session, now: datetime, limit: int = 500) -> list[uuid.UUID]:
    """Deliveries to attempt now: due, endpoint enabled, first of their object's queue."""
    earlier = select(WebhookDelivery.id).where(
        WebhookDelivery.endpoint_id == _D.endpoint_id,
        WebhookDelivery.object_id == _D.object_id,
        WebhookDelivery.status == "pending",
        WebhookDelivery.seq < _D.seq).exists()
    with transaction(session):
        return list(session.execute(
            select(_D.id).join(WebhookEndpoint, WebhookEndpoint.id == _D.endpoint_id)
            .where(_D.status == "pending", _D.next_attempt_at <= now,
                   WebhookEndpoint.deleted_at.is_(None),
                   (WebhookEndpoint.enabled.is_(True)) | (_D.payload.is_not(None)),
                   ~earlier)
            .order_by(_D.seq).limit(limit)).scalars())


def public_view(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """An endpoint without its secrets (events and the API)."""
    return {
        "id": str(endpoint.id), "object": "webhook_endpoint", "url": endpoint.url,
        "description": endpoint.description, "event_types": list(endpoint.event_types),
        "filter": endpoint.filter, "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "disabled_at": endpoint.disabled_at.isoformat() if endpoint.disabled_at else None,
    }

