"""Contacts through the REST door: create, read, list/search, page, change with If-Match,
delete, validation naming the field, and read-only viewers."""

from __future__ import annotations

import uuid

from flask.testing import FlaskClient

from tests.conftest import TenantFixture
from tests.invoicing import CONTACTS, PROBLEM_JSON, add_member, create_contact, error_fields

IBAN = "BE68539007547034"


def test_create_returns_the_contact_with_normalised_identifiers(client: FlaskClient,
                                                                tenant_a: TenantFixture) -> None:
    # given identifiers written the way people write them
    body = {"name": "  Client NV ", "vat_number": "be 0123.456.749",
            "enterprise_number": "0123.456.749", "email": "ap@client.example",
            "country_code": "be", "ibans": ["be68 5390 0754 7034", IBAN],
            "peppol_id": "0208:0123456749", "city": "Gent"}
    # when the contact is created
    response = client.post(CONTACTS, headers=tenant_a.headers, json=body)
    # then it comes back normalised, with its version as ETag
    assert response.status_code == 201, response.get_json()
    assert response.headers["ETag"] == '"1"'
    contact = response.get_json()
    assert contact["object"] == "contact"
    assert contact["name"] == "Client NV"
    assert contact["vat_number"] == "BE0123456749"
    assert contact["enterprise_number"] == "0123456749"
    assert contact["country_code"] == "BE"
    assert contact["ibans"] == [IBAN]
    assert contact["version"] == 1
    uuid.UUID(contact["id"])


def test_get_one_contact_with_its_etag(client: FlaskClient, tenant_a: TenantFixture) -> None:
    created = create_contact(client, tenant_a, "Acme")
    response = client.get(f"{CONTACTS}/{created['id']}", headers=tenant_a.headers)
    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'
    assert response.get_json() == created


def test_list_is_ordered_by_name_and_searchable(client: FlaskClient,
                                                tenant_a: TenantFixture) -> None:
    # given three contacts, one with a VAT number and an IBAN, one with an enterprise number
    create_contact(client, tenant_a, "beta Logistics")
    alpha = create_contact(client, tenant_a, "Alpha 100% Bio", vat_number="BE0123456749",
                           ibans=[IBAN])
    create_contact(client, tenant_a, "Gamma", enterprise_number="0403.170.701")

    def names(**query: str) -> list[str]:
        response = client.get(CONTACTS, headers=tenant_a.headers, query_string=query)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["object"] == "list"
        return [c["name"] for c in response.get_json()["data"]]

    # when listed / then by name, case-insensitively
    assert names() == ["Alpha 100% Bio", "beta Logistics", "Gamma"]
    # when searched by part of a name, VAT number, enterprise number or IBAN
    assert names(q="ALP") == [alpha["name"]]
    assert names(q="BE 0123.456.749") == [alpha["name"]]
    assert names(q="0403.170.701") == ["Gamma"]
    assert names(q="be68 5390 0754 7034") == [alpha["name"]]
    assert names(vat_number="be 0123.456.749") == [alpha["name"]]
    assert names(iban="BE68 5390 0754 7034") == [alpha["name"]]
    # and LIKE wildcards in the search are taken literally
    assert names(q="100%") == [alpha["name"]]
    assert names(q="%") == [alpha["name"]]
    assert names(q="_") == []


def test_cursor_pagination(client: FlaskClient, tenant_a: TenantFixture) -> None:
    # given five contacts
    for name in ("E", "D", "C", "B", "A"):
        create_contact(client, tenant_a, name)
    # when read two at a time, each page starting after the last id of the previous one
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        query = {"limit": 2, **({"starting_after": after} if after else {})}
        body = client.get(CONTACTS, headers=tenant_a.headers, query_string=query).get_json()
        pages += 1
        seen += [c["name"] for c in body["data"]]
        if not body["has_more"]:
            break
        after = body["data"][-1]["id"]
    # then every contact comes once, in order, over three pages
    assert seen == ["A", "B", "C", "D", "E"]
    assert pages == 3


def test_list_limits(client: FlaskClient, tenant_a: TenantFixture) -> None:
    for limit in (0, 201):
        response = client.get(CONTACTS, headers=tenant_a.headers,
                              query_string={"limit": limit})
        assert response.status_code == 422
        assert error_fields(response) == {"query:limit"}
    assert client.get(CONTACTS, headers=tenant_a.headers,
                      query_string={"limit": 200}).status_code == 200
    # and a cursor that is no contact is not found
    response = client.get(CONTACTS, headers=tenant_a.headers,
                          query_string={"starting_after": str(uuid.uuid4())})
    assert response.status_code == 404 and response.mimetype == PROBLEM_JSON


