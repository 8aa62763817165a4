"""GraphQL face of contacts: `contacts`, `contact`, `contactCreate`, `contactUpdate`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from smbfinance.contacts import schemas
from smbfinance.contacts import service as contacts
from smbfinance.graphql.context import actor_of
from smbfinance.graphql.errors import UserError
from smbfinance.graphql.inputs import (
    attempt,
    fetch_or_none,
    given,
    graphql_errors,
    load,
    plain,
)
from smbfinance.graphql.relay import (
    Connection,
    Node,
    connection,
    decode_id,
    encode_id,
    page_args,
    register_node,
)


@strawberry.type(name="Contact", description="A customer or supplier.")
class ContactType(Node):
    name: str
    vat_number: str | None
    enterprise_number: str | None
    email: str | None
    phone: str | None
    street: str | None
    postal_code: str | None
    city: str | None
    country_code: str | None
    peppol_id: str | None
    notes: str | None
    ibans: list[str]
    version: int = strawberry.field(description="Send as expectedVersion to avoid lost updates")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, contact: Any) -> ContactType:
        return cls(id=strawberry.ID(encode_id("Contact", contact.id)),
                   **{key: getattr(contact, key) for key in contacts.FIELDS},
                   ibans=contact.iban_list, version=contact.version,
                   created_at=contact.created_at, updated_at=contact.updated_at)


@strawberry.input(description="Only the fields given change; null clears a field.")
class ContactPatchInput:
    name: str | None = strawberry.UNSET
    vat_number: str | None = strawberry.UNSET
    enterprise_number: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    street: str | None = strawberry.UNSET
    postal_code: str | None = strawberry.UNSET
    city: str | None = strawberry.UNSET
    country_code: str | None = strawberry.UNSET
    peppol_id: str | None = strawberry.UNSET
    notes: str | None = strawberry.UNSET
    ibans: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the contact's IBANs when given")


@strawberry.input(description="A new contact.")
class ContactInput(ContactPatchInput):
    name: str


@strawberry.type
class ContactPayload:
    contact: ContactType | None
    errors: list[UserError]

    @classmethod
    def of(cls, contact: Any, errors: list[UserError]) -> ContactPayload:
        return cls(contact=ContactType.of(contact) if contact else None, errors=errors)


def _get(info: Info, contact_id: uuid.UUID) -> ContactType:
    return ContactType.of(contacts.get_contact(session=info.context.session,
                                               actor=actor_of(info), contact_id=contact_id))


register_node("Contact", _get)


@strawberry.type
class Query:
    @strawberry.field(description="Contacts by name; `q` matches name, VAT number, "
                                  "enterprise number or IBAN.")
    def contacts(self, info: Info, first: int | None = 50, after: str | None = None,
                 q: str | None = None, vat_number: str | None = None,
                 iban: str | None = None) -> Connection[ContactType]:
        with graphql_errors():
            args = load(schemas.ContactListArgs(), {**page_args(first, after, "Contact"),
                                                    **given(q=q, vat_number=vat_number, iban=iban)})
            page = contacts.list_contacts(session=info.context.session, actor=actor_of(info),
                                          **args)
        return connection(page, ContactType.of)

    @strawberry.field(description="One contact (null when not found).")
    def contact(self, info: Info, id: strawberry.ID) -> ContactType | None:
        return fetch_or_none(lambda: _get(info, decode_id(id, "Contact")))


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create a contact.")
    def contact_create(self, info: Info, input: ContactInput) -> ContactPayload:
        return ContactPayload.of(*attempt(lambda: contacts.create_contact(
            session=info.context.session, actor=actor_of(info),
            data=load(schemas.ContactIn(), plain(input)))))

    @strawberry.mutation(description="Change a contact; pass expectedVersion (the version "
                                     "you read) to refuse a lost update.")
    def contact_update(self, info: Info, id: strawberry.ID, input: ContactPatchInput,
                       expected_version: int | None = None) -> ContactPayload:
        return ContactPayload.of(*attempt(lambda: contacts.update_contact(
            session=info.context.session, actor=actor_of(info),
            contact_id=decode_id(id, "Contact"),
            changes=load(schemas.ContactPatch(), plain(input)),
            expected_version=expected_version)))
