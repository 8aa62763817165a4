"""REST routes: statement imports, bank accounts, transactions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import current_app

from smbfinance.extensions import db
from smbfinance.transactions import accounts_service as accounts
from smbfinance.transactions import csv_mapping_service as csv_mappings
from smbfinance.transactions import import_service as imports
from smbfinance.transactions import schemas, tasks
from smbfinance.transactions import service as transactions
from smbfinance.web.api import AuthenticatedView, Blueprint
from smbfinance.web.auth import current_actor
from smbfinance.web.etag import expected_version, with_etag
from smbfinance.web.idempotency import idempotent
from smbfinance.web.uploads import FileUpload

blp = Blueprint("transactions", __name__, url_prefix="/api/v1",
                description="Bank accounts, transactions and statement imports.")
BEARER = [{"bearerAuth": []}]


@blp.route("/imports")
class Imports(AuthenticatedView):
    accepted_media_types = ("multipart/form-data",)

    @blp.arguments(FileUpload, location="files")
    @blp.arguments(schemas.ImportIn, location="form")
    @idempotent  # outside @blp.response: it stores the serialised response, not the batch
    @blp.response(201, schemas.ImportBatchOut)
    @blp.alt_response(202, schema=schemas.ImportBatchOut,
                      description="A large file, queued: follow GET /imports/{id}")
    @blp.alt_response(422, description="Not a statement, structurally broken (with the line "
                                       "or element), or inconsistent under strict=true")
    @blp.alt_response(503, description="The file could not be read to its end (the process "
                                       "reading it stopped): nothing imported; try again")
    @blp.doc(security=BEARER)
    def post(self, files: dict[str, Any], form: dict[str, Any]) -> Any:
        """Import a CODA, CAMT.053 (XML or ZIP), MT940 or OFX file; the format is read from
        the content. A CSV export is read with the mapping saved on `bank_account_id`.
        Re-importing changes nothing. A file above IMPORT_INLINE_MAX_BYTES is imported by
        a worker: 202 with status `queued`."""
        actor = current_actor()
        batch = imports.submit_import(
            session=db.session, actor=actor, stream=files["file"].stream,
            file_name=files["file"].filename, bank_account_id=form.get("bank_account_id"),
            strict=form["strict"], enqueue=tasks.enqueue_for(actor),
            inline_max_bytes=current_app.config["IMPORT_INLINE_MAX_BYTES"])
        return batch, 202 if batch.status == "queued" else 201


@blp.route("/imports/<uuid:batch_id>")
class ImportView(AuthenticatedView):
    @blp.response(200, schemas.ImportBatchOut)
    @blp.doc(security=BEARER)
    def get(self, batch_id: UUID) -> Any:
        """An import: format, status, counts per statement, warnings and errors."""
        return imports.get_batch(session=db.session, actor=current_actor(), batch_id=batch_id)


@blp.route("/bank-accounts")
class BankAccounts(AuthenticatedView):
    @blp.response(200, schemas.BankAccountList)
    @blp.doc(security=BEARER)
    def get(self) -> dict[str, Any]:
        """The company's bank accounts with their latest balance and its freshness."""
        page = transactions.list_accounts(session=db.session, actor=current_actor())
        return {"data": page.items, "has_more": page.has_more}

    @blp.arguments(schemas.BankAccountIn)
    @idempotent  # outside @blp.response: it stores the serialised response, not the row
    @blp.response(201, schemas.BankAccountOut)
    @blp.alt_response(409, description="The company already has this account")
    @blp.doc(security=BEARER)
    def post(self, body: dict[str, Any]) -> Any:
        """Add an account (IBAN validated), or a cash account with its own number."""
        account = accounts.create_account(session=db.session, actor=current_actor(), data=body)
        return with_etag(account, account.version, 201)


