"""GraphQL face of banking: `bankAccounts`, `bankAccount`, `transactions` (the REST
filters), `transaction`, and the mutations on accounts, cash entries and transactions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from smbfinance.graphql.context import actor_of
from smbfinance.graphql.errors import UserError
from smbfinance.graphql.inputs import attempt, fetch_or_none, given, graphql_errors, load, plain
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
from smbfinance.transactions import accounts_service as accounts
from smbfinance.transactions import schemas
from smbfinance.transactions import service as transactions


@strawberry.type(name="BankAccount", description="A bank (or cash) account and its balance.")
class BankAccountType(Node):
    iban: str | None
    account_number: str | None
    bic: str | None
    currency: str
    holder: str | None
    name: str | None
    current_balance: Money | None
    balance_date: date | None
    balance_source: str | None
    synchronized_at: datetime | None = strawberry.field(
        description="When the balance was last refreshed from its source")
    is_active: bool
    version: int = strawberry.field(description="Send as expectedVersion to avoid lost updates")

    @classmethod
    def of(cls, account: Any) -> BankAccountType:
        balance = None if account.current_balance is None else Money(
            amount=str(account.current_balance), currency=account.currency)
        return cls(id=strawberry.ID(encode_id("BankAccount", account.id)), iban=account.iban,
                   account_number=account.account_number, bic=account.bic,
                   currency=account.currency, holder=account.holder, name=account.name,
                   current_balance=balance, balance_date=account.balance_date,
                   balance_source=account.balance_source,
                   synchronized_at=account.synchronized_at, is_active=account.is_active,
                   version=account.version)


@strawberry.type(name="Transaction", description="A bank movement: + money in, − money out.")
class TransactionType(Node):
    bank_account_id: strawberry.ID
    amount: Money
    booking_date: date
    value_date: date | None
    counterparty_name: str | None
    counterparty_iban: str | None
    remittance: str | None
    structured_reference: str | None
    bank_reference: str | None
    status: str
    source: str
    category_id: strawberry.ID | None = strawberry.field(description="Global id (Category)")
    contact_id: strawberry.ID | None = strawberry.field(description="Global id (Contact)")
    categorised_by: str | None = strawberry.field(description="rule, user, or null")
    notes: str | None
    ignore_for_forecast: bool
    matched_amount: Money = strawberry.field(description="Allocated to invoices")
    unallocated: Money = strawberry.field(description="|amount| − matchedAmount")
    version: int = strawberry.field(description="Send as expectedVersion to avoid lost updates")

    @classmethod
    def of(cls, found: Any) -> TransactionType:
        def money(amount: Any) -> Money:
            return Money(amount=str(amount), currency=found.currency)

        def global_id(type_name: str, raw: uuid.UUID | None) -> strawberry.ID | None:
            return None if raw is None else strawberry.ID(encode_id(type_name, raw))

        return cls(id=strawberry.ID(encode_id("Transaction", found.id)),
                   bank_account_id=strawberry.ID(encode_id("BankAccount", found.bank_account_id)),
                   amount=Money(amount=str(found.amount), currency=found.currency),
                   booking_date=found.booking_date, value_date=found.value_date,
                   counterparty_name=found.counterparty_name,
                   counterparty_iban=found.counterparty_iban, remittance=found.remittance,
                   structured_reference=found.structured_reference,
                   bank_reference=found.bank_reference, status=found.status,
                   source=found.source, category_id=global_id("Category", found.category_id),
                   contact_id=global_id("Contact", found.contact_id),
                   categorised_by=found.categorised_by, notes=found.notes,
                   ignore_for_forecast=found.ignore_for_forecast,
                   matched_amount=money(found.matched_amount),
                   unallocated=money(abs(found.amount) - found.matched_amount),
                   version=found.version)


def _account(info: Info, account_id: uuid.UUID) -> BankAccountType:
    return BankAccountType.of(transactions.get_account(
        session=info.context.session, actor=actor_of(info), account_id=account_id))


def _transaction(info: Info, transaction_id: uuid.UUID) -> TransactionType:
    return TransactionType.of(transactions.get_transaction(
        session=info.context.session, actor=actor_of(info), transaction_id=transaction_id))


def _decoded(global_id: strawberry.ID | None, type_name: str,
             field: str) -> uuid.UUID | None:
    return None if global_id is None else decode_id(global_id, type_name, field=field)


register_node("BankAccount", _account)
register_node("Transaction", _transaction)


@strawberry.type
class Query:
    @strawberry.field(description="The company's bank accounts.")
    def bank_accounts(self, info: Info) -> list[BankAccountType]:
        with graphql_errors():
            page = transactions.list_accounts(session=info.context.session,
                                              actor=actor_of(info))
        return [BankAccountType.of(account) for account in page.items]

    @strawberry.field(description="One bank account (null when not found).")
    def bank_account(self, info: Info, id: strawberry.ID) -> BankAccountType | None:
        return fetch_or_none(lambda: _account(info, decode_id(id, "BankAccount")))

    @strawberry.field(description="Bank transactions, newest first.")
    def transactions(self, info: Info, first: int | None = 50, after: str | None = None,
                     bank_account_id: strawberry.ID | None = None,
                     booked_after: date | None = None, booked_before: date | None = None,
                     direction: str | None = None, status: str | None = None,
                     min_amount: str | None = None, max_amount: str | None = None,
                     category_id: strawberry.ID | None = None, matched: bool | None = None,
                     contact_id: strawberry.ID | None = None,
                     q: str | None = None,
                     import_id: Annotated[str | None, strawberry.argument(
                         description="What this statement import wrote (the UUID of the "
                                     "import.completed event's object)")] = None,
                     sync_log_id: Annotated[str | None, strawberry.argument(
                         description="What this provider sync run wrote (the UUID of the "
                                     "sync.succeeded event's object)")] = None,
                     ) -> Connection[TransactionType]:
        with graphql_errors():
            args = load(schemas.TransactionListArgs(), {
                **page_args(first, after, "Transaction"),
                **given(bank_account_id=_decoded(bank_account_id, "BankAccount",
                                                 "bank_account_id"),
                        category_id=_decoded(category_id, "Category", "category_id"),
                        contact_id=_decoded(contact_id, "Contact", "contact_id"),
                        booked_after=booked_after, booked_before=booked_before,
                        direction=direction, status=status, min_amount=min_amount,
                        max_amount=max_amount, matched=matched, q=q, import_id=import_id,
                        sync_log_id=sync_log_id)})
            page = transactions.list_transactions(session=info.context.session,
                                                  actor=actor_of(info), **args)
        return connection(page, TransactionType.of)

    @strawberry.field(description="One bank transaction (null when not found).")
    def transaction(self, info: Info, id: strawberry.ID) -> TransactionType | None:
        return fetch_or_none(lambda: _transaction(info, decode_id(id, "Transaction")))


# ------------------------------------------------------------------ inputs and payloads

@strawberry.input(description="An account with an IBAN, or a cash account with its own "
                              "accountNumber.")
class BankAccountInput:
    iban: str | None = strawberry.UNSET
    account_number: str | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    holder: str | None = strawberry.UNSET
    bic: str | None = strawberry.UNSET


@strawberry.input(description="Only the fields given change; the IBAN and currency never do.")
class BankAccountPatchInput:
    name: str | None = strawberry.UNSET
    holder: str | None = strawberry.UNSET
    bic: str | None = strawberry.UNSET
    is_active: bool | None = strawberry.UNSET


@strawberry.input(description="A movement no bank reports (cash), booked at once.")
class CashTransactionInput:
    bank_account_id: strawberry.ID
    amount: str = strawberry.field(description="Signed decimal string: + in, − out")
    booking_date: date
    value_date: date | None = strawberry.UNSET
    counterparty_name: str | None = strawberry.UNSET
    remittance: str | None = strawberry.UNSET
    notes: str | None = strawberry.UNSET


@strawberry.input(description="What is ours on a transaction (the bank's facts never "
                              "change); null clears. A category, contact or flag set here "
                              "is never overwritten by a rule.")
class TransactionPatchInput:
    category_id: strawberry.ID | None = strawberry.UNSET
    contact_id: strawberry.ID | None = strawberry.UNSET
    notes: str | None = strawberry.UNSET
    ignore_for_forecast: bool | None = strawberry.UNSET


@strawberry.type
class BankAccountPayload:
    bank_account: BankAccountType | None
    errors: list[UserError]


@strawberry.type
class BankAccountDeletePayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


@strawberry.type
class TransactionPayload:
    transaction: TransactionType | None
    errors: list[UserError]


def _account_payload(result: tuple[Any, list[UserError]]) -> BankAccountPayload:
    account, errors = result
    return BankAccountPayload(bank_account=BankAccountType.of(account) if account else None,
                              errors=errors)


def _transaction_payload(result: tuple[Any, list[UserError]]) -> TransactionPayload:
    found, errors = result
    return TransactionPayload(transaction=TransactionType.of(found) if found else None,
                              errors=errors)


def _with_uuids(data: dict[str, Any], **types: str) -> dict[str, Any]:
    """Global ids in an input turned into the uuids REST bodies carry (nulls kept)."""
    for key, type_name in types.items():
        if data.get(key) is not None:
            data[key] = str(decode_id(data[key], type_name, field=key))
    return data


# ------------------------------------------------------------------ mutations

@strawberry.type
class Mutation:
    @strawberry.mutation(description="Add a bank account (IBAN validated), or a cash account.")
    def bank_account_create(self, info: Info, input: BankAccountInput) -> BankAccountPayload:
        return _account_payload(attempt(lambda: accounts.create_account(
            session=info.context.session, actor=actor_of(info),
            data=load(schemas.BankAccountIn(), plain(input)))))

    @strawberry.mutation(description="Rename or deactivate an account; expectedVersion "
                                     "refuses lost updates.")
    def bank_account_update(self, info: Info, id: strawberry.ID, input: BankAccountPatchInput,
                            expected_version: int | None = None) -> BankAccountPayload:
        return _account_payload(attempt(lambda: accounts.update_account(
            session=info.context.session, actor=actor_of(info),
            account_id=decode_id(id, "BankAccount"),
            changes=load(schemas.BankAccountPatch(), plain(input)),
            expected_version=expected_version)))

    @strawberry.mutation(description="Remove an account from lists (soft; its transactions "
                                     "stay).")
    def bank_account_delete(self, info: Info, id: strawberry.ID,
                            expected_version: int | None = None) -> BankAccountDeletePayload:
        _, errors = attempt(lambda: accounts.delete_account(
            session=info.context.session, actor=actor_of(info),
            account_id=decode_id(id, "BankAccount"), expected_version=expected_version))
        return BankAccountDeletePayload(deleted_id=None if errors else id, errors=errors)

    @strawberry.mutation(description="Book a cash movement by hand (source manual).")
    def cash_transaction_create(self, info: Info,
                                input: CashTransactionInput) -> TransactionPayload:
        return _transaction_payload(attempt(lambda: accounts.create_manual_transaction(
            session=info.context.session, actor=actor_of(info),
            data=load(schemas.ManualTransactionIn(),
                      _with_uuids(plain(input), bank_account_id="BankAccount")))))

    @strawberry.mutation(description="Set category, contact, notes or the forecast flag.")
    def transaction_update(self, info: Info, id: strawberry.ID, input: TransactionPatchInput,
                           expected_version: int | None = None) -> TransactionPayload:
        return _transaction_payload(attempt(lambda: transactions.update_transaction(
            session=info.context.session, actor=actor_of(info),
            transaction_id=decode_id(id, "Transaction"),
            changes=load(schemas.TransactionPatch(), _with_uuids(
                plain(input), category_id="Category", contact_id="Contact")),
            expected_version=expected_version)))
