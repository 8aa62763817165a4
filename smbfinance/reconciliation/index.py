"""Open invoices indexed once per run by every key a payment can carry.

A payment then reads a handful of small buckets instead of every invoice, which is what
makes matching 10,000 payments against 5,000 invoices grow linearly. Buckets hold invoices
oldest due date first (ties by id), so a capped bucket keeps the invoices a payer most
likely settles and every read is deterministic whatever order the inputs came in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from smbfinance.reconciliation import keys
from smbfinance.reconciliation.model import Direction, OpenInvoice

# Bucket caps: the work per payment is bounded by these constants, whatever the tenant.
REFERENCE_CAP = 8  # a reference belongs to one invoice; more would be a data error
NUMBER_CAP = 8
CONTACT_CAP = 16  # a contact's oldest open invoices, for partials and grouped matches
CONTACT_AMOUNT_CAP = 8  # a contact's invoices of exactly the payment's amount
# An amount shared by more open invoices than this (a subscription price) says nothing on
# its own: such a bucket is not read, the amount still scores on candidates found otherwise.
AMOUNT_CAP = 32


@dataclass(frozen=True)
class Indexed:
    """An open invoice with its lookup keys computed once."""

    invoice: OpenInvoice
    currency: str
    reference: str | None
    ibans: frozenset[str]
    name: str | None
    numbers: frozenset[str]
    contact: Hashable  # who owes or is owed: grouped matches stay within one contact

    @property
    def order(self) -> tuple[date, UUID]:
        return (self.invoice.due_date, self.invoice.id)


@dataclass(frozen=True)
class PaymentKeys:
    """What a payment offers to look invoices up by."""

    direction: Direction
    currency: str
    amount: Decimal
    reference: str | None
    ogms: frozenset[str]
    numbers: frozenset[str]
    iban: str | None
    name: str | None


def indexed(invoice: OpenInvoice) -> Indexed:
    name = keys.name_key(invoice.contact_name)
    contact: Hashable = (invoice.contact_id if invoice.contact_id is not None
                         else ("name", name) if name is not None else ("invoice", invoice.id))
    return Indexed(
        invoice=invoice,
        currency=invoice.currency.upper(),
        reference=keys.reference_key(invoice.payment_reference),
        ibans=frozenset(k for k in map(keys.iban_key, invoice.contact_ibans) if k),
        name=name,
        numbers=keys.number_keys(invoice.number),
        contact=contact,
    )


class InvoiceIndex:
    def __init__(self, invoices: Iterable[OpenInvoice]) -> None:
        self._by_reference: dict[str, list[Indexed]] = defaultdict(list)
        self._by_number: dict[str, list[Indexed]] = defaultdict(list)
        self._by_amount: dict[tuple[Direction, str, Decimal], list[Indexed]] = defaultdict(list)
        self._by_contact: dict[tuple[str, Direction, str], list[Indexed]] = defaultdict(list)
        self._by_contact_amount: dict[tuple[str, Direction, str, Decimal], list[Indexed]] = (
            defaultdict(list))
        self._entries = sorted((indexed(i) for i in invoices if i.outstanding > 0),
                               key=lambda entry: entry.order)
        for entry in self._entries:
            self._add(entry)

    def entries(self) -> list[Indexed]:
        return list(self._entries)

    def _add(self, entry: Indexed) -> None:
        invoice = entry.invoice
        if entry.reference:
            self._by_reference[entry.reference].append(entry)
        for number in entry.numbers:
            self._by_number[number].append(entry)
        # Decimal hashes by value: 100, 100.0 and 100.00 share a bucket.
        self._by_amount[(invoice.direction, entry.currency, invoice.outstanding)].append(entry)
        # IBAN and name keys carry a prefix so that a name can never equal an IBAN.
        for contact_key in _contact_keys(entry.ibans, entry.name):
            self._by_contact[(contact_key, invoice.direction, entry.currency)].append(entry)
            self._by_contact_amount[(contact_key, invoice.direction, entry.currency,
                                     invoice.outstanding)].append(entry)

    def retrieve(self, payment: PaymentKeys) -> list[Indexed]:
        """The invoices worth scoring for a payment, each once, oldest due first.

        Explicit keys (references, numbers) find invoices in either direction, so that a
        payment naming an invoice against its sign is shown with that as negative evidence;
        amount and contact keys only find invoices of the payment's own direction."""
        found: dict[UUID, Indexed] = {}
        buckets: list[list[Indexed]] = []
        for reference in filter(None, (payment.reference, *sorted(payment.ogms))):
            buckets.append(self._by_reference.get(reference, [])[:REFERENCE_CAP])
        for number in sorted(payment.numbers):
            buckets.append(self._by_number.get(number, [])[:NUMBER_CAP])
        same_amount = self._by_amount.get(
            (payment.direction, payment.currency, payment.amount), [])
        if len(same_amount) <= AMOUNT_CAP:
            buckets.append(same_amount)
        for contact_key in _contact_keys(
                frozenset({payment.iban}) if payment.iban else frozenset(), payment.name):
            side = (contact_key, payment.direction, payment.currency)
            buckets.append(self._by_contact.get(side, [])[:CONTACT_CAP])
            buckets.append(self._by_contact_amount.get((*side, payment.amount), [])
                           [:CONTACT_AMOUNT_CAP])
        for bucket in buckets:
            for entry in bucket:
                if entry.currency == payment.currency:
                    found.setdefault(entry.invoice.id, entry)
        return sorted(found.values(), key=lambda entry: entry.order)


def _contact_keys(ibans: frozenset[str], name: str | None) -> list[str]:
    contact_keys = [f"iban:{iban}" for iban in sorted(ibans)]
    if name:
        contact_keys.append(f"name:{name}")
    return contact_keys
