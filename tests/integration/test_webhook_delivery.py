"""Deliveries to a real loopback HTTP receiver (a small threaded server in the test), with
time driven by passing `now`: success, 500, timeout, 429 with Retry-After, 410, redirects,
the whole retry schedule, the 5-day disable, per-object order, rotation and SSRF at
delivery time. No sleeps: a receiver that "hangs" waits on an Event the test releases."""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import DEV_INTEGRATION_KEYS
from smbfinance.auth.permissions import Actor
from smbfinance.contacts import service as contacts
from smbfinance.db import transaction
from smbfinance.errors import Conflict
from smbfinance.events.models import OutboxEvent
from smbfinance.events.relay import relay
from smbfinance.integrations.secrets import SecretBox, SecretError
from smbfinance.webhooks import client, delivery, schedule, signing
from smbfinance.webhooks import service as webhooks
from smbfinance.webhooks.models import WebhookDelivery, WebhookEndpoint
from smbfinance.webhooks.ssrf import Policy

DEV = Policy.from_config(require_https=False, allowed_networks=["127.0.0.0/8"])
BOX = SecretBox.from_config(DEV_INTEGRATION_KEYS)
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
send = partial(client.post, timeout=0.5)


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Answers each POST with the next scripted Answer (then 200) and records it."""

    def __init__(self) -> None:
        self.script: list[Answer] = []
        self.received: list[Received] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append(Received(self.path, {k.lower(): v for k, v in
                                                              self.headers.items()}, body))
                answer = receiver.script.pop(0) if receiver.script else Answer()
                if answer.hang:
                    receiver.release.wait(10)
                    return
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/in"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


@pytest.fixture()
def endpoint(session, actor, receiver) -> webhooks.WithSecret:
    return webhooks.create_endpoint(session=session, actor=actor, policy=DEV, box=BOX, data={
        "url": receiver.url, "event_types": ["*"]})


def publish_contact(session: Session, actor: Actor, name: str = "Client NV",
                    now: datetime = T0) -> uuid.UUID:
    contact = contacts.create_contact(session=session, actor=actor, data={"name": name})
    relay(session=session, now=now)
    return contact.id


def deliveries(session: Session) -> list[WebhookDelivery]:
    with transaction(session):
        rows = session.execute(select(WebhookDelivery).order_by(WebhookDelivery.seq)
                               ).scalars().all()
        for row in rows:
            session.refresh(row)
        return list(rows)


def endpoint_row(session: Session, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    with transaction(session):
        row = session.execute(select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id)).scalar_one()
        session.refresh(row)
        return row


def attempt(session: Session, delivery_id: uuid.UUID, now: datetime,
            **kwargs: Any) -> delivery.Outcome:
    return delivery.attempt(session=session, delivery_id=delivery_id, now=now, policy=DEV,
                            box=BOX, sender=send, **kwargs)


def test_a_delivery_is_signed_and_carries_the_event(session, actor, endpoint, receiver):
    # given a published contact.created event
    publish_contact(session, actor)
    [pending] = deliveries(session)
    # when it is attempted
    outcome = attempt(session, pending.id, T0)
    # then the receiver got one POST with Standard Webhooks headers that verify
    assert outcome.status == "delivered"
    [got] = receiver.received
    assert got.path == "/hooks/in" and got.headers["content-type"] == "application/json"
    signing.verify([endpoint.secret], headers=got.headers, body=got.body,
                   now=int(T0.timestamp()))
    assert got.headers["webhook-id"] == pending.message_id
    assert got.headers["webhook-timestamp"] == str(int(T0.timestamp()))
    # and the body is the event as the feed shows it
    body = json.loads(got.body)
    assert body["type"] == "contact.created" and body["data"]["name"] == "Client NV"
    with transaction(session):
        event = session.execute(select(OutboxEvent)).scalar_one()
    assert body["id"] == str(event.id)
    [done] = deliveries(session)
    assert (done.status, done.attempt_count, done.last_status_code) == ("delivered", 1, 200)
    # and attempting it again sends nothing
    assert attempt(session, pending.id, T0 + timedelta(hours=1)).status == "skipped"
    assert len(receiver.received) == 1


def test_500s_are_retried_on_schedule_until_delivered(session, actor, endpoint, receiver):
    # given a receiver failing twice with 500
    receiver.script = [Answer(500), Answer(500)]
    publish_contact(session, actor)
    [pending] = deliveries(session)
    # when attempted at T0 → retry 5 s later
    assert attempt(session, pending.id, T0).next_attempt_at == T0 + timedelta(seconds=5)
    # a task arriving early does nothing
    assert attempt(session, pending.id, T0 + timedelta(seconds=4)).status == "skipped"
    # at +5 s it fails again → next after 5 min
    second = T0 + timedelta(seconds=5)
    assert attempt(session, pending.id, second).next_attempt_at == second + timedelta(minutes=5)
    # then at +5 min it is delivered
    assert attempt(session, pending.id, second + timedelta(minutes=5)).status == "delivered"
    # and the receiver saw the same id and body three times, each freshly signed
    assert len(receiver.received) == 3
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert len({r.body for r in receiver.received}) == 1
    stamps = [int(r.headers["webhook-timestamp"]) for r in receiver.received]
    assert stamps == [int(t.timestamp()) for t in (T0, second, second + timedelta(minutes=5))]
    [done] = deliveries(session)
    assert [a["status_code"] for a in done.attempts] == [500, 500, 200]
    assert endpoint_row(session, endpoint.endpoint.id).failing_since is None


def test_a_receiver_that_always_fails_gets_exactly_the_schedule(session, actor, endpoint,
                                                                 receiver):
    # given a receiver that answers 503 to everything
    receiver.script = [Answer(503)] * 20
    publish_contact(session, actor)
    [pending] = deliveries(session)
    # when every attempt is made exactly when due
    now, times = T0, []
    while True:
        times.append(now)
        outcome = attempt(session, pending.id, now)
        if outcome.next_attempt_at is None:
            break
        now = outcome.next_attempt_at
    # then the attempts followed 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, and it failed
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps == list(schedule.RETRY_DELAYS)
    assert outcome.status == "failed" and len(receiver.received) == schedule.MAX_ATTEMPTS
    # and the endpoint (failing ~28 h, under 5 days) stays enabled
    assert endpoint_row(session, endpoint.endpoint.id).enabled


def test_a_timeout_is_a_failure_and_is_retried(session, actor, endpoint, receiver):
    # given a receiver that never answers
    receiver.script = [Answer(hang=True)]
    publish_contact(session, actor)
    [pending] = deliveries(session)
    # when attempted with the (test-sized) timeout
    outcome = attempt(session, pending.id, T0)
    receiver.release.set()
    # then the attempt is logged as a timeout and retried
    assert outcome.status == "pending"
    [row] = deliveries(session)
    assert row.last_status_code is None and "timeout" in row.last_error
    assert row.next_attempt_at == T0 + timedelta(seconds=5)


def test_retry_after_is_honoured(session, actor, endpoint, receiver):
    # given a receiver rate limiting with Retry-After: 120
    receiver.script = [Answer(429, {"Retry-After": "120"}), Answer(429, {"Retry-After": "1"})]
    publish_contact(session, actor)
    [pending] = deliveries(session)
    # then the next attempt waits 120 s instead of 5 s
    assert attempt(session, pending.id, T0).next_attempt_at == T0 + timedelta(seconds=120)
    # and a Retry-After shorter than the schedule does not make it sooner (5 min)
    second = T0 + timedelta(seconds=120)
    assert attempt(session, pending.id, second).next_attempt_at == (
        second + timedelta(minutes=5))


def test_410_disables_the_endpoint_and_tells_the_owner(session, actor, endpoint, receiver):
    # given a receiver answering 410 Gone
    receiver.script = [Answer(410)]
    publish_contact(session, actor)
    [pending] = deliveries(session)
    # when attempted
    outcome = attempt(session, pending.id, T0)
    # then the delivery failed for good and the endpoint is disabled with its reason
    assert (outcome.status, outcome.endpoint_disabled) == ("failed", True)
    row = endpoint_row(session, endpoint.endpoint.id)
    assert not row.enabled and "410" in row.disabled_reason
    # and a webhook_endpoint.disabled event was recorded for the feed and other endpoints
    with transaction(session):
        types = session.execute(select(OutboxEvent.type)).scalars().all()
    assert "webhook_endpoint.disabled" in types
    # and new events are no longer fanned out to it
    publish_contact(session, actor, "Another")
    assert len(deliveries(session)) == 1


def test_redirects_are_not_followed(session, actor, endpoint, receiver):
    # given a receiver redirecting to another loopback path
    receiver.script = [Answer(302, {"Location": "http://127.0.0.1:1/admin"}),
                       Answer(307, {"Location": receiver.url + "/elsewhere"})]
    publish_contact(session, actor)
    [pending] = deliveries(session)
    # when attempted twice
    attempt(session, pending.id, T0)
    outcome = attempt(session, pending.id, T0 + timedelta(seconds=5))
    # then each 3xx is a failure, retried later, and no request followed a Location
    assert outcome.status == "pending"
    assert [r.path for r in receiver.received] == ["/hooks/in", "/hooks/in"]
    [row] = deliveries(session)
    assert row.last_status_code == 307 and "redirect" in row.last_error


def test_an_endpoint_failing_for_five_days_is_disabled(session, actor, endpoint, receiver):
    # given a receiver that keeps failing
    receiver.script = [Answer(500)] * 10
    publish_contact(session, actor, "First", now=T0)
    first = deliveries(session)[0]
    attempt(session, first.id, T0)
    assert endpoint_row(session, endpoint.endpoint.id).failing_since == T0
    # when another event fails just under 5 days later, the endpoint stays enabled
    later = T0 + timedelta(days=5) - timedelta(seconds=1)
    publish_contact(session, actor, "Second", now=later)
    second = deliveries(session)[1]
    assert attempt(session, second.id, later).endpoint_disabled is False
    # but a failure at 5 days disables it
    third_time = T0 + timedelta(days=5)
    publish_contact(session, actor, "Third", now=third_time)
    third = deliveries(session)[2]
    assert attempt(session, third.id, third_time).endpoint_disabled is True
    row = endpoint_row(session, endpoint.endpoint.id)
    assert not row.enabled and "5 days" in row.disabled_reason
    # and while disabled nothing is attempted
    assert attempt(session, first.id, third_time + timedelta(hours=1)).status == "skipped"


def test_a_success_resets_the_failure_clock(session, actor, endpoint, receiver):
    receiver.script = [Answer(500)]
    publish_contact(session, actor)
    [pending] = deliveries(session)
    attempt(session, pending.id, T0)
    attempt(session, pending.id, T0 + timedelta(seconds=5))
    assert endpoint_row(session, endpoint.endpoint.id).failing_since is None


def test_events_of_one_object_arrive_in_order(session, actor, endpoint, receiver):
    # given a contact created then updated: two events for one object
    receiver.script = [Answer(500)]
    contact = contacts.create_contact(session=session, actor=actor, data={"name": "V1"})
    contacts.update_contact(session=session, actor=actor, contact_id=contact.id,
                            changes={"name": "V2"})
    contacts.create_contact(session=session, actor=actor, data={"name": "Other"})
    relay(session=session, now=T0)
    created, updated, other_created = deliveries(session)
    # when the first fails, the second waits, while another object's event goes ahead
    assert attempt(session, created.id, T0).status == "pending"
    assert delivery.due(session=session, now=T0) == [other_created.id]
    assert attempt(session, updated.id, T0).status == "skipped"
    assert attempt(session, other_created.id, T0).status == "delivered"
    # then once the first is delivered, it names the second as unblocked
    outcome = attempt(session, created.id, T0 + timedelta(seconds=5))
    assert (outcome.status, outcome.unblocked) == ("delivered", updated.id)
    assert attempt(session, updated.id, T0 + timedelta(seconds=5)).status == "delivered"
    names = [json.loads(r.body)["data"]["name"] for r in receiver.received]
    assert names == ["V1", "Other", "V1", "V2"]


def test_during_rotation_both_secrets_sign(session, actor, endpoint, receiver):
    # given the secret rotated with a 1-hour overlap
    rotated = webhooks.rotate_secret(session=session, actor=actor,
                                     endpoint_id=endpoint.endpoint.id, box=BOX,
                                     overlap=timedelta(hours=1), now=T0)
    publish_contact(session, actor)
    [pending] = deliveries(session)
    # when delivered within the overlap
    attempt(session, pending.id, T0 + timedelta(minutes=30))
    got = receiver.received[-1]
    # then two signatures are sent and a receiver with either secret verifies
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    stamp = int(got.headers["webhook-timestamp"])
    for secret in (endpoint.secret, rotated.secret):
        signing.verify([secret], headers=got.headers, body=got.body, now=stamp)
    # and after the overlap only the new secret signs
    webhooks.retry_delivery(session=session, actor=actor, endpoint_id=endpoint.endpoint.id,
                            delivery_id=pending.id)
    with transaction(session):
        row = session.get(WebhookDelivery, (actor.tenant_id, pending.id))
        row.next_attempt_at = T0 + timedelta(hours=2)
    attempt(session, pending.id, T0 + timedelta(hours=2))
    late = receiver.received[-1]
    assert len(late.headers["webhook-signature"].split(" ")) == 1
    signing.verify([rotated.secret], headers=late.headers, body=late.body,
                   now=int(late.headers["webhook-timestamp"]))
    with pytest.raises(signing.SignatureError):
        signing.verify([endpoint.secret], headers=late.headers, body=late.body,
                       now=int(late.headers["webhook-timestamp"]))


def test_a_host_resolving_to_loopback_is_refused_at_delivery(session, actor, receiver):
    # given a production policy (no allow-list) and an endpoint on a public-looking name
    production = Policy(require_https=True)
    saved = webhooks.create_endpoint(session=session, actor=actor, policy=production, box=BOX,
                                     data={"url": "https://hooks.example.com/in",
                                           "event_types": ["*"]})
    publish_contact(session, actor)
    [pending] = deliveries(session)
    # when the name now resolves to loopback (DNS rebinding)
    outcome = delivery.attempt(session=session, delivery_id=pending.id, now=T0,
                               policy=production, box=BOX, sender=send,
                               resolver=lambda host, port: ["127.0.0.1"])
    # then nothing was sent and the attempt is logged as refused, to be retried
    assert receiver.received == [] and outcome.status == "pending"
    [row] = deliveries(session)
    assert row.last_error.startswith("refused") and row.endpoint_id == saved.endpoint.id


def test_a_test_event_is_sent_without_entering_the_feed(session, actor, endpoint, receiver):
    test = webhooks.send_test(session=session, actor=actor, endpoint_id=endpoint.endpoint.id)
    assert attempt(session, test.id, datetime.now(UTC)).status == "delivered"
    body = json.loads(receiver.received[0].body)
    assert body["type"] == "webhook.test"
    with transaction(session):
        assert session.execute(select(OutboxEvent)).scalars().all() == []


def test_a_crashed_attempt_is_retried_after_its_lease(session, actor, endpoint, receiver):
    # given a delivery claimed by a worker that then died before recording anything
    publish_contact(session, actor)
    [pending] = deliveries(session)
    assert delivery.claim(session=session, delivery_id=pending.id, now=T0,
                          box=BOX) is not None
    # then it is not due during the lease, and is due again after it
    assert delivery.due(session=session, now=T0 + timedelta(seconds=30)) == []
    assert delivery.due(session=session, now=T0 + delivery.LEASE) == [pending.id]
    assert attempt(session, pending.id, T0 + delivery.LEASE).status == "delivered"


def test_secrets_are_stored_sealed_and_bound_to_their_row(session, actor, endpoint, receiver):
    # given an endpoint whose secret was shown once
    row = endpoint_row(session, endpoint.endpoint.id)
    # then the database holds only the sealed form, which opens for this row only
    assert endpoint.secret not in row.secret and row.secret.startswith("v1.")
    assert webhooks.signing_secrets(row, box=BOX, now=T0) == [endpoint.secret]
    other = webhooks.create_endpoint(session=session, actor=actor, policy=DEV, box=BOX, data={
        "url": receiver.url, "event_types": ["*"]})
    with transaction(session):
        moved = session.get(WebhookEndpoint, (actor.tenant_id, other.endpoint.id))
        moved.secret = row.secret
        session.flush()
        with pytest.raises(SecretError):
            webhooks.signing_secrets(moved, box=BOX, now=T0)
        session.rollback()


def test_without_an_encryption_key_no_endpoint_is_created(session, actor, receiver):
    with pytest.raises(Conflict, match="INTEGRATION_ENCRYPTION_KEYS"):
        webhooks.create_endpoint(session=session, actor=actor, policy=DEV, box=None, data={
            "url": receiver.url, "event_types": ["*"]})
