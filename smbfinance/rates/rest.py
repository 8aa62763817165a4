"""POST /api/v1/exchange-rates/import — ECB euro reference rates (CSV or XML)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from smbfinance.extensions import db
from smbfinance.rates import service as rates
from smbfinance.web.api import AuthenticatedView, Blueprint
from smbfinance.web.auth import current_actor
from smbfinance.web.uploads import FileUpload, uploaded_bytes

blp = Blueprint("exchange_rates", __name__, url_prefix="/api/v1/exchange-rates",
                description="Exchange rates used to value foreign-currency invoices.")


class RatesImportOut(Schema):
    days = fields.Integer(required=True)
    rates = fields.Integer(required=True)
    first_day = fields.Date(allow_none=True)
    last_day = fields.Date(allow_none=True)


@blp.route("/import")
class ImportRates(AuthenticatedView):
    accepted_media_types = ("multipart/form-data",)

    @blp.arguments(FileUpload, location="files")
    @blp.response(200, RatesImportOut)
    @blp.doc(security=[{"bearerAuth": []}])
    def post(self, files: dict[str, Any]) -> rates.RatesImport:
        """Import an ECB rates file (daily or historical, CSV or XML); re-imports update."""
        return rates.import_rates(session=db.session, actor=current_actor(),
                                  data=uploaded_bytes(files))
