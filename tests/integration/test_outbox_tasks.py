"""The outbox through its Celery tasks, with real commits: a change committed over the API
whose relay nudge was lost is found by the scheduler's tick, relayed, delivered to a
loopback receiver by the delivery task; retention purges old events (never younger than
30 days)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from smbfinance.db import transaction, utcnow
from smbfinance.events import tasks as event_tasks
from smbfinance.extensions import db
from smbfinance.scheduler.tasks import tick
from smbfinance.tenancy import tenant_scope
from smbfinance.webhooks import signing
from smbfinance.webhooks import tasks as webhook_tasks
from tests.conftest import make_app, register_tenant
from tests.integration.test_webhook_delivery import Receiver


@pytest.fixture()
def task_app(infrastructure):
    app = make_app(infrastructure)  # binds the shared Celery app to this app
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture()
def receiver():
    running = Receiver()
    yield running
    running.close()


def test_committed_events_reach_the_receiver_through_the_tasks(task_app, receiver):
    client = task_app.test_client()
    tenant = register_tenant(client, "Outbox Tasks")
    # given an endpoint and a contact created through the API (committed), whose relay
    # nudge was never sent (EVENTS_DISPATCH is off: as if the worker had died)
    created = client.post("/api/v1/webhook-endpoints", headers=tenant.headers,
                          json={"url": receiver.url, "event_types": ["contact.created"]})
    assert created.status_code == 201, created.get_json()
    endpoint = created.get_json()
    client.post("/api/v1/contacts", headers=tenant.headers, json={"name": "Client NV"})
    assert client.get("/api/v1/events", headers=tenant.headers).get_json()["data"] == []
    # when the scheduler ticks
    enqueued = tick.apply(kwargs={"now_iso": utcnow().isoformat()}, throw=True).get()
    # then it found work for at least this tenant
    assert enqueued["webhooks"] >= 1
    # when the relay task runs for the tenant (what the tick sends)
    result = event_tasks.relay.apply(kwargs={"tenant_id": str(tenant.tenant_id)},
                                     throw=True).get()
    assert result == {"published": 1, "deliveries_sent": 1}
    # then the feed has the event and a pending delivery exists
    [event] = client.get("/api/v1/events", headers=tenant.headers).get_json()["data"]
    deliveries = client.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries",
                            headers=tenant.headers).get_json()["data"]
    assert [(d["event_id"], d["status"]) for d in deliveries] == [(event["id"], "pending")]
    # when the delivery task runs
    status = webhook_tasks.deliver.apply(kwargs={"tenant_id": str(tenant.tenant_id),
                                                 "delivery_id": deliveries[0]["id"]},
                                         throw=True).get()
    # then the receiver got the event, signed with the endpoint's secret
    assert status == "delivered"
    [got] = receiver.received
    signing.verify([endpoint["secret"]], headers=got.headers, body=got.body,
                   now=int(got.headers["webhook-timestamp"]))
    assert got.headers["webhook-id"] == event["id"]
    # and running the relay again publishes nothing new
    again = event_tasks.relay.apply(kwargs={"tenant_id": str(tenant.tenant_id)},
                                    throw=True).get()
    assert again == {"published": 0, "deliveries_sent": 0}


def test_retention_purges_only_old_published_events(task_app):
    client = task_app.test_client()
    tenant = register_tenant(client, "Outbox Retention")
    client.post("/api/v1/contacts", headers=tenant.headers, json={"name": "Old"})
    client.post("/api/v1/contacts", headers=tenant.headers, json={"name": "New"})
    event_tasks.relay.apply(kwargs={"tenant_id": str(tenant.tenant_id)}, throw=True)
    # given one event 100 days old
    with task_app.app_context(), tenant_scope(db.session, tenant.tenant_id) as session, \
            transaction(session):
        session.execute(text("UPDATE outbox_events SET created_at = now() - interval '100 days'"
                             " WHERE data->>'name' = 'Old'"))
    # when the daily purge runs (retention 90 days)
    removed = event_tasks.purge.apply(throw=True).get()
    # then the old one is gone and the recent one kept
    assert removed >= 1
    names = [e["data"]["name"] for e in client.get("/api/v1/events", headers=tenant.headers
                                                   ).get_json()["data"]]
    assert names == ["New"]
    # and a cutoff under 30 days is refused by the database itself
    with pytest.raises(Exception, match="at least 30 days"):
        event_tasks.purge.apply(kwargs={"now_iso": (utcnow() + timedelta(days=80)).isoformat()},
                                throw=True)
