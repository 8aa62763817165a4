"""Reconciliation: which bank payments settle which open invoices. The engine is pure."""

from __future__ import annotations

from smbfinance.reconciliation.engine import match
from smbfinance.reconciliation.model import (
    Allocation,
    Candidate,
    Direction,
    OpenInvoice,
    Payment,
    Plan,
    Signal,
)

__all__ = ["Allocation", "Candidate", "Direction", "OpenInvoice", "Payment", "Plan", "Signal",
           "match"]
