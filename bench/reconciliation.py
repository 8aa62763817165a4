"""How does matching time grow with the inputs? `python -m bench.reconciliation`.

Measured: `match()` on 1,000 payments × 500 open invoices, then on 10,000 × 5,000, both
generated from a fixed seed with a realistic mix (structured references, exact and partial
amounts, grouped payments, OGMs and invoice numbers in free text, noise). Printed: both
times and their ratio. Linear growth gives ≈ 10; comparing every pair would give ≈ 100.
No database: the engine is pure.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal

from smbfinance.invoices import ogm
from smbfinance.reconciliation import OpenInvoice, Payment, Plan, match

SEED = 20250314
TODAY = date(2025, 3, 14)
THRESHOLD = Decimal("0.90")
SIZES = ((1_000, 500), (10_000, 5_000))
ROUNDS = 3
INVOICES_PER_CONTACT = 5
LEGAL_FORMS = ("NV", "BV", "SRL", "SA", "BVBA", "SPRL")


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _cents(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def _contacts(rng: random.Random, count: int) -> list[tuple[uuid.UUID, str, str]]:
    contacts = []
    for n in range(count):
        iban = f"BE{rng.randint(10, 99)}{rng.randint(0, 10**12 - 1):012d}"
        contacts.append((_uuid(rng), f"Company {n} {rng.choice(LEGAL_FORMS)}", iban))
    return contacts


def invoices_for(rng: random.Random, count: int) -> list[OpenInvoice]:
    contacts = _contacts(rng, max(1, count // INVOICES_PER_CONTACT))
    invoices = []
    for n in range(count):
        contact_id, name, iban = rng.choice(contacts)
        amount = _cents(rng, 50, 5_000)
        structured = rng.random() < 0.6
        invoices.append(OpenInvoice(
            id=_uuid(rng), direction="receivable" if rng.random() < 0.7 else "payable",
            number=f"INV-2025-{n:06d}", contact_id=contact_id, contact_name=name,
            contact_ibans=frozenset({iban}), currency="EUR" if rng.random() < 0.95 else "USD",
            outstanding=amount, gross=amount, due_date=TODAY + timedelta(rng.randint(-60, 60)),
            payment_reference=ogm.generate(n + 1) if structured else None,
            structured=structured))
    return invoices


def _payment(rng: random.Random, invoice: OpenInvoice, amount: Decimal, *,
             reference: str | None = None, remittance: str | None = None,
             with_contact: bool = True) -> Payment:
    sign = 1 if invoice.direction == "receivable" else -1
    iban = next(iter(invoice.contact_ibans)) if with_contact else None
    return Payment(
        id=_uuid(rng), amount=sign * amount, currency=invoice.currency,
        booking_date=invoice.due_date + timedelta(rng.randint(-20, 20)),
        counterparty_name=invoice.contact_name.upper() if with_contact and invoice.contact_name
        else None,
        counterparty_iban=iban, remittance=remittance, structured_reference=reference,
        unallocated=amount)


def _one_payment(rng: random.Random, invoices: list[OpenInvoice],
                 by_contact: dict[uuid.UUID | None, list[OpenInvoice]]) -> Payment:
    invoice = rng.choice(invoices)
    kind = rng.random()
    if kind < 0.30 and invoice.payment_reference:
        return _payment(rng, invoice, invoice.outstanding,
                        reference=ogm.format_ogm(invoice.payment_reference))
    if kind < 0.45:
        return _payment(rng, invoice, invoice.outstanding)
    if kind < 0.55:
        part = (invoice.outstanding / 2).quantize(Decimal("0.01"))
        return _payment(rng, invoice, part, remittance=f"part payment {invoice.number}")
    if kind < 0.65 and invoice.direction == "receivable" and invoice.currency == "EUR":
        group = by_contact[invoice.contact_id][:3]
        return _payment(rng, invoice, sum((i.outstanding for i in group), Decimal(0)),
                        remittance=" ".join(i.number for i in group))
    if kind < 0.75 and invoice.payment_reference:
        return _payment(rng, invoice, invoice.outstanding, with_contact=False,
                        remittance=f"invoice {ogm.format_ogm(invoice.payment_reference)}")
    return _payment(rng, invoice, _cents(rng, 5, 800), with_contact=rng.random() < 0.5,
                    remittance="card payment 4411 shop")


def workload(payments: int, invoices: int, seed: int = SEED
             ) -> tuple[list[Payment], list[OpenInvoice]]:
    """A deterministic mix of payments against open invoices, as a bank statement has."""
    rng = random.Random(seed)
    open_invoices = invoices_for(rng, invoices)
    by_contact: dict[uuid.UUID | None, list[OpenInvoice]] = {}
    for invoice in open_invoices:
        if invoice.direction == "receivable" and invoice.currency == "EUR":
            by_contact.setdefault(invoice.contact_id, []).append(invoice)
    return ([_one_payment(rng, open_invoices, by_contact) for _ in range(payments)],
            open_invoices)


def timed(payments: list[Payment], invoices: list[OpenInvoice]) -> tuple[float, Plan]:
    """Median seconds of ROUNDS runs, and the plan of the last."""
    samples = []
    plan = match(payments, invoices, threshold=THRESHOLD, today=TODAY)
    for _ in range(ROUNDS):
        started = time.perf_counter()
        plan = match(payments, invoices, threshold=THRESHOLD, today=TODAY)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), plan


def main() -> None:
    times = []
    for payments, invoices in SIZES:
        seconds, plan = timed(*workload(payments, invoices))
        times.append(seconds)
        print(f"• {payments:,} payments × {invoices:,} invoices: {seconds:.3f} s, "
              f"{plan.pairs_scored:,} pairs scored, {plan.subsets_tried:,} subsets tried, "
              f"{len(plan.automatic):,} automatic, {len(plan.suggestions):,} suggestions",
              flush=True)
    first, second = times
    print(f"reconciliation: {first:.3f} s, {second:.3f} s, growth ×{second / first:.1f} "
          "for ×10 inputs (linear ≈ 10)")


if __name__ == "__main__":
    main()
