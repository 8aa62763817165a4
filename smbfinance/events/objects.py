"""What an event carries: the object as the REST API shows it at the time of the event.
Pure (duck-typed on the domain objects), so the services can call it."""

from __future__ import annotations

from typing import Any


def contact(obj: Any) -> dict[str, Any]:
    fields = ("name", "vat_number", "enterprise_number", "email", "phone", "street",
              "postal_code", "city", "country_code", "peppol_id", "notes")
    return {
        "id": str(obj.id), "object": "contact", **{key: getattr(obj, key) for key in fields},
        "ibans": list(obj.iban_list), "version": obj.version,
        "created_at": obj.created_at.isoformat() if obj.created_at else None,
        "updated_at": obj.updated_at.isoformat() if obj.updated_at else None,
        "deleted": obj.deleted_at is not None,
    }


def invoice(view: Any) -> dict[str, Any]:
    """An invoice (service.InvoiceView) exactly as GET /api/v1/invoices/{id} shows it."""
    from smbfinance.invoices import presenters

    return presenters.detail(view)
