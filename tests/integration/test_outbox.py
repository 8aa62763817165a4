"""The transactional outbox against real PostgreSQL: an event exists if and only if its
change committed; the relay publishes in order, idempotently, and a crash between commit
and relay (or inside the relay) loses nothing."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import DEV_INTEGRATION_KEYS
from smbfinance import events
from smbfinance.auth.models import Role
from smbfinance.auth.permissions import Actor
from smbfinance.contacts import service as contacts
from smbfinance.db import transaction, utcnow
from smbfinance.errors import Invalid
from smbfinance.events import feed
from smbfinance.events.models import OutboxEvent
from smbfinance.events.relay import relay
from smbfinance.events.tasks import webhook_work
from smbfinance.integrations.secrets import SecretBox
from smbfinance.invoices import presenters
from smbfinance.invoices import service as invoices
from smbfinance.tenancy import tenant_scope
from smbfinance.webhooks import fanout
from smbfinance.webhooks import service as webhooks
from smbfinance.webhooks.models import WebhookDelivery
from smbfinance.webhooks.ssrf import Policy

DEV = Policy.from_config(require_https=False, allowed_networks=["127.0.0.0/8"])
BOX = SecretBox.from_config(DEV_INTEGRATION_KEYS)


def outbox(session: Session) -> list[OutboxEvent]:
    with transaction(session):
        return list(session.execute(select(OutboxEvent).order_by(OutboxEvent.created_at,
                                                                 OutboxEvent.id)).scalars())


def new_invoice(session: Session, actor: Actor, contact_id: uuid.UUID,
                **data: Any) -> invoices.InvoiceView:
    return invoices.create_invoice(session=session, actor=actor, data={
        "direction": "receivable", "contact_id": contact_id, "issue_date": date(2025, 3, 3),
        "due_date": date(2025, 4, 2), "lines": [{"description": "Consulting",
                                                 "quantity": "1", "unit_price": "100.00",
                                                 "vat_rate": "21"}], **data})


def test_a_committed_change_writes_exactly_its_event(session, actor) -> None:
    # given nothing in the outbox
    assert outbox(session) == []
    # when a contact is created
    contact = contacts.create_contact(session=session, actor=actor, data={"name": "Client NV"})
    # then one unpublished contact.created event holds the contact as the API shows it
    [event] = outbox(session)
    assert (event.type, event.object_type, event.object_id) == (
        "contact.created", "contact", contact.id)
    assert event.data["name"] == "Client NV" and event.data["id"] == str(contact.id)
    assert event.seq is None and event.relayed_at is None


def test_a_rolled_back_change_emits_nothing(session, actor) -> None:
    # given a use case whose transaction fails after the change and its event were written
    with pytest.raises(RuntimeError), transaction(session):
        contacts.create_contact(session=session, actor=actor, data={"name": "Ghost BV"})
        assert len(outbox(session)) == 1  # written, inside the transaction
        raise RuntimeError("the database went away before commit")
    # then neither the contact nor its event exist
    assert outbox(session) == []
    assert contacts.list_contacts(session=session, actor=actor).items == []


def test_a_refused_change_emits_nothing(session, actor) -> None:
    # given an invoice for a contact that does not exist (the service refuses it)
    with pytest.raises(Invalid):
        new_invoice(session, actor, uuid.uuid4())
    # then no event was recorded
    assert outbox(session) == []


def test_invoice_events_carry_the_invoice_as_get_shows_it(session, actor) -> None:
    # given a contact and an invoice created open, then paid in full
    contact = contacts.create_contact(session=session, actor=actor, data={"name": "Client NV"})
    view = new_invoice(session, actor, contact.id, open=True)
    invoices.record_payment(session=session, actor=actor, invoice_id=view.invoice.id,
                            amount="121.00", paid_on=date(2025, 3, 10))
    # when the events are read
    types = [e.type for e in outbox(session)]
    # then creation, opening and payment each left theirs, in order
    assert types == ["contact.created", "invoice.created", "invoice.opened", "invoice.paid"]
    paid = outbox(session)[-1]
    current = presenters.detail(invoices.get_invoice(session=session, actor=actor,
                                                     invoice_id=view.invoice.id))
    assert paid.data == current
    assert paid.data["status"] == "paid" and paid.data["outstanding"]["amount"] == "0.00"
    # and the creation event shows the invoice as it was then (a draft)
    assert outbox(session)[1].data["status"] == "draft"


def test_partial_payment_cancel_and_delete_emit_their_types(session, actor) -> None:
    contact = contacts.create_contact(session=session, actor=actor, data={"name": "Client NV"})
    paid_part = new_invoice(session, actor, contact.id, open=True)
    invoices.record_payment(session=session, actor=actor, invoice_id=paid_part.invoice.id,
                            amount="21.00", paid_on=date(2025, 3, 10))
    draft = new_invoice(session, actor, contact.id)
    invoices.cancel_invoice(session=session, actor=actor, invoice_id=draft.invoice.id)
    invoices.delete_invoice(session=session, actor=actor, invoice_id=draft.invoice.id)
    contacts.update_contact(session=session, actor=actor, contact_id=contact.id,
                            changes={"city": "Gent"})
    types = [e.type for e in outbox(session)][1:]
    assert types == ["invoice.created", "invoice.opened", "invoice.updated", "invoice.created",
                     "invoice.cancelled", "invoice.deleted", "contact.updated"]


def test_unknown_event_types_are_refused(session) -> None:
    with pytest.raises(ValueError, match="unknown event type"), transaction(session):
        events.emit(session=session, type="invoice.exploded", obj={}, object_id=None)


def test_the_relay_publishes_in_order_once(session, actor) -> None:
    # given three committed events
    for name in ("A", "B", "C"):
        contacts.create_contact(session=session, actor=actor, data={"name": name})
    # when the relay runs twice
    first = relay(session=session)
    second = relay(session=session)
    # then the first published all three with increasing positions, the second nothing
    assert (first.published, second.published) == (3, 0)
    published = outbox(session)
    assert [e.data["name"] for e in published] == ["A", "B", "C"]
    seqs = [e.seq for e in published]
    assert all(seqs) and seqs == sorted(seqs) and len(set(seqs)) == 3


def test_a_crash_between_commit_and_relay_loses_nothing(session, actor, monkeypatch) -> None:
    # given an endpoint and a committed change whose relay nudge was lost (worker died)
    webhooks.create_endpoint(session=session, actor=actor, policy=DEV, box=BOX, data={
        "url": "http://127.0.0.1:9/hook", "event_types": ["*"]})
    contact = contacts.create_contact(session=session, actor=actor, data={"name": "Client NV"})
    # and a relay that crashes half-way through fanning out
    def crash(**kwargs: Any) -> int:
        raise RuntimeError("worker killed")

    monkeypatch.setattr(fanout, "fan_out", crash)
    with pytest.raises(RuntimeError):
        relay(session=session)
    # then the event is still there, unpublished, and no delivery half-exists
    [event] = outbox(session)
    assert event.seq is None
    # and the scheduler's tick sees this tenant has work
    assert webhook_work(utcnow()) >= 1
    # when the next relay runs normally
    monkeypatch.undo()
    result = relay(session=session)
    # then the event is published and its delivery exists, exactly once
    assert (result.published, result.deliveries) == (1, 1)
    with transaction(session):
        deliveries = session.execute(select(WebhookDelivery)).scalars().all()
    assert [(d.event_id, d.object_id, d.status) for d in deliveries] == [
        (event.id, contact.id, "pending")]


def test_fan_out_is_idempotent(session, actor) -> None:
    # given a published event and its delivery
    webhooks.create_endpoint(session=session, actor=actor, policy=DEV, box=BOX, data={
        "url": "http://127.0.0.1:9/hook", "event_types": ["contact.created"]})
    contacts.create_contact(session=session, actor=actor, data={"name": "Client NV"})
    relay(session=session)
    # when the fan-out runs again for the same event (a redelivered relay task)
    with transaction(session):
        fanout.fan_out(session=session, events=outbox(session), now=utcnow())
    # then there is still one delivery
    with transaction(session):
        assert len(session.execute(select(WebhookDelivery)).scalars().all()) == 1


def test_fan_out_follows_types_and_filters(session, actor) -> None:
    # given endpoints for invoices only, receivables only, and contacts in Gent
    def endpoint(types: list[str], filter_: dict | None = None) -> uuid.UUID:
        return webhooks.create_endpoint(session=session, actor=actor, policy=DEV, box=BOX, data={
            "url": "http://127.0.0.1:9/hook", "event_types": types,
            "filter": filter_}).endpoint.id

    invoices_only = endpoint(["invoice.created"])
    receivables = endpoint(["invoice.created"], {"direction": "payable"})
    gent = endpoint(["contact.created"], {"city": ["Gent", "Brugge"]})
    contacts.create_contact(session=session, actor=actor, data={"name": "X", "city": "Gent"})
    contact = contacts.create_contact(session=session, actor=actor, data={"name": "Y"})
    new_invoice(session, actor, contact.id)
    # when relayed
    relay(session=session)
    # then each endpoint got what it asked for
    with transaction(session):
        got = {(d.endpoint_id, d.event_type)
               for d in session.execute(select(WebhookDelivery)).scalars()}
    assert got == {(invoices_only, "invoice.created"), (gent, "contact.created")}
    assert not any(e == receivables for e, _ in got)


def test_the_feed_pages_in_order_with_an_opaque_cursor(session, actor) -> None:
    # given five published events
    for index in range(5):
        contacts.create_contact(session=session, actor=actor, data={"name": f"C{index}"})
    relay(session=session)
    # when read two at a time
    names, cursor = [], None
    while True:
        page = feed.list_events(session=session, actor=actor, cursor=cursor, limit=2)
        names += [e["data"]["name"] for e in page.data]
        cursor = page.next_cursor
        if not page.has_more:
            break
    # then every event came once, in order, and polling after the end gives nothing
    assert names == ["C0", "C1", "C2", "C3", "C4"]
    assert feed.list_events(session=session, actor=actor, cursor=cursor).data == []
    # and a new event shows up after the saved cursor
    contacts.create_contact(session=session, actor=actor, data={"name": "C5"})
    assert feed.list_events(session=session, actor=actor, cursor=cursor).data == []  # not yet
    relay(session=session)
    assert [e["data"]["name"] for e in feed.list_events(
        session=session, actor=actor, cursor=cursor).data] == ["C5"]


def test_unpublished_events_are_not_in_the_feed(session, actor) -> None:
    contacts.create_contact(session=session, actor=actor, data={"name": "Late"})
    assert feed.list_events(session=session, actor=actor).data == []


def test_the_feed_filters_by_type(session, actor) -> None:
    contact = contacts.create_contact(session=session, actor=actor, data={"name": "Client NV"})
    new_invoice(session, actor, contact.id)
    relay(session=session)
    page = feed.list_events(session=session, actor=actor, types=["invoice.created"])
    assert [e["type"] for e in page.data] == ["invoice.created"]
    with pytest.raises(Invalid):
        feed.list_events(session=session, actor=actor, types=["nope"])
    with pytest.raises(Invalid):
        feed.list_events(session=session, actor=actor, cursor="garbage!")


def test_another_tenants_events_are_invisible(db_session, session, actor, tenant_b) -> None:
    # given tenant A's published event
    contacts.create_contact(session=session, actor=actor, data={"name": "Secret"})
    relay(session=session)
    event_id = outbox(session)[0].id
    # when tenant B reads its feed and relays
    actor_b = Actor(user_id=tenant_b.user_id, tenant_id=tenant_b.tenant_id, role=Role.OWNER)
    session.rollback()
    with tenant_scope(db_session, tenant_b.tenant_id) as other:
        assert feed.list_events(session=other, actor=actor_b).data == []
        assert relay(session=other).published == 0
        with pytest.raises(Exception, match="no event"):
            feed.get_event(session=other, actor=actor_b, event_id=event_id)
