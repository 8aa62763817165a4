"""Do a UBL document's totals add up? Recompute them the EN 16931 way and compare. Pure.

The recomputation is smbfinance.invoices.calculation.compute_totals, the same code that
computes the totals of invoices we issue, so an imported document and one of ours are held
to one rule. Two decisions (docs in the module functions):
- amounts are compared at the currency's precision, half-up: EN 16931 allows 2 decimals
  (BR-DEC-*), yet real files write line nets such as 9.4650 (UBL.BE test case 19) while
  their own totals use the rounded 9.47;
- with a BaseQuantity the line net is quantity * PriceAmount / BaseQuantity rounded once,
  as EN 16931 defines BT-131, not quantity * (a rounded unit price).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal

from smbfinance.invoices.calculation import (
    ZERO_RATE_CATEGORIES,
    AllowanceCharge,
    LineInput,
    Totals,
    VatBreakdown,
    compute_totals,
)
from smbfinance.invoices.peppol.model import UblDocument, UblLine, UblVatSubtotal, exact_quotient
from smbfinance.money import round_half_up

_ONE = Decimal(1)
# Room for quantity * price to be exact before the single division by the base quantity.
_LINE_DIGITS = 60


@dataclass(frozen=True)
class TotalsMismatch:
    path: str  # the element whose value disagrees, e.g. /Invoice/cac:TaxTotal/cbc:TaxAmount
    expected: Decimal | None  # what the lines and allowances/charges give; None: nothing
    found: Decimal | None  # what the document says; None: the element is not there
    detail: str = ""


def check_totals(doc: UblDocument) -> list[TotalsMismatch]:
    totals = recompute(doc)
    root = f"/{doc.root_name}"
    monetary = f"{root}/cac:LegalMonetaryTotal"
    found = doc.totals
    pairs = [
        *((f"{root}/cac:{doc.line_name}[{index}]/cbc:LineExtensionAmount", net, line.net_amount)
          for index, (line, net) in enumerate(zip(doc.lines, totals.line_nets, strict=True),
                                              start=1)),
        (f"{monetary}/cbc:LineExtensionAmount", totals.line_total, found.line_extension),
        (f"{monetary}/cbc:AllowanceTotalAmount", totals.allowance_total, found.allowance_total),
        (f"{monetary}/cbc:ChargeTotalAmount", totals.charge_total, found.charge_total),
        (f"{monetary}/cbc:TaxExclusiveAmount", totals.net, found.tax_exclusive),
        (f"{root}/cac:TaxTotal/cbc:TaxAmount", totals.vat, found.tax_total),
        (f"{monetary}/cbc:TaxInclusiveAmount", totals.gross, found.tax_inclusive),
        (f"{monetary}/cbc:PrepaidAmount", totals.prepaid, found.prepaid),
        (f"{monetary}/cbc:PayableRoundingAmount", totals.rounding, found.payable_rounding),
        (f"{monetary}/cbc:PayableAmount", totals.payable, found.payable),
    ]
    mismatches = [TotalsMismatch(path, expected, value)
                  for path, expected, value in pairs
                  if not _same(expected, value, doc.currency)]
    mismatches.extend(_check_breakdown(doc, totals.vat_breakdown))
    return mismatches


def recompute(doc: UblDocument) -> Totals:
    return compute_totals(
        [_line_input(line) for line in doc.lines],
        [AllowanceCharge(is_charge=a.is_charge, amount=a.amount, vat_rate=a.vat_rate,
                         vat_category=a.vat_category, reason=a.reason)
         for a in doc.allowances_charges],
        currency=doc.currency,
        prepaid=doc.totals.prepaid,
        rounding=doc.totals.payable_rounding,
    )


def _line_input(line: UblLine) -> LineInput:
    quantity, unit_price = line.quantity, line.unit_price
    if (line.price_amount is not None and line.base_quantity is not None
            and exact_quotient(line.price_amount, line.base_quantity) is None):
        # A repeating unit price (100 per 12 pieces) times the quantity can land a hair
        # below a half cent that the exact product reaches; divide once, at the end.
        context = Context(prec=_LINE_DIGITS)
        quantity = context.divide(context.multiply(line.quantity, line.price_amount),
                                  line.base_quantity)
        unit_price = _ONE
    return LineInput(quantity=quantity, unit_price=unit_price, vat_rate=line.vat_rate,
                     vat_category=line.vat_category, allowance=line.allowance,
                     charge=line.charge)


def _same(expected: Decimal | None, found: Decimal | None, currency: str) -> bool:
    if expected is None or found is None:
        return expected is found
    return round_half_up(expected, currency) == round_half_up(found, currency)


def _vat_key(category: str, rate: Decimal) -> tuple[str, Decimal]:
    category = category.upper()
    if category in ZERO_RATE_CATEGORIES:
        return category, Decimal(0)
    return category, rate.normalize() if rate else Decimal(0)


def _check_breakdown(doc: UblDocument,
                     computed: tuple[VatBreakdown, ...]) -> list[TotalsMismatch]:
    expected = {_vat_key(b.category, b.rate): b for b in computed}
    base = f"/{doc.root_name}/cac:TaxTotal/cac:TaxSubtotal"
    mismatches: list[TotalsMismatch] = []
    seen: set[tuple[str, Decimal]] = set()
    for index, subtotal in enumerate(doc.vat_subtotals, start=1):
        key = _vat_key(subtotal.category, subtotal.rate)
        path = f"{base}[{index}]"
        breakdown = expected.get(key)
        if breakdown is None or key in seen:
            reason = ("a second subtotal for" if key in seen
                      else "no line or allowance/charge has")
            mismatches.append(TotalsMismatch(f"{path}/cbc:TaxableAmount", None,
                                             subtotal.taxable_amount,
                                             f"{reason} VAT {_label(subtotal)}"))
            continue
        seen.add(key)
        for name, want, have in (
                ("cbc:TaxableAmount", breakdown.taxable_amount, subtotal.taxable_amount),
                ("cbc:TaxAmount", breakdown.tax_amount, subtotal.tax_amount)):
            if not _same(want, have, doc.currency):
                mismatches.append(TotalsMismatch(f"{path}/{name}", want, have,
                                                 f"VAT {_label(subtotal)}"))
    for key, breakdown in expected.items():
        if key not in seen:
            mismatches.append(TotalsMismatch(
                base, breakdown.taxable_amount, None,
                f"no TaxSubtotal for VAT {key[0]} {_format_rate(key[1])}%"))
    return mismatches


def _label(subtotal: UblVatSubtotal) -> str:
    return f"{subtotal.category} {_format_rate(subtotal.rate)}%"


def _format_rate(rate: Decimal) -> str:
    return format(rate.normalize(), "f") if rate else "0"
