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


def _money(amount: Any, currency: str | None) -> dict[str, Any] | None:
    return None if amount is None else {"amount": str(amount), "currency": currency}


def _when(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _id(value: Any) -> str | None:
    return str(value) if value is not None else None


def transaction(obj: Any) -> dict[str, Any]:
    """A bank transaction exactly as GET /api/v1/transactions/{id} shows it."""
    texts = ("counterparty_name", "counterparty_iban", "remittance", "structured_reference",
             "bank_reference", "status", "source", "notes", "categorised_by")
    return {
        "id": str(obj.id), "object": "transaction", "bank_account_id": str(obj.bank_account_id),
        "amount": _money(obj.amount, obj.currency),
        "booking_date": _when(obj.booking_date), "value_date": _when(obj.value_date),
        **{key: getattr(obj, key) for key in texts},
        "category_id": _id(obj.category_id), "contact_id": _id(obj.contact_id),
        "ignore_for_forecast": bool(obj.ignore_for_forecast),
        "matched_amount": _money(obj.matched_amount, obj.currency),
        "unallocated": _money(abs(obj.amount) - obj.matched_amount, obj.currency),
        "import_batch_id": _id(obj.import_batch_id), "sync_log_id": _id(obj.sync_log_id),
        "version": obj.version, "created_at": _when(obj.created_at),
    }


def sync_log(log: Any, integration: Any) -> dict[str, Any]:
    """A finished sync run: `sync.succeeded` / `sync.failed`. `counts` say what changed;
    GET /api/v1/transactions?sync_log_id=<id> lists the bank transactions it wrote."""
    return {
        "id": str(log.id), "object": "sync_log", "integration_id": str(integration.id),
        "provider": integration.provider, "trigger": log.trigger, "status": log.status,
        "started_at": _when(log.started_at), "finished_at": _when(log.finished_at),
        # When the integration's data was last fresh: this run's end, or for a failed run
        # the last success before it.
        "synchronized_at": _when(integration.last_success_at),
        "counts": dict(log.counts or {}),
        "error": None if log.error_code is None else {"code": log.error_code,
                                                      "message": log.error},
    }


def integration_consent(integration: Any) -> dict[str, Any]:
    """`integration.consent_expiring`: the integration and when its consent ends."""
    return {
        "id": str(integration.id), "object": "integration", "provider": integration.provider,
        "display_name": integration.display_name, "status": integration.status,
        "consent_expires_at": _when(integration.consent_expires_at),
        "last_success_at": _when(integration.last_success_at),
    }
