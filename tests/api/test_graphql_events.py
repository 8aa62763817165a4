"""GraphQL: the event feed — order, REST's opaque cursor (interchangeable between the
doors), types, typed errors, and nothing of another company."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.api.test_events_api import EVENTS, publish
from tests.conftest import TenantFixture
from tests.factories import add_member
from tests.invoicing import create_contact, create_invoice, pay

FEED = """query($cursor: String, $types: [String!], $first: Int) {
  events(cursor: $cursor, types: $types, first: $first) {
    events { id type createdAt objectId data } hasMore nextCursor } }"""
ONE = "query($id: UUID!) { event(id: $id) { id type objectId data } }"


def gql(client: FlaskClient, tenant: TenantFixture | None, query: str,
        **variables: object) -> Any:
    response = client.post("/graphql", headers=tenant.headers if tenant else {},
                           json={"query": query, "variables": variables})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def feed(client: FlaskClient, tenant: TenantFixture, **variables: object) -> dict[str, Any]:
    body = gql(client, tenant, FEED, **variables)
    assert "errors" not in body, body
    return body["data"]["events"]  # type: ignore[no-any-return]


def test_the_app_replays_what_happened_in_order(app: Flask, client: FlaskClient,
                                                tenant_a: TenantFixture) -> None:
    # given a contact, an invoice opened and paid, all published
    contact = create_contact(client, tenant_a)
    invoice = create_invoice(client, tenant_a, contact["id"], open=True)
    pay(client, tenant_a, invoice["id"], invoice["gross_total"]["amount"])
    publish(app, tenant_a)
    # when the feed is read from the start through GraphQL
    page = feed(client, tenant_a)
    # then the events come in order, each with the object as REST showed it
    assert [e["type"] for e in page["events"]] == [
        "contact.created", "invoice.created", "invoice.opened", "invoice.paid"]
    paid = page["events"][-1]
    assert paid["objectId"] == invoice["id"] and paid["data"]["status"] == "paid"
    rest = client.get(EVENTS, headers=tenant_a.headers).get_json()
    assert [e["id"] for e in rest["data"]] == [e["id"] for e in page["events"]]
    assert rest["next_cursor"] == page["nextCursor"]
    # and one event can be read alone
    one = gql(client, tenant_a, ONE, id=paid["id"])["data"]["event"]
    assert one["type"] == "invoice.paid" and one["data"] == paid["data"]
    # and the cursor resumes after the last event
    after = feed(client, tenant_a, cursor=page["nextCursor"])
    assert after["events"] == [] and after["hasMore"] is False
    assert after["nextCursor"] == page["nextCursor"]


def test_types_filter_and_paging_with_a_cursor_from_rest(
        app: Flask, client: FlaskClient, tenant_a: TenantFixture) -> None:
    for index in range(3):
        create_contact(client, tenant_a, name=f"C{index}")
    publish(app, tenant_a)
    first = feed(client, tenant_a, first=2, types=["contact.created"])
    assert len(first["events"]) == 2 and first["hasMore"] is True
    second = feed(client, tenant_a, first=2, types=["contact.created"],
                  cursor=first["nextCursor"])
    assert [e["data"]["name"] for e in second["events"]] == ["C2"]
    assert feed(client, tenant_a, types=["invoice.paid"])["events"] == []
    # a cursor REST gave reads on in GraphQL
    from_rest = client.get(f"{EVENTS}?limit=1", headers=tenant_a.headers).get_json()
    resumed = feed(client, tenant_a, cursor=from_rest["next_cursor"])
    assert [e["data"]["name"] for e in resumed["events"]] == ["C1", "C2"]


def test_bad_cursor_types_and_first_are_typed_errors(client: FlaskClient,
                                                    tenant_a: TenantFixture) -> None:
    for variables, field in (({"cursor": "not-a-cursor"}, "cursor"),
                             ({"types": ["invoice.paid", "nope"]}, "types.1"),
                             ({"first": 0}, "first")):
        body = gql(client, tenant_a, FEED, **variables)
        assert body["data"] is None, variables
        extensions = body["errors"][0]["extensions"]
        assert extensions["code"] == "INVALID"
        assert [f["field"] for f in extensions["fields"]] == [field], extensions


def test_viewers_read_the_feed_and_anonymous_callers_do_not(
        client: FlaskClient, tenant_a: TenantFixture) -> None:
    viewer = add_member(client, tenant_a, "viewer")
    assert feed(client, viewer)["hasMore"] is False
    anonymous = gql(client, None, FEED)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_another_company_sees_none_of_the_events(app: Flask, client: FlaskClient,
                                                 tenant_a: TenantFixture,
                                                 tenant_b: TenantFixture) -> None:
    create_contact(client, tenant_a, name="Secret Client")
    publish(app, tenant_a)
    (mine,) = feed(client, tenant_a)["events"]
    assert feed(client, tenant_b)["events"] == []
    assert gql(client, tenant_b, ONE, id=mine["id"])["data"]["event"] is None
