"""REST routes for invoices: CRUD, lifecycle actions, Peppol UBL import and export."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response

from smbfinance.extensions import db
from smbfinance.invoices import peppol_service as peppol
from smbfinance.invoices import presenters, schemas
from smbfinance.invoices import service as invoices
from smbfinance.invoices.queries import InvoiceFilters
from smbfinance.web.api import AuthenticatedView, Blueprint
from smbfinance.web.auth import current_actor
from smbfinance.web.etag import expected_version, with_etag
from smbfinance.web.idempotency import idempotent
from smbfinance.web.responses import json_response, list_body
from smbfinance.web.uploads import FileUpload, uploaded_bytes

blp = Blueprint("invoices", __name__, url_prefix="/api/v1/invoices",
                description="Receivables (sent) and payables (received).")
BEARER = [{"bearerAuth": []}]


def _one(view: invoices.InvoiceView, status: int = 200) -> Any:
    return with_etag(presenters.detail(view), view.invoice.version, status)


@blp.route("")
class Invoices(AuthenticatedView):
    # An instance: given the class, webargs would build the schema again on every request.
    @blp.arguments(schemas.InvoiceListArgs(), location="query")
    @blp.response(200, schemas.InvoiceList)
    @blp.doc(security=BEARER)
    def get(self, args: dict[str, Any]) -> Response:
        """List invoices with filters, sorted, a page at a time."""
        limit, after = args.pop("limit"), args.pop("starting_after", None)
        page = invoices.list_invoice_summaries(session=db.session, actor=current_actor(),
                                               filters=InvoiceFilters(**args), limit=limit,
                                               starting_after=after)
        return json_response(list_body(page.items, page.has_more))

    @blp.arguments(schemas.InvoiceIn)
    @idempotent  # outside @blp.response: it stores the serialised response
    @blp.response(201, schemas.InvoiceOut)
    @blp.doc(security=BEARER)
    def post(self, body: dict[str, Any]) -> Any:
        """Create an invoice (a draft unless `open` is true)."""
        return _one(invoices.create_invoice(session=db.session, actor=current_actor(),
                                            data=body), 201)


@blp.route("/<uuid:invoice_id>")
class InvoiceView(AuthenticatedView):
    @blp.response(200, schemas.InvoiceOut)
    @blp.doc(security=BEARER)
    def get(self, invoice_id: UUID) -> Any:
        """One invoice with its lines (and its ETag)."""
        return _one(invoices.get_invoice(session=db.session, actor=current_actor(),
                                         invoice_id=invoice_id))

    @blp.arguments(schemas.InvoicePatch)
    @blp.response(200, schemas.InvoiceOut)
    @blp.alt_response(409, description="The invoice is no longer a draft for these fields")
    @blp.alt_response(412, description="If-Match does not match the current version")
    @blp.doc(security=BEARER)
    def patch(self, body: dict[str, Any], invoice_id: UUID) -> Any:
        """Change a draft freely, an open invoice only in due_date, notes and payment account."""
        return _one(invoices.update_invoice(
            session=db.session, actor=current_actor(), invoice_id=invoice_id, changes=body,
            expected_version=expected_version()))

    @blp.response(204)
    @blp.alt_response(409, description="Only drafts and cancelled invoices can be deleted")
    @blp.doc(security=BEARER)
    def delete(self, invoice_id: UUID) -> None:
        """Delete a draft or cancelled invoice (soft)."""
        invoices.delete_invoice(session=db.session, actor=current_actor(),
                                invoice_id=invoice_id, expected_version=expected_version())


@blp.route("/<uuid:invoice_id>/open")
class OpenInvoice(AuthenticatedView):
    @idempotent  # outside @blp.response: it stores the serialised response
    @blp.response(200, schemas.InvoiceOut)
    @blp.alt_response(409, description="Only a draft can be opened")
    @blp.doc(security=BEARER)
    def post(self, invoice_id: UUID) -> Any:
        """Open a draft: it is now sent (receivable) or received (payable)."""
        return _one(invoices.open_invoice(session=db.session, actor=current_actor(),
                                          invoice_id=invoice_id,
                                          expected_version=expected_version()))


@blp.route("/<uuid:invoice_id>/payments")
class Payments(AuthenticatedView):
    @blp.arguments(schemas.PaymentIn)
    @idempotent  # outside @blp.response: it stores the serialised response
    @blp.response(200, schemas.InvoiceOut)
    @blp.alt_response(409, description="The invoice is not open")
    @blp.doc(security=BEARER)
    def post(self, body: dict[str, Any], invoice_id: UUID) -> Any:
        """Record a payment by hand; status follows (partially paid, paid)."""
        return _one(invoices.record_payment(session=db.session, actor=current_actor(),
                                            invoice_id=invoice_id, **body,
                                            expected_version=expected_version()))


@blp.route("/<uuid:invoice_id>/cancel")
class CancelInvoice(AuthenticatedView):
    @idempotent  # outside @blp.response: it stores the serialised response
    @blp.response(200, schemas.InvoiceOut)
    @blp.alt_response(409, description="Paid or partially paid invoices cannot be cancelled")
    @blp.doc(security=BEARER)
    def post(self, invoice_id: UUID) -> Any:
        """Cancel a draft, or an open invoice with nothing paid."""
        return _one(invoices.cancel_invoice(session=db.session, actor=current_actor(),
                                            invoice_id=invoice_id,
                                            expected_version=expected_version()))


@blp.route("/<uuid:invoice_id>/urgency")
class UrgencyView(AuthenticatedView):
    @blp.arguments(schemas.UrgencyIn)
    @blp.response(200, schemas.InvoiceOut)
    @blp.doc(security=BEARER)
    def put(self, body: dict[str, Any], invoice_id: UUID) -> Any:
        """Set a manual urgency (1-5) or clear it (null) to return to the computed one."""
        return _one(invoices.set_urgency(session=db.session, actor=current_actor(),
                                         invoice_id=invoice_id, urgency=body["urgency"],
                                         expected_version=expected_version()))


@blp.route("/import")
class ImportDocument(AuthenticatedView):
    accepted_media_types = ("multipart/form-data",)

    @blp.arguments(FileUpload, location="files")
    @idempotent  # outside @blp.response: it stores the serialised response
    @blp.response(201, schemas.ImportResult)
    @blp.alt_response(200, schema=schemas.ImportResult,
                      description="The same document was imported before: nothing new")
    @blp.alt_response(422, description="Not UBL, malformed, totals that do not add up, or "
                                       "addressed to another company")
    @blp.doc(security=BEARER)
    def post(self, files: dict[str, Any]) -> Any:
        """Import a Peppol BIS 3.0 / UBL 2.1 invoice or credit note (multipart `file`)."""
        outcome = peppol.import_document(session=db.session, actor=current_actor(),
                                         data=uploaded_bytes(files))
        body = {"invoice": presenters.detail(outcome.view), "created": outcome.created}
        return body, 201 if outcome.created else 200


@blp.route("/<uuid:invoice_id>/ubl")
class ExportDocument(AuthenticatedView):
    @blp.response(200, content_type="application/xml",
                  description="A Peppol BIS Billing 3.0 document")
    @blp.doc(security=BEARER)
    def get(self, invoice_id: UUID) -> Response:
        """The invoice as a Peppol BIS Billing 3.0 UBL document."""
        document = peppol.export_document(session=db.session, actor=current_actor(),
                                          invoice_id=invoice_id)
        return Response(document, mimetype="application/xml", headers={
            "Content-Disposition": f'attachment; filename="{invoice_id}.xml"'})
