"""Contacts use cases: create, read, list/search, update, soft delete, find-or-create."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import Select, exists, func, or_, select, tuple_
from sqlalchemy.orm import Session

from smbfinance import events
from smbfinance.audit import service as audit
from smbfinance.auth.permissions import Actor, Permission, require
from smbfinance.concurrency import check_version, contains_pattern
from smbfinance.contacts.models import Contact, ContactIban
from smbfinance.contacts.validation import (
    normalise_enterprise_number,
    normalise_iban,
    normalise_vat_number,
)
from smbfinance.db import transaction, utcnow
from smbfinance.errors import ErrorList, NotFound
from smbfinance.events import objects as event_objects
from smbfinance.pagination import Page, check_limit, page_of

FIELDS = ("name", "vat_number", "enterprise_number", "email", "phone", "street", "postal_code",
          "city", "country_code", "peppol_id", "notes")
_NORMALISERS: dict[str, Callable[[str], str]] = {
    "vat_number": normalise_vat_number,
    "enterprise_number": normalise_enterprise_number,
}


def _clean(data: dict[str, Any], *, partial: bool) -> tuple[dict[str, Any], list[str] | None]:
    errors = ErrorList()
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if key == "ibans":
            continue
        if key not in FIELDS:
            errors.add(key, "unknown field", "unknown_field")
            continue
        if isinstance(value, str):
            value = value.strip() or None
        if key == "name" and not value:
            errors.add("name", "must not be blank", "required")
        elif key in _NORMALISERS and value is not None:
            try:
                value = _NORMALISERS[key](value)
            except ValueError as exc:
                errors.add(key, str(exc))
        elif key == "country_code" and value is not None:
            value = value.upper()
        clean[key] = value
    if not partial and "name" not in clean:
        errors.add("name", "is required", "required")
    ibans: list[str] | None = None
    if "ibans" in data and data["ibans"] is not None:
        ibans = []
        for index, raw in enumerate(data["ibans"]):
            try:
                iban = normalise_iban(raw)
            except ValueError as exc:
                errors.add(f"ibans.{index}", str(exc))
                continue
            if iban not in ibans:
                ibans.append(iban)
    errors.raise_if_any()
    return clean, ibans


def _state(contact: Contact) -> dict[str, Any]:
    return {**{key: getattr(contact, key) for key in FIELDS}, "ibans": contact.iban_list}


def create_contact(*, session: Session, actor: Actor, data: dict[str, Any]) -> Contact:
    require(actor, Permission.FINANCE_WRITE)
    clean, ibans = _clean(data, partial=False)
    with transaction(session):
        contact = Contact(**clean)
        contact.ibans = [ContactIban(iban=iban) for iban in ibans or []]
        session.add(contact)
        session.flush()
        audit.record(session, actor=actor, action="contact.created", entity_type="contact",
                     entity_id=contact.id, after=_state(contact))
        events.emit(session=session, type="contact.created", object_id=contact.id,
                    obj=event_objects.contact(contact))
    return contact


def get_contact(*, session: Session, actor: Actor, contact_id: uuid.UUID) -> Contact:
    require(actor, Permission.FINANCE_READ)
    with transaction(session):
        return _get(session, contact_id)


def get_contacts(
    *, session: Session, actor: Actor, contact_ids: Collection[uuid.UUID],
    include_deleted: bool = False,
) -> dict[uuid.UUID, Contact]:
    """Many contacts by id in one statement (plus one for their IBANs); ids not found are
    absent. `include_deleted` serves invoices, which keep pointing at deleted contacts."""
    require(actor, Permission.FINANCE_READ)
    if not contact_ids:
        return {}
    query = select(Contact).where(Contact.id.in_(list(contact_ids)))
    if not include_deleted:
        query = query.where(Contact.deleted_at.is_(None))
    with transaction(session):
        return {contact.id: contact for contact in session.execute(query).scalars()}


def _get(session: Session, contact_id: uuid.UUID, *, for_update: bool = False) -> Contact:
    query = select(Contact).where(Contact.id == contact_id, Contact.deleted_at.is_(None))
    if for_update:
        query = query.with_for_update()
    contact = session.execute(query).scalar_one_or_none()
    if contact is None:
        raise NotFound(f"no contact {contact_id}")
    return contact


def list_contacts(
    *,
    session: Session,
    actor: Actor,
    q: str | None = None,
    vat_number: str | None = None,
    iban: str | None = None,
    limit: int | None = None,
    starting_after: uuid.UUID | None = None,
) -> Page[Contact]:
    """Ordered by name then id; `q` matches name, VAT number, enterprise number or IBAN."""
    require(actor, Permission.FINANCE_READ)
    limit = check_limit(limit)
    query: Select[tuple[Contact]] = select(Contact).where(Contact.deleted_at.is_(None))
    if q:
        pattern = contains_pattern(q.strip())
        compact = "".join(q.split()).upper().replace(".", "")  # BE 0123.456.749 as stored
        query = query.where(or_(
            Contact.name.ilike(pattern, escape="\\"),
            Contact.vat_number == compact,
            Contact.enterprise_number == compact.replace(".", "").removeprefix("BE"),
            exists().where(ContactIban.contact_id == Contact.id, ContactIban.iban == compact),
        ))
    if vat_number:
        query = query.where(
            Contact.vat_number == "".join(vat_number.split()).upper().replace(".", ""))
    if iban:
        query = query.where(exists().where(ContactIban.contact_id == Contact.id,
                                           ContactIban.iban == "".join(iban.split()).upper()))
    order = (func.lower(Contact.name), Contact.id)
    with transaction(session):
        if starting_after is not None:
            anchor = session.execute(
                select(func.lower(Contact.name), Contact.id).where(Contact.id == starting_after)
            ).one_or_none()
            if anchor is None:
                raise NotFound(f"starting_after: no contact {starting_after}")
            query = query.where(tuple_(*order) > tuple_(*anchor))
        rows = session.execute(query.order_by(*order).limit(limit + 1)).scalars().all()
    return page_of(rows, limit)


def update_contact(
    *,
    session: Session,
    actor: Actor,
    contact_id: uuid.UUID,
    changes: dict[str, Any],
    expected_version: int | None = None,
) -> Contact:
    require(actor, Permission.FINANCE_WRITE)
    clean, ibans = _clean(changes, partial=True)
    with transaction(session):
        contact = _get(session, contact_id, for_update=True)
        check_version("contact", contact.version, expected_version)
        before = _state(contact)
        for key, value in clean.items():
            setattr(contact, key, value)
        if ibans is not None:
            contact.ibans = [entry for entry in contact.ibans if entry.iban in ibans] + [
                ContactIban(iban=iban) for iban in ibans if iban not in contact.iban_list]
        contact.updated_at = utcnow()  # also bumps the version when only IBANs changed
        session.flush()
        audit.record(session, actor=actor, action="contact.updated", entity_type="contact",
                     entity_id=contact.id, before=before, after=_state(contact))
        events.emit(session=session, type="contact.updated", object_id=contact.id,
                    obj=event_objects.contact(contact))
    return contact


def delete_contact(
    *, session: Session, actor: Actor, contact_id: uuid.UUID, expected_version: int | None = None
) -> None:
    require(actor, Permission.FINANCE_WRITE)
    with transaction(session):
        contact = _get(session, contact_id, for_update=True)
        check_version("contact", contact.version, expected_version)
        contact.deleted_at = utcnow()
        audit.record(session, actor=actor, action="contact.deleted", entity_type="contact",
                     entity_id=contact.id, before=_state(contact))
        session.flush()
        events.emit(session=session, type="contact.deleted", object_id=contact.id,
                    obj=event_objects.contact(contact))


def find_or_create(
    *, session: Session, actor: Actor, data: dict[str, Any]
) -> tuple[Contact, bool]:
    """The contact matching the data's VAT number, enterprise number or Peppol id, else a new
    one. Joins the caller's transaction (used by imports)."""
    clean, ibans = _clean(data, partial=False)
    conditions = []
    if clean.get("vat_number"):
        conditions.append(Contact.vat_number == clean["vat_number"])
    if clean.get("enterprise_number"):
        conditions.append(Contact.enterprise_number == clean["enterprise_number"])
    if clean.get("peppol_id"):
        conditions.append(Contact.peppol_id == clean["peppol_id"])
    if conditions:
        found = session.execute(
            select(Contact).where(Contact.deleted_at.is_(None), or_(*conditions))
            .order_by(Contact.created_at).limit(1)
        ).scalar_one_or_none()
        if found is not None:
            return found, False
    with transaction(session):
        contact = Contact(**clean)
        contact.ibans = [ContactIban(iban=iban) for iban in ibans or []]
        session.add(contact)
        session.flush()
        audit.record(session, actor=actor, action="contact.created", entity_type="contact",
                     entity_id=contact.id, after=_state(contact))
        events.emit(session=session, type="contact.created", object_id=contact.id,
                    obj=event_objects.contact(contact))
    return contact, True
