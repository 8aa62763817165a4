"""REST: GET /api/v1/events — the feed a partner replays from: order, opaque cursor, types,
roles and tenant isolation."""

from __future__ import annotations

import uuid
from typing import Any

from smbfinance.events.relay import relay
from smbfinance.extensions import db
from smbfinance.tenancy import tenant_scope
from tests.factories import add_member
from tests.invoicing import create_contact, create_invoice, pay

EVENTS = "/api/v1/events"


def publish(app: Any, tenant: Any) -> None:
    """What the relay task does after commit (tasks are not sent in tests)."""
    with app.app_context(), tenant_scope(db.session, tenant.tenant_id) as session:
        relay(session=session)


def test_a_partner_replays_what_happened_in_order(app, client, tenant_a) -> None:
    # given a contact, an invoice opened and paid, all published
    contact = create_contact(client, tenant_a)
    invoice = create_invoice(client, tenant_a, contact["id"], open=True)
    pay(client, tenant_a, invoice["id"], invoice["gross_total"]["amount"])
    publish(app, tenant_a)
    # when the feed is read from the start
    response = client.get(EVENTS, headers=tenant_a.headers)
    # then the events come in order, each with the object as it was
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [e["type"] for e in body["data"]] == [
        "contact.created", "invoice.created", "invoice.opened", "invoice.paid"]
    paid = body["data"][-1]
    assert paid["object"] == "event" and paid["object_id"] == invoice["id"]
    assert paid["data"]["status"] == "paid"
    assert body["data"][1]["data"]["status"] == "draft"
    # and the event can be read alone
    one = client.get(f"{EVENTS}/{paid['id']}", headers=tenant_a.headers)
    assert one.status_code == 200 and one.get_json() == paid
    # and the cursor resumes after the last event
    rest = client.get(f"{EVENTS}?cursor={body['next_cursor']}", headers=tenant_a.headers)
    assert rest.get_json()["data"] == [] and rest.get_json()["has_more"] is False


def test_types_filter_and_paging(app, client, tenant_a) -> None:
    for index in range(3):
        create_contact(client, tenant_a, name=f"C{index}")
    publish(app, tenant_a)
    first = client.get(f"{EVENTS}?limit=2&types=contact.created",
                       headers=tenant_a.headers).get_json()
    assert len(first["data"]) == 2 and first["has_more"] is True
    second = client.get(f"{EVENTS}?limit=2&types=contact.created&cursor={first['next_cursor']}",
                        headers=tenant_a.headers).get_json()
    assert [e["data"]["name"] for e in second["data"]] == ["C2"]
    assert client.get(f"{EVENTS}?types=invoice.paid", headers=tenant_a.headers
                      ).get_json()["data"] == []


def test_bad_cursor_and_unknown_types_are_422(client, tenant_a) -> None:
    for query in ("cursor=not-a-cursor", "types=nope", "limit=0", "unknown=1"):
        response = client.get(f"{EVENTS}?{query}", headers=tenant_a.headers)
        assert response.status_code == 422, query


def test_viewers_may_read_the_feed(client, tenant_a) -> None:
    viewer = add_member(client, tenant_a, "viewer")
    assert client.get(EVENTS, headers=viewer.headers).status_code == 200


def test_without_a_token_401(client) -> None:
    assert client.get(EVENTS).status_code == 401


def test_another_tenant_sees_none_of_the_events(app, client, tenant_a, tenant_b) -> None:
    create_contact(client, tenant_a, name="Secret Client")
    publish(app, tenant_a)
    publish(app, tenant_b)
    event = client.get(EVENTS, headers=tenant_a.headers).get_json()["data"][0]
    assert client.get(EVENTS, headers=tenant_b.headers).get_json()["data"] == []
    assert client.get(f"{EVENTS}/{event['id']}", headers=tenant_b.headers).status_code == 404
    assert client.get(f"{EVENTS}/{uuid.uuid4()}", headers=tenant_a.headers).status_code == 404
    # and a cursor taken from A's feed shows B nothing of A's
    cursor = client.get(EVENTS, headers=tenant_a.headers).get_json()["next_cursor"]
    assert client.get(f"{EVENTS}?cursor={cursor}", headers=tenant_b.headers
                      ).get_json()["data"] == []
