"""GraphQL face of contacts: queries, Relay pagination and node(id), mutations with payload
errors named as the GraphQL input names them, and tenant isolation."""

from __future__ import annotations

import base64
import uuid

import pytest

from tests.factories import add_member

CONTACT_FIELDS = """id name vatNumber enterpriseNumber email city countryCode ibans version
                    createdAt updatedAt"""
CREATE = f"""
mutation Create($input: ContactInput!) {{
  contactCreate(input: $input) {{ contact {{ {CONTACT_FIELDS} }} errors {{ field code message }} }}
}}"""
UPDATE = f"""
mutation Update($id: ID!, $input: ContactPatchInput!, $expectedVersion: Int) {{
  contactUpdate(id: $id, input: $input, expectedVersion: $expectedVersion) {{
    contact {{ {CONTACT_FIELDS} }} errors {{ field code message }}
  }}
}}"""
ONE = f"query One($id: ID!) {{ contact(id: $id) {{ {CONTACT_FIELDS} }} }}"
NODE = """query Node($id: ID!) { node(id: $id) { __typename id ... on Contact { name } } }"""
LIST = """
query List($first: Int, $after: String, $q: String, $vatNumber: String, $iban: String) {
  contacts(first: $first, after: $after, q: $q, vatNumber: $vatNumber, iban: $iban) {
    edges { cursor node { id name } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def gql(client, query, tenant=None, **variables):
    headers = tenant.headers if tenant else {}
    response = client.post("/graphql", headers=headers,
                           json={"query": query, "variables": variables or None})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def create_contact(client, tenant, **fields):
    body = gql(client, CREATE, tenant, input={"name": "Acme NV", **fields})
    payload = body["data"]["contactCreate"]
    assert payload["errors"] == [], payload
    return payload["contact"]


def global_id(type_name, raw_id):
    return base64.b64encode(f"{type_name}:{raw_id}".encode()).decode()


def unknown_contact_id():
    return global_id("Contact", uuid.uuid4())


# ---------------------------------------------------------------- create and read

def test_contact_create_returns_the_contact_with_a_global_id(client, tenant_a):
    # given an owner
    # when they create a contact with a VAT number and an IBAN
    contact = create_contact(client, tenant_a, vatNumber="be 0403.170.701",
                             ibans=["BE68 5390 0754 7034"], countryCode="be")
    # then the service's normalised values come back, under a Relay global id
    assert contact["name"] == "Acme NV"
    assert contact["vatNumber"] == "BE0403170701"
    assert contact["countryCode"] == "BE"
    assert contact["ibans"] == ["BE68539007547034"]
    assert contact["version"] == 1
    assert base64.b64decode(contact["id"]).decode().startswith("Contact:")


def test_contact_and_node_read_one_contact(client, tenant_a):
    # given a contact
    created = create_contact(client, tenant_a, email="billing@acme.example")
    # when it is read by id, and through node(id)
    one = gql(client, ONE, tenant_a, id=created["id"])
    node = gql(client, NODE, tenant_a, id=created["id"])
    # then both return it
    assert one["data"]["contact"] == created
    assert node["data"]["node"] == {"__typename": "Contact", "id": created["id"],
                                    "name": "Acme NV"}


def test_an_unknown_contact_is_null_and_a_malformed_id_is_an_invalid_error(client, tenant_a):
    # given an id no contact has, and a string that is no global id
    # when both are queried
    unknown = gql(client, ONE, tenant_a, id=unknown_contact_id())
    malformed = gql(client, ONE, tenant_a, id="not-a-global-id")
    # then the unknown one is null, the malformed one a coded error naming the argument
    assert unknown == {"data": {"contact": None}}
    error = malformed["errors"][0]
    assert error["extensions"]["code"] == "INVALID"
    assert error["extensions"]["fields"][0]["field"] == "id"


def test_an_invoice_id_is_not_a_contact_id(client, tenant_a):
    # given the global id of another type
    # when it is used as a contact id
    body = gql(client, ONE, tenant_a, id=global_id("Invoice", uuid.uuid4()))
    # then the error says which type was expected
    assert body["errors"][0]["extensions"]["code"] == "INVALID"
    assert "Contact" in body["errors"][0]["message"]


# ---------------------------------------------------------------- validation

@pytest.mark.parametrize(("fields", "field", "code"), [
    ({"countryCode": "BEL"}, "countryCode", "invalid"),            # marshmallow (REST schema)
    ({"email": "not-an-email"}, "email", "invalid"),               # marshmallow
    ({"vatNumber": "BE0403170702"}, "vatNumber", "invalid"),       # service (check digits)
    ({"ibans": ["BE00 0000 0000 0000"]}, "ibans.0", "invalid"),    # service, nested path
    ({"name": "   "}, "name", "required"),                         # service
])
def test_contact_create_reports_the_field_in_camel_case(client, tenant_a, fields, field, code):
    # given an owner
    # when they send one invalid value
    body = gql(client, CREATE, tenant_a, input={"name": "Acme NV", **fields})
    # then the payload has no contact and one error naming the GraphQL field
    payload = body["data"]["contactCreate"]
    assert payload["contact"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, code)]
    assert payload["errors"][0]["message"]


def test_a_missing_required_input_field_is_a_graphql_error(client, tenant_a):
    # given an input without the required name
    # when it is sent
    body = gql(client, CREATE, tenant_a, input={"email": "x@example.com"})
    # then GraphQL itself refuses the variables (the schema says name is required)
    assert body["data"] is None
    assert "name" in body["errors"][0]["message"]


# ---------------------------------------------------------------- update

def test_contact_update_changes_only_the_fields_given(client, tenant_a):
    # given a contact with an email
    created = create_contact(client, tenant_a, email="old@acme.example", city="Gent")
    # when its email is changed with the version read, and its city cleared with null
    body = gql(client, UPDATE, tenant_a, id=created["id"], expectedVersion=created["version"],
               input={"email": "new@acme.example", "city": None, "ibans": ["BE68539007547034"]})
    # then the contact changed, its version moved on, other fields stayed
    payload = body["data"]["contactUpdate"]
    assert payload["errors"] == []
    contact = payload["contact"]
    assert contact["email"] == "new@acme.example"
    assert contact["city"] is None
    assert contact["ibans"] == ["BE68539007547034"]
    assert contact["name"] == "Acme NV"
    assert contact["version"] == created["version"] + 1


def test_contact_update_with_a_stale_version_is_refused(client, tenant_a):
    # given a contact changed once since version 1 was read
    created = create_contact(client, tenant_a)
    gql(client, UPDATE, tenant_a, id=created["id"], input={"phone": "+32 9 123 45 67"})
    # when an update still expects version 1
    body = gql(client, UPDATE, tenant_a, id=created["id"], expectedVersion=1,
               input={"name": "Lost Update NV"})
    # then it is refused as a failed precondition and nothing changes
    payload = body["data"]["contactUpdate"]
    assert payload["contact"] is None
    assert [e["code"] for e in payload["errors"]] == ["precondition_failed"]
    assert gql(client, ONE, tenant_a, id=created["id"])["data"]["contact"]["name"] == "Acme NV"


def test_contact_update_of_an_unknown_id_is_not_found(client, tenant_a):
    # given an id no contact has
    # when it is updated
    body = gql(client, UPDATE, tenant_a, id=unknown_contact_id(), input={"name": "Ghost"})
    # then the payload says not found
    payload = body["data"]["contactUpdate"]
    assert payload["contact"] is None
    assert [e["code"] for e in payload["errors"]] == ["not_found"]


def test_contact_update_with_a_null_name_names_the_field(client, tenant_a):
    # given a contact
    created = create_contact(client, tenant_a)
    # when its name is set to null
    body = gql(client, UPDATE, tenant_a, id=created["id"], input={"name": None})
    # then the REST schema's rule applies, reported on `name`
    assert [e["field"] for e in body["data"]["contactUpdate"]["errors"]] == ["name"]


def test_a_viewer_cannot_create_a_contact(client, tenant_a):
    # given a viewer of tenant A
    viewer = add_member(client, tenant_a, "viewer")
    # when they try to create a contact
    body = gql(client, CREATE, viewer, input={"name": "Nope BV"})
    # then the payload refuses with a forbidden code
    payload = body["data"]["contactCreate"]
    assert payload["contact"] is None
    assert [e["code"] for e in payload["errors"]] == ["forbidden"]


# ---------------------------------------------------------------- list and pagination

def test_contacts_paginate_with_first_and_after(client, tenant_a):
    # given three contacts
    for name in ("Charlie", "Alpha", "Bravo"):
        create_contact(client, tenant_a, name=name)
    # when they are read two at a time
    first = gql(client, LIST, tenant_a, first=2)["data"]["contacts"]
    second = gql(client, LIST, tenant_a, first=2,
                 after=first["pageInfo"]["endCursor"])["data"]["contacts"]
    # then the pages follow the name order, and only the first says more exist
    assert [e["node"]["name"] for e in first["edges"]] == ["Alpha", "Bravo"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]
    assert [e["node"]["name"] for e in second["edges"]] == ["Charlie"]
    assert second["pageInfo"]["hasNextPage"] is False


def test_contacts_search_by_name_vat_and_iban(client, tenant_a):
    # given two contacts
    create_contact(client, tenant_a, name="Brouwerij De Gans", vatNumber="BE0403170701")
    create_contact(client, tenant_a, name="Bakkerij Peeters", ibans=["BE68539007547034"])
    # when searched by part of a name, by VAT number and by IBAN
    def names(**args):
        edges = gql(client, LIST, tenant_a, **args)["data"]["contacts"]["edges"]
        return [e["node"]["name"] for e in edges]
    # then each finds its contact
    assert names(q="gans") == ["Brouwerij De Gans"]
    assert names(vatNumber="BE 0403 170 701") == ["Brouwerij De Gans"]
    assert names(iban="BE68539007547034") == ["Bakkerij Peeters"]


@pytest.mark.parametrize(("args", "field"), [
    ({"first": 0}, "first"),
    ({"first": 201}, "first"),
    ({"after": "garbage"}, "after"),
])
def test_bad_pagination_arguments_name_the_graphql_argument(client, tenant_a, args, field):
    # given an owner
    # when the list is asked with a bad first or after
    body = gql(client, LIST, tenant_a, **args)
    # then the error is coded and names the GraphQL argument (not limit/starting_after)
    error = body["errors"][0]
    assert error["extensions"]["code"] == "INVALID"
    assert [f["field"] for f in error["extensions"]["fields"]] == [field]


def test_contacts_without_a_token_are_unauthenticated(client):
    # given no token
    # when contacts are listed
    body = gql(client, LIST)
    # then the error is UNAUTHENTICATED
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# ---------------------------------------------------------------- isolation

def test_tenant_b_sees_tenant_a_contacts_as_unknown(client, tenant_a, tenant_b):
    # given a contact of tenant A, and an id nobody has
    theirs = create_contact(client, tenant_a, name="Alpha Secret Supplier")
    unknown = unknown_contact_id()
    # when tenant B reads, lists, updates it
    def attempts(contact_id):
        return [
            gql(client, ONE, tenant_b, id=contact_id),
            gql(client, NODE, tenant_b, id=contact_id),
            gql(client, UPDATE, tenant_b, id=contact_id, input={"name": "Taken"}),
            gql(client, UPDATE, tenant_b, id=contact_id, expectedVersion=1,
                input={"name": "Taken"}),
        ]
    seen = attempts(theirs["id"])
    baseline = attempts(unknown)
    listed = gql(client, LIST, tenant_b)
    # then each answer is exactly the one for an unknown id, and the list is empty
    def raw(global_id_):
        return base64.b64decode(global_id_).decode().split(":")[1]
    assert str(seen).replace(raw(theirs["id"]), "X") == str(baseline).replace(raw(unknown), "X")
    assert listed["data"]["contacts"]["edges"] == []
    # and tenant A's contact is unchanged
    assert gql(client, ONE, tenant_a, id=theirs["id"])["data"]["contact"]["name"] == (
        "Alpha Secret Supplier")