def test_patch_with_if_match(client: FlaskClient, tenant_a: TenantFixture) -> None:
    contact = create_contact(client, tenant_a, "Acme")
    url = f"{CONTACTS}/{contact['id']}"
    # when changed with the ETag that was read
    response = client.patch(url, headers={**tenant_a.headers, "If-Match": '"1"'},
                            json={"email": "ap@acme.example", "ibans": [IBAN]})
    # then it changes and gets a new ETag
    assert response.status_code == 200, response.get_json()
    assert response.headers["ETag"] == '"2"'
    assert response.get_json()["ibans"] == [IBAN]
    assert response.get_json()["email"] == "ap@acme.example"
    # when changed again with the old ETag / then 412, and nothing changes
    stale = client.patch(url, headers={**tenant_a.headers, "If-Match": '"1"'},
                         json={"name": "Lost update"})
    assert stale.status_code == 412
    assert stale.mimetype == PROBLEM_JSON
    assert stale.get_json()["type"].endswith("/precondition-failed")
    assert client.get(url, headers=tenant_a.headers).get_json()["name"] == "Acme"
    # when the If-Match is not an ETag / then 422 naming the header
    malformed = client.patch(url, headers={**tenant_a.headers, "If-Match": "version 2"},
                             json={"name": "X"})
    assert malformed.status_code == 422
    assert error_fields(malformed) == {"If-Match"}
    # and a weak tag of the current version, or none at all, is accepted
    weak = client.patch(url, headers={**tenant_a.headers, "If-Match": 'W/"2"'},
                        json={"ibans": []})
    assert weak.status_code == 200 and weak.get_json()["ibans"] == []
    assert client.patch(url, headers=tenant_a.headers, json={"city": "Gent"}).status_code == 200


def test_delete(client: FlaskClient, tenant_a: TenantFixture) -> None:
    contact = create_contact(client, tenant_a, "Acme")
    url = f"{CONTACTS}/{contact['id']}"
    # when deleted with a stale ETag / then refused
    create_contact(client, tenant_a, "Other")
    client.patch(url, headers=tenant_a.headers, json={"city": "Gent"})
    stale = client.delete(url, headers={**tenant_a.headers, "If-Match": '"1"'})
    assert stale.status_code == 412
    # when deleted / then gone from reads, changes and lists
    assert client.delete(url, headers={**tenant_a.headers, "If-Match": '"2"'}).status_code == 204
    assert client.get(url, headers=tenant_a.headers).status_code == 404
    assert client.patch(url, headers=tenant_a.headers, json={"city": "X"}).status_code == 404
    assert client.delete(url, headers=tenant_a.headers).status_code == 404
    listed = client.get(CONTACTS, headers=tenant_a.headers).get_json()["data"]
    assert [c["name"] for c in listed] == ["Other"]


def test_validation_errors_name_the_field(client: FlaskClient, tenant_a: TenantFixture) -> None:
    cases = [
        ({}, {"name"}),
        ({"name": "   "}, {"name"}),
        ({"name": "X", "ibans": [IBAN, "BE00 0000 0000 0000"]}, {"ibans.1"}),
        ({"name": "X", "vat_number": "BE0123456789"}, {"vat_number"}),
        ({"name": "X", "enterprise_number": "0123.456.789"}, {"enterprise_number"}),
        ({"name": "X", "email": "not an email"}, {"email"}),
        ({"name": "X", "nickname": "Y"}, {"nickname"}),
    ]
    for body, fields in cases:
        response = client.post(CONTACTS, headers=tenant_a.headers, json=body)
        assert response.status_code == 422, (body, response.get_json())
        assert error_fields(response) == fields, body
    # and nothing was created
    assert client.get(CONTACTS, headers=tenant_a.headers).get_json()["data"] == []


def test_a_viewer_reads_but_cannot_write(client: FlaskClient, tenant_a: TenantFixture) -> None:
    # given a contact and a member with the viewer role
    contact = create_contact(client, tenant_a, "Acme")
    viewer = add_member(client, tenant_a, "viewer")
    url = f"{CONTACTS}/{contact['id']}"
    # when the viewer reads / then allowed
    assert client.get(CONTACTS, headers=viewer.headers).status_code == 200
    assert client.get(url, headers=viewer.headers).status_code == 200
    # when the viewer writes / then 403 problem+json, and nothing changes
    for response in (
        client.post(CONTACTS, headers=viewer.headers, json={"name": "New"}),
        client.patch(url, headers=viewer.headers, json={"name": "Renamed"}),
        client.delete(url, headers=viewer.headers),
    ):
        assert response.status_code == 403
        assert response.get_json()["type"].endswith("/forbidden")
    assert client.get(url, headers=tenant_a.headers).get_json() == contact


def test_contacts_need_a_token(client: FlaskClient) -> None:
    assert client.get(CONTACTS).status_code == 401
    assert client.post(CONTACTS, json={"name": "X"}).status_code == 401
