"""GraphQL face of invoices: `invoices`, `invoice`, and the lifecycle mutations.

Fields mirror the REST presenter (presenters.summary / presenters.detail, which format
money, references and rates); `contact` and `lines` come from the request's batching
loaders, which the `invoices` connection primes with the whole page's keys."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import strawberry
from marshmallow import Schema
from strawberry.types import Info

from smbfinance.contacts.graphql import ContactType
from smbfinance.graphql.context import actor_of
from smbfinance.graphql.errors import UserError
from smbfinance.graphql.inputs import (
    attempt,
    fetch_or_none,
    given,
    graphql_errors,
    load,
    plain,
    snake,
)
from smbfinance.graphql.loaders import contacts_by_id, lines_by_invoice_id
from smbfinance.graphql.relay import (
    Connection,
    Node,
    connection,
    decode_id,
    encode_id,
    page_args,
    register_node,
)
from smbfinance.graphql.types import Money
from smbfinance.invoices import presenters, schemas
from smbfinance.invoices import service as invoices
from smbfinance.invoices.queries import InvoiceFilters

MONEY_FIELDS = ("net_total", "vat_total", "gross_total", "amount_paid", "amount_credited",
                "outstanding", "gross_total_base")


# ------------------------------------------------------------------ types

@strawberry.type(name="InvoiceLine")
class InvoiceLineType:
    position: int
    description: str
    quantity: str
    unit_code: str | None
    unit_price: str
    vat_rate: str = strawberry.field(description="Percent, e.g. \"21\"")
    vat_category: str
    allowance: Money
    charge: Money
    net_amount: Money

    @classmethod
    def of(cls, line: Mapping[str, Any]) -> InvoiceLineType:
        """From the REST representation (presenters.invoice_line)."""
        return cls(**{key: Money.of(line[key]) if key in ("allowance", "charge", "net_amount")
                      else line[key] for key in line})


@strawberry.type(name="Invoice", description="A receivable (sent) or payable (received).")
class InvoiceType(Node):
    number: str
    direction: str = strawberry.field(description="receivable or payable")
    kind: str = strawberry.field(description="invoice or credit_note")
    status: str = strawberry.field(description="draft, open, partially_paid, paid, cancelled")
    overdue: bool
    urgency: int | None = strawberry.field(description="1 overdue … 5 low; null when settled")
    urgency_source: str | None = strawberry.field(description="manual or computed")
    issue_date: date
    due_date: date
    currency: str
    payment_reference: str | None
    net_total: Money
    vat_total: Money
    gross_total: Money
    amount_paid: Money
    amount_credited: Money
    outstanding: Money
    gross_total_base: Money = strawberry.field(description="In the company's base currency")
    exchange_rate: str
    version: int = strawberry.field(description="Send as expectedVersion to avoid lost updates")
    notes: str | None
    created_at: datetime
    updated_at: datetime
    invoice_id: strawberry.Private[uuid.UUID]
    contact_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    def contact(self, info: Info) -> ContactType:
        return ContactType.of(contacts_by_id(info).load(self.contact_id))

    @strawberry.field
    def lines(self, info: Info) -> list[InvoiceLineType]:
        return [InvoiceLineType.of(presenters.invoice_line(line, self.currency))
                for line in lines_by_invoice_id(info).load(self.invoice_id) or []]

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> InvoiceType:
        """From the REST representation (presenters.summary or presenters.detail)."""
        plain_fields = ("number", "direction", "kind", "status", "overdue", "urgency",
                        "urgency_source", "currency", "payment_reference", "exchange_rate",
                        "version")
        return cls(
            id=strawberry.ID(encode_id("Invoice", body["id"])),
            invoice_id=uuid.UUID(body["id"]), contact_id=uuid.UUID(body["contact"]["id"]),
            **{key: body[key] for key in plain_fields},
            **{key: Money.of(body[key]) for key in MONEY_FIELDS},
            issue_date=date.fromisoformat(body["issue_date"]),
            due_date=date.fromisoformat(body["due_date"]), notes=body.get("notes"),
            created_at=datetime.fromisoformat(body["created_at"]),
            updated_at=datetime.fromisoformat(body["updated_at"]),
        )


def _from_view(info: Info, view: invoices.InvoiceView) -> InvoiceType:
    lines_by_invoice_id(info).prime(view.invoice.id, list(view.invoice.lines))
    return InvoiceType.of(presenters.detail(view))


def _page(info: Info, page: Any) -> Connection[InvoiceType]:
    contacts_by_id(info).want(row["contact_id"] for row in page.items)
    lines_by_invoice_id(info).want(row["id"] for row in page.items)
    return connection(page, lambda row: InvoiceType.of(
        {**presenters.summary(row), "notes": row["notes"]}))


def _get(info: Info, invoice_id: uuid.UUID) -> InvoiceType:
    return _from_view(info, invoices.get_invoice(session=info.context.session,
                                                 actor=actor_of(info), invoice_id=invoice_id))


register_node("Invoice", _get)


# ------------------------------------------------------------------ inputs and payloads

@strawberry.input(name="InvoiceLineInput", description="Decimals as strings.")
class LineInput:
    description: str
    quantity: str | None = strawberry.UNSET
    unit_price: str
    vat_rate: str | None = strawberry.UNSET
    vat_category: str | None = strawberry.UNSET
    unit_code: str | None = strawberry.UNSET
    allowance: str | None = strawberry.UNSET
    charge: str | None = strawberry.UNSET


@strawberry.input(name="InvoiceAdjustmentInput",
                  description="A document-level allowance (discount) or charge.")
class AdjustmentInput:
    is_charge: bool | None = strawberry.UNSET
    amount: str
    vat_rate: str | None = strawberry.UNSET
    vat_category: str | None = strawberry.UNSET
    reason: str | None = strawberry.UNSET


@strawberry.input(description="Only the fields given change. An open invoice only accepts "
                              "dueDate, notes, paymentIban and paymentBic.")
class InvoicePatchInput:
    number: str | None = strawberry.UNSET
    contact_id: strawberry.ID | None = strawberry.UNSET
    issue_date: date | None = strawberry.UNSET
    due_date: date | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    payment_reference: str | None = strawberry.UNSET
    payment_iban: str | None = strawberry.UNSET
    payment_bic: str | None = strawberry.UNSET
    notes: str | None = strawberry.UNSET
    lines: list[LineInput] | None = strawberry.UNSET
    adjustments: list[AdjustmentInput] | None = strawberry.UNSET


@strawberry.input(description="A new invoice: a draft unless `open` is true.")
class InvoiceInput(InvoicePatchInput):
    direction: str = strawberry.field(description="receivable or payable")
    kind: str | None = strawberry.UNSET
    contact_id: strawberry.ID
    corrects_invoice_id: strawberry.ID | None = strawberry.UNSET
    lines: list[LineInput]
    open: bool | None = strawberry.UNSET


@strawberry.input
class PaymentInput:
    amount: str = strawberry.field(description="Decimal string, in the invoice's currency")
    paid_on: date
    reference: str | None = strawberry.UNSET
    note: str | None = strawberry.UNSET


@strawberry.type
class InvoicePayload:
    invoice: InvoiceType | None
    errors: list[UserError]


@strawberry.type
class InvoiceDeletePayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


def _payload(info: Info, result: tuple[Any, list[UserError]]) -> InvoicePayload:
    view, errors = result
    return InvoicePayload(invoice=_from_view(info, view) if view else None, errors=errors)


def _data(schema: Schema, input: Any) -> dict[str, Any]:
    """An invoice input as the REST body, global ids turned into uuids, then loaded."""
    data = plain(input)
    for key, type_name in (("contact_id", "Contact"), ("corrects_invoice_id", "Invoice")):
        if data.get(key) is not None:
            data[key] = str(decode_id(data[key], type_name, field=key))
    return load(schema, data)


# ------------------------------------------------------------------ queries and mutations

@strawberry.type
class Query:
    @strawberry.field(description="Invoices with the REST filters; `sort` is one of "
                                  "createdAt, issueDate, dueDate, grossTotal, number, "
                                  "with a leading '-' for descending.")
    def invoices(
        self, info: Info, first: int | None = 50, after: str | None = None,
        direction: str | None = None, status: str | None = None, urgency: int | None = None,
        contact_id: strawberry.ID | None = None, due_before: date | None = None,
        due_after: date | None = None, issued_before: date | None = None,
        issued_after: date | None = None, min_amount: str | None = None,
        max_amount: str | None = None, currency: str | None = None, q: str | None = None,
        sort: str = "-createdAt",
    ) -> Connection[InvoiceType]:
        with graphql_errors():
            contact = decode_id(contact_id, "Contact", field="contact_id") if contact_id else None
            args = load(schemas.InvoiceListArgs(), {**page_args(first, after, "Invoice"), **given(
                direction=direction, status=status, urgency=urgency, contact_id=contact,
                due_before=due_before, due_after=due_after, issued_before=issued_before,
                issued_after=issued_after, min_amount=min_amount, max_amount=max_amount,
                currency=currency, q=q, sort=snake(sort))})
            limit, starting_after = args.pop("limit"), args.pop("starting_after", None)
            page = invoices.list_invoices(session=info.context.session, actor=actor_of(info),
                                          filters=InvoiceFilters(**args), limit=limit,
                                          starting_after=starting_after)
        return _page(info, page)

    @strawberry.field(description="One invoice (null when not found).")
    def invoice(self, info: Info, id: strawberry.ID) -> InvoiceType | None:
        return fetch_or_none(lambda: _get(info, decode_id(id, "Invoice")))


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create an invoice (a draft unless input.open).")
    def invoice_create(self, info: Info, input: InvoiceInput) -> InvoicePayload:
        return _payload(info, attempt(lambda: invoices.create_invoice(
            session=info.context.session, actor=actor_of(info),
            data=_data(schemas.InvoiceIn(), input))))

    @strawberry.mutation(description="Change an invoice; expectedVersion refuses lost updates.")
    def invoice_update(self, info: Info, id: strawberry.ID, input: InvoicePatchInput,
                       expected_version: int | None = None) -> InvoicePayload:
        return _payload(info, attempt(lambda: invoices.update_invoice(
            session=info.context.session, actor=actor_of(info),
            invoice_id=decode_id(id, "Invoice"), changes=_data(schemas.InvoicePatch(), input),
            expected_version=expected_version)))

    @strawberry.mutation(description="Open a draft: it is now sent or received.")
    def invoice_open(self, info: Info, id: strawberry.ID,
                     expected_version: int | None = None) -> InvoicePayload:
        return _payload(info, attempt(lambda: invoices.open_invoice(
            session=info.context.session, actor=actor_of(info),
            invoice_id=decode_id(id, "Invoice"), expected_version=expected_version)))

    @strawberry.mutation(description="Record a payment by hand; the status follows.")
    def invoice_record_payment(self, info: Info, id: strawberry.ID,
                               input: PaymentInput) -> InvoicePayload:
        return _payload(info, attempt(lambda: invoices.record_payment(
            session=info.context.session, actor=actor_of(info),
            invoice_id=decode_id(id, "Invoice"), **load(schemas.PaymentIn(), plain(input)))))

    @strawberry.mutation(description="Cancel a draft, or an open invoice with nothing paid.")
    def invoice_cancel(self, info: Info, id: strawberry.ID,
                       expected_version: int | None = None) -> InvoicePayload:
        return _payload(info, attempt(lambda: invoices.cancel_invoice(
            session=info.context.session, actor=actor_of(info),
            invoice_id=decode_id(id, "Invoice"), expected_version=expected_version)))

    @strawberry.mutation(description="Delete a draft or cancelled invoice (soft).")
    def invoice_delete(self, info: Info, id: strawberry.ID,
                       expected_version: int | None = None) -> InvoiceDeletePayload:
        _, errors = attempt(lambda: invoices.delete_invoice(
            session=info.context.session, actor=actor_of(info),
            invoice_id=decode_id(id, "Invoice"), expected_version=expected_version))
        return InvoiceDeletePayload(deleted_id=None if errors else id, errors=errors)

    @strawberry.mutation(description="Set a manual urgency (1-5), or null to return to the "
                                     "computed one.")
    def invoice_set_urgency(self, info: Info, id: strawberry.ID,
                            urgency: int | None = None) -> InvoicePayload:
        return _payload(info, attempt(lambda: invoices.set_urgency(
            session=info.context.session, actor=actor_of(info),
            invoice_id=decode_id(id, "Invoice"),
            urgency=load(schemas.UrgencyIn(), {"urgency": urgency})["urgency"])))
