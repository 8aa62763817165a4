"""REST routes for contacts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from smbfinance.contacts import schemas
from smbfinance.contacts import service as contacts
from smbfinance.extensions import db
from smbfinance.web.api import AuthenticatedView, Blueprint
from smbfinance.web.auth import current_actor
from smbfinance.web.etag import expected_version, with_etag
from smbfinance.web.idempotency import idempotent

blp = Blueprint("contacts", __name__, url_prefix="/api/v1/contacts",
                description="Customers and suppliers.")
BEARER = [{"bearerAuth": []}]


@blp.route("")
class Contacts(AuthenticatedView):
    @blp.arguments(schemas.ContactListArgs, location="query")
    @blp.response(200, schemas.ContactList)
    @blp.doc(security=BEARER)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List contacts by name; search by name, VAT number, enterprise number or IBAN."""
        page = contacts.list_contacts(session=db.session, actor=current_actor(), **args)
        return {"data": page.items, "has_more": page.has_more}

    @blp.arguments(schemas.ContactIn)
    @idempotent  # outside @blp.response: it stores the serialised response, not a Contact
    @blp.response(201, schemas.ContactOut)
    @blp.doc(security=BEARER)
    def post(self, body: dict[str, Any]) -> Any:
        """Create a contact (Idempotency-Key supported)."""
        contact = contacts.create_contact(session=db.session, actor=current_actor(), data=body)
        return with_etag(contact, contact.version, 201)


@blp.route("/<uuid:contact_id>")
class ContactView(AuthenticatedView):
    @blp.response(200, schemas.ContactOut)
    @blp.doc(security=BEARER)
    def get(self, contact_id: UUID) -> Any:
        """One contact (with its ETag)."""
        contact = contacts.get_contact(session=db.session, actor=current_actor(),
                                       contact_id=contact_id)
        return with_etag(contact, contact.version)

    @blp.arguments(schemas.ContactPatch)
    @blp.response(200, schemas.ContactOut)
    @blp.alt_response(412, description="If-Match does not match the current version")
    @blp.doc(security=BEARER)
    def patch(self, body: dict[str, Any], contact_id: UUID) -> Any:
        """Change a contact; send If-Match with the ETag you read to avoid lost updates."""
        contact = contacts.update_contact(session=db.session, actor=current_actor(),
                                          contact_id=contact_id, changes=body,
                                          expected_version=expected_version())
        return with_etag(contact, contact.version)

    @blp.response(204)
    @blp.alt_response(412, description="If-Match does not match the current version")
    @blp.doc(security=BEARER)
    def delete(self, contact_id: UUID) -> None:
        """Delete a contact (soft: its invoices keep pointing at it)."""
        contacts.delete_contact(session=db.session, actor=current_actor(),
                                contact_id=contact_id, expected_version=expected_version())
