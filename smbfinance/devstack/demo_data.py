"""The demo company's customers, suppliers and invoices: deterministic, dated around today
so that `make run` shows overdue, due-soon, paid and future invoices at once."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from smbfinance.auth.permissions import Actor
from smbfinance.contacts import service as contacts
from smbfinance.invoices import service as invoices

CUSTOMERS = [
    {"name": "Brasserie De Kroon", "vat_number": "BE0403170701", "city": "Gent",
     "ibans": ["BE71096123456769"]},
    {"name": "Hotel Astoria Brussel", "vat_number": "BE0202239951", "city": "Brussel"},
    {"name": "Café Den Hoek", "city": "Antwerpen", "ibans": ["BE68539007547034"]},
    {"name": "Traiteur Lemaire SRL", "city": "Namur", "email": "compta@lemaire.example"},
]
SUPPLIERS = [
    {"name": "Moulins de Flandre NV", "vat_number": "BE0417497106", "city": "Brugge",
     "ibans": ["BE43068999999501"]},
    {"name": "Energie Plus", "city": "Liège", "ibans": ["BE62510007547061"]},
    {"name": "Verpakkingen Peeters BV", "city": "Leuven"},
]

# (customer index, days from today to due date, lines, paid share)
RECEIVABLES: list[tuple[int, int, list[tuple[str, str, str, str]], str]] = [
    (0, -24, [("Sourdough loaves", "120", "3.40", "6")], "0"),
    (1, -9, [("Viennoiserie, weekly", "4", "185.00", "6"),
             ("Delivery", "4", "12.50", "21")], "0.5"),
    (2, -2, [("Cakes for event", "3", "48.00", "6")], "0"),
    (0, 2, [("Sourdough loaves", "140", "3.40", "6")], "0"),
    (3, 6, [("Catering bread", "60", "2.10", "6")], "0"),
    (1, 15, [("Viennoiserie, weekly", "4", "185.00", "6")], "0"),
    (2, 40, [("Birthday cake", "1", "65.00", "6")], "0"),
    (3, -45, [("Catering bread", "80", "2.10", "6")], "1"),
]
PAYABLES: list[tuple[int, int, list[tuple[str, str, str, str]], str]] = [
    (0, -5, [("Flour T65, 25 kg", "40", "18.90", "6")], "0"),
    (1, 9, [("Electricity, monthly", "1", "612.40", "21")], "0"),
    (2, 20, [("Cake boxes", "500", "0.42", "21")], "0"),
    (0, -35, [("Flour T80, 25 kg", "30", "19.60", "6")], "1"),
]


def create_demo_invoices(*, session: Session, actor: Actor, today: date) -> int:
    customers = [contacts.create_contact(session=session, actor=actor, data=c).id
                 for c in CUSTOMERS]
    suppliers = [contacts.create_contact(session=session, actor=actor, data=s).id
                 for s in SUPPLIERS]
    created = 0
    for direction, plan, parties in (("receivable", RECEIVABLES, customers),
                                     ("payable", PAYABLES, suppliers)):
        for index, (party, due_in, lines, paid_share) in enumerate(plan, start=1):
            due = today + timedelta(days=due_in)
            data: dict[str, Any] = {
                "direction": direction, "contact_id": parties[party],
                "issue_date": due - timedelta(days=30), "due_date": due, "open": True,
                "lines": [{"description": d, "quantity": q, "unit_price": p, "vat_rate": v}
                          for d, q, p, v in lines],
            }
            if direction == "payable":
                data["number"] = f"SUP-{today.year}-{index:03d}"
            view = invoices.create_invoice(session=session, actor=actor, data=data)
            share = Decimal(paid_share)
            if share > 0:
                amount = (view.invoice.gross_total * share).quantize(Decimal("0.01"))
                invoices.record_payment(session=session, actor=actor,
                                        invoice_id=view.invoice.id, amount=str(amount),
                                        paid_on=min(due, today))
            created += 1
    return created
