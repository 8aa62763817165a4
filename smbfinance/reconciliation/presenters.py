"""A match as the API shows it (GET /api/v1/reconciliation/matches/{id}), for events."""

from __future__ import annotations

from typing import Any


def _money(amount: Any, currency: str) -> dict[str, str]:
    return {"amount": str(amount), "currency": currency}


def representation(match: Any) -> dict[str, Any]:
    return {
        "id": str(match.id), "object": "reconciliation_match",
        "transaction_id": str(match.transaction_id), "kind": match.kind,
        "status": match.status, "certain": match.certain,
        "score": None if match.score is None else str(match.score),
        "signals": list(match.signals), "amount": _money(match.amount, match.currency),
        "allocations": [{"invoice_id": str(a.invoice_id),
                         "amount": _money(a.amount, a.currency),
                         "invoice_payment_id": str(a.invoice_payment_id)}
                        for a in match.allocations],
        "created_at": match.created_at.isoformat(),
        "created_by": None if match.created_by is None else str(match.created_by),
        "undone_at": None if match.undone_at is None else match.undone_at.isoformat(),
        "undone_by": None if match.undone_by is None else str(match.undone_by),
    }