@blp.route("/bank-accounts/<uuid:account_id>")
class BankAccountView(AuthenticatedView):
    @blp.response(200, schemas.BankAccountOut)
    @blp.doc(security=BEARER)
    def get(self, account_id: UUID) -> Any:
        """One bank account."""
        return transactions.get_account(session=db.session, actor=current_actor(),
                                        account_id=account_id)

    @blp.arguments(schemas.BankAccountPatch)
    @blp.response(200, schemas.BankAccountOut)
    @blp.alt_response(412, description="If-Match does not match the current version")
    @blp.doc(security=BEARER)
    def patch(self, body: dict[str, Any], account_id: UUID) -> Any:
        """Rename or deactivate an account (its IBAN and currency never change)."""
        account = accounts.update_account(session=db.session, actor=current_actor(),
                                          account_id=account_id, changes=body,
                                          expected_version=expected_version())
        return with_etag(account, account.version)

    @blp.response(204)
    @blp.doc(security=BEARER)
    def delete(self, account_id: UUID) -> None:
        """Remove an account from lists (soft; its transactions stay)."""
        accounts.delete_account(session=db.session, actor=current_actor(),
                                account_id=account_id, expected_version=expected_version())


@blp.route("/bank-accounts/<uuid:account_id>/csv-mapping")
class CsvMappingView(AuthenticatedView):
    @blp.response(200, schemas.CsvMappingOut)
    @blp.alt_response(404, description="No such account, or it has no mapping")
    @blp.doc(security=BEARER)
    def get(self, account_id: UUID) -> Any:
        """The column mapping CSV uploads to this account are read with."""
        return csv_mappings.get_mapping(session=db.session, actor=current_actor(),
                                        account_id=account_id)

    @blp.arguments(schemas.CsvMappingIn)
    @blp.response(200, schemas.CsvMappingOut)
    @blp.alt_response(412, description="If-Match does not match the account's version")
    @blp.doc(security=BEARER)
    def put(self, body: dict[str, Any], account_id: UUID) -> Any:
        """Save (create or replace) the account's CSV column mapping."""
        saved = csv_mappings.save_mapping(session=db.session, actor=current_actor(),
                                          account_id=account_id, data=body,
                                          expected_version=expected_version())
        return with_etag(saved, saved["version"])

    @blp.response(204)
    @blp.doc(security=BEARER)
    def delete(self, account_id: UUID) -> None:
        """Forget the mapping: CSV uploads to the account are refused until one is saved."""
        csv_mappings.delete_mapping(session=db.session, actor=current_actor(),
                                    account_id=account_id, expected_version=expected_version())


@blp.route("/transactions")
class Transactions(AuthenticatedView):
    @blp.arguments(schemas.TransactionListArgs, location="query")
    @blp.response(200, schemas.TransactionList)
    @blp.doc(security=BEARER)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Bank transactions, newest first, a page at a time."""
        page = transactions.list_transactions(session=db.session, actor=current_actor(), **args)
        return {"data": page.items, "has_more": page.has_more}

    @blp.arguments(schemas.ManualTransactionIn)
    @idempotent  # outside @blp.response: it stores the serialised response, not the row
    @blp.response(201, schemas.TransactionOut)
    @blp.doc(security=BEARER)
    def post(self, body: dict[str, Any]) -> Any:
        """Book a cash movement by hand (source `manual`); send an Idempotency-Key."""
        return accounts.create_manual_transaction(session=db.session, actor=current_actor(),
                                                  data=body)


@blp.route("/transactions/<uuid:transaction_id>")
class TransactionView(AuthenticatedView):
    @blp.response(200, schemas.TransactionOut)
    @blp.doc(security=BEARER)
    def get(self, transaction_id: UUID) -> Any:
        """One bank transaction (with its ETag)."""
        found = transactions.get_transaction(session=db.session, actor=current_actor(),
                                             transaction_id=transaction_id)
        return with_etag(found, found.version)

    @blp.arguments(schemas.TransactionPatch)
    @blp.response(200, schemas.TransactionOut)
    @blp.alt_response(412, description="If-Match does not match the current version")
    @blp.doc(security=BEARER)
    def patch(self, body: dict[str, Any], transaction_id: UUID) -> Any:
        """Set category, contact, notes or the forecast flag (the bank's facts cannot
        change); a category or contact set here is never overwritten by a rule."""
        found = transactions.update_transaction(
            session=db.session, actor=current_actor(), transaction_id=transaction_id,
            changes=body, expected_version=expected_version())
        return with_etag(found, found.version)
