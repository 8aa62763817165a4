"""Peppol BIS Billing 3.0 / UBL 2.1 invoices and credit notes: parse, check, render. Pure."""

from smbfinance.invoices.peppol.model import (
    UblAllowanceCharge,
    UblDocument,
    UblLine,
    UblParty,
    UblPaymentMeans,
    UblTotals,
    UblVatSubtotal,
)
from smbfinance.invoices.peppol.parse import UblError, parse_ubl
from smbfinance.invoices.peppol.reconcile import TotalsMismatch, check_totals
from smbfinance.invoices.peppol.render import (
    PEPPOL_CUSTOMIZATION_ID,
    PEPPOL_PROFILE_ID,
    render_ubl,
)

__all__ = [
    "PEPPOL_CUSTOMIZATION_ID",
    "PEPPOL_PROFILE_ID",
    "TotalsMismatch",
    "UblAllowanceCharge",
    "UblDocument",
    "UblError",
    "UblLine",
    "UblParty",
    "UblPaymentMeans",
    "UblTotals",
    "UblVatSubtotal",
    "check_totals",
    "parse_ubl",
    "render_ubl",
]
