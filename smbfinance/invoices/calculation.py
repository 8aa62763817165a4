"""Invoice totals, the EN 16931 way (the rules Peppol BIS 3.0 validates). Pure.

- Line net = quantity × unit price, rounded half-up to the currency's places, minus line
  allowances plus line charges.
- Document allowances and charges adjust the taxable base of their VAT category.
- VAT is computed per (category, rate) on that category's taxable base and rounded
  half-up once per category (BR-CO-17), not per line: that is what Belgian invoices and
  Peppol validators expect, so our exports validate and imports reconcile to the cent.
- net = Σ line nets − allowances + charges; gross = net + VAT;
  payable = gross − prepaid + rounding.
See docs/decisions/0010-invoice-totals-en16931.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from smbfinance.money import round_half_up

ZERO = Decimal(0)
# VAT categories whose rate is zero by definition (exempt, zero-rated, reverse charge,
# intra-community, export, outside scope).
ZERO_RATE_CATEGORIES = frozenset({"E", "Z", "AE", "K", "G", "O"})


@dataclass(frozen=True)
class LineInput:
    quantity: Decimal
    unit_price: Decimal
    vat_rate: Decimal  # percent, e.g. Decimal("21")
    vat_category: str = "S"
    allowance: Decimal = ZERO  # line-level discounts, already in currency units
    charge: Decimal = ZERO


@dataclass(frozen=True)
class AllowanceCharge:
    is_charge: bool
    amount: Decimal
    vat_rate: Decimal
    vat_category: str = "S"
    reason: str | None = None


@dataclass(frozen=True)
class VatBreakdown:
    category: str
    rate: Decimal
    taxable_amount: Decimal
    tax_amount: Decimal


@dataclass(frozen=True)
class Totals:
    line_nets: tuple[Decimal, ...]
    line_total: Decimal
    allowance_total: Decimal
    charge_total: Decimal
    net: Decimal
    vat: Decimal
    gross: Decimal
    prepaid: Decimal
    rounding: Decimal
    payable: Decimal
    vat_breakdown: tuple[VatBreakdown, ...]


def line_net(line: LineInput, currency: str) -> Decimal:
    return round_half_up(line.quantity * line.unit_price, currency) - line.allowance + line.charge


def compute_totals(
    lines: Sequence[LineInput],
    allowances_charges: Iterable[AllowanceCharge] = (),
    *,
    currency: str,
    prepaid: Decimal = ZERO,
    rounding: Decimal = ZERO,
) -> Totals:
    nets = tuple(line_net(line, currency) for line in lines)
    adjustments = tuple(allowances_charges)
    allowance_total = sum((a.amount for a in adjustments if not a.is_charge), ZERO)
    charge_total = sum((a.amount for a in adjustments if a.is_charge), ZERO)
    groups: dict[tuple[str, Decimal], Decimal] = {}
    for line, net in zip(lines, nets, strict=True):
        key = _group_key(line.vat_category, line.vat_rate)
        groups[key] = groups.get(key, ZERO) + net
    for adjustment in adjustments:
        key = _group_key(adjustment.vat_category, adjustment.vat_rate)
        signed = adjustment.amount if adjustment.is_charge else -adjustment.amount
        groups[key] = groups.get(key, ZERO) + signed
    breakdown = tuple(
        VatBreakdown(category, rate, round_half_up(taxable, currency),
                     round_half_up(taxable * rate / 100, currency))
        for (category, rate), taxable in sorted(groups.items(),
                                                key=lambda kv: (kv[0][0], -kv[0][1]))
    )
    line_total = sum(nets, ZERO)
    net = line_total - allowance_total + charge_total
    vat = sum((b.tax_amount for b in breakdown), ZERO)
    gross = net + vat
    return Totals(
        line_nets=nets, line_total=line_total, allowance_total=allowance_total,
        charge_total=charge_total, net=net, vat=vat, gross=gross, prepaid=prepaid,
        rounding=rounding, payable=gross - prepaid + rounding, vat_breakdown=breakdown,
    )


def _group_key(category: str, rate: Decimal) -> tuple[str, Decimal]:
    category = category.upper()
    if category in ZERO_RATE_CATEGORIES:
        return category, ZERO
    return category, rate.normalize() if rate != 0 else ZERO
