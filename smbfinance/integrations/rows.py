"""Provider-neutral records → column values of our own tables (bank_accounts,
bank_transactions, contacts, invoices). Pure: the sync engine upserts these dicts keyed on
the provider ids they carry, so a record read twice updates one row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from smbfinance.integrations.providers.base import Account, Contact, OpenItem, Transaction


def bank_account_values(account: Account) -> dict[str, Any]:
    balance = account.current_balance
    return {
        "iban": account.iban,
        "account_number": None if account.iban else account.reference,
        "currency": account.currency,
        "holder": account.holder_name,
        "name": account.name,
        "current_balance": balance.amount if balance else None,
        "balance_date": (balance.reference_date or (balance.changed_at.date()
                         if balance.changed_at else None)) if balance else None,
        "balance_source": account.provider,
        "synchronized_at": account.synchronized_at,
    }


def bank_transaction_values(transaction: Transaction) -> dict[str, Any]:
    return {
        "amount": transaction.amount,
        "currency": transaction.currency,
        "booking_date": transaction.booking_date,
        "value_date": transaction.value_date,
        "counterparty_name": transaction.counterparty_name,
        "counterparty_iban": transaction.counterparty_iban,
        "remittance": transaction.remittance,
        "structured_reference": transaction.structured_reference,
        "bank_reference": transaction.bank_reference,
        "end_to_end_id": transaction.end_to_end_id,
        "transaction_code": transaction.transaction_code,
        "status": transaction.status,
        "source": transaction.provider,
        "dedupe_key": transaction.dedupe_key,
        "details": {**transaction.details, "provider_id": transaction.provider_id},
    }


def contact_values(contact: Contact) -> dict[str, Any]:
    country = (contact.country or "").strip().upper()
    return {
        "name": contact.name,
        "vat_number": (contact.vat_number or "").replace(" ", "").upper()[:20] or None,
        "street": contact.address,
        "postal_code": contact.postal_code,
        "city": contact.city,
        "country_code": country if len(country) == 2 else None,
        "external_ids": {contact.provider: contact.provider_id},
    }


def invoice_values(item: OpenItem, *, synchronized_at: datetime) -> dict[str, Any]:
    """An open item as an invoice of ours (same direction words: receivable, payable);
    what was paid is the difference between the original and the open amount."""
    issue = item.issue_date or item.due_date
    return {
        "direction": item.direction,
        "kind": "credit_note" if item.original_amount < 0 else "invoice",
        "number": (item.reference or item.provider_id)[:64],
        "issue_date": issue,
        "due_date": item.due_date or issue,
        "currency": item.currency,
        "gross_total": abs(item.original_amount),
        "amount_paid": abs(item.original_amount) - abs(item.open_amount),
        "outstanding": abs(item.open_amount),
        "source": item.provider,
        "external_ids": {item.provider: item.provider_id,
                         "administration": item.administration_id,
                         "synchronized_at": synchronized_at.isoformat()},
    }
