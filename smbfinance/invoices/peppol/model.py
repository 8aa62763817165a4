"""What we keep of a Peppol BIS Billing 3.0 / UBL 2.1 invoice or credit note. Pure data.

Amounts are the Decimals written in the document, in its currency; absent optional totals
are 0. Identifiers are compacted (no spaces or dots) but otherwise kept as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation
from typing import Literal

ZERO = Decimal(0)

DocumentKind = Literal["invoice", "credit_note"]

# Enough digits that any price / base quantity a human writes divides exactly when the
# quotient terminates; only a repeating quotient (base quantity 3, 12, ...) is cut.
_PRICE_DIGITS = 50


def exact_quotient(dividend: Decimal, divisor: Decimal) -> Decimal | None:
    """dividend / divisor when it is a terminating decimal, else None."""
    context = Context(prec=_PRICE_DIGITS, traps=[Inexact, DivisionByZero, InvalidOperation])
    try:
        return context.divide(dividend, divisor)
    except Inexact:
        return None


def unit_price_of(price_amount: Decimal, base_quantity: Decimal) -> Decimal:
    """BT-146 item net price per BT-149 base quantity: exact when it terminates."""
    exact = exact_quotient(price_amount, base_quantity)
    if exact is not None:
        return exact
    return Context(prec=_PRICE_DIGITS).divide(price_amount, base_quantity)


@dataclass(frozen=True, kw_only=True)
class UblParty:
    name: str  # legal name (PartyLegalEntity/RegistrationName), else the trading name
    vat_number: str | None = None  # PartyTaxScheme/CompanyID for VAT, compact: BE0123456749
    company_id: str | None = None  # PartyLegalEntity/CompanyID, compact
    company_id_scheme: str | None = None
    endpoint_id: str | None = None  # Peppol address
    endpoint_scheme: str | None = None  # 0208/9956 Belgian enterprise number, 0088 GLN, ...
    email: str | None = None
    street: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    trading_name: str | None = None  # PartyName/Name


@dataclass(frozen=True, kw_only=True)
class UblLine:
    line_id: str
    description: str  # Item/Name (Item/Description when there is no name)
    quantity: Decimal
    unit_code: str | None
    unit_price: Decimal  # PriceAmount / BaseQuantity
    net_amount: Decimal  # the document's LineExtensionAmount
    vat_category: str
    vat_rate: Decimal  # percent
    allowance: Decimal = ZERO  # sum of the line's allowances
    charge: Decimal = ZERO  # sum of the line's charges
    # As written, only when the price has a BaseQuantity: the unit price may then be a
    # repeating decimal, and the line net must be computed from these two exactly.
    price_amount: Decimal | None = None
    base_quantity: Decimal | None = None

    def __post_init__(self) -> None:
        if (self.price_amount is None) != (self.base_quantity is None):
            raise ValueError("price_amount and base_quantity go together")
        if self.base_quantity is not None and self.price_amount is not None:
            if self.base_quantity <= 0:
                raise ValueError("base_quantity must be positive")
            if unit_price_of(self.price_amount, self.base_quantity) != self.unit_price:
                raise ValueError("unit_price must be price_amount / base_quantity")


@dataclass(frozen=True, kw_only=True)
class UblAllowanceCharge:
    is_charge: bool
    amount: Decimal
    vat_category: str
    vat_rate: Decimal
    reason: str | None = None
    reason_code: str | None = None


@dataclass(frozen=True, kw_only=True)
class UblVatSubtotal:
    category: str
    rate: Decimal
    taxable_amount: Decimal
    tax_amount: Decimal
    exemption_reason_code: str | None = None
    exemption_reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class UblPaymentMeans:
    code: str  # UNCL4461: 30 credit transfer, 58 SEPA credit transfer, 49 direct debit, ...
    payment_id: str | None = None  # remittance: in Belgium the structured communication
    iban: str | None = None  # PayeeFinancialAccount/ID, compact
    bic: str | None = None


@dataclass(frozen=True, kw_only=True)
class UblTotals:
    line_extension: Decimal
    tax_exclusive: Decimal
    tax_inclusive: Decimal
    payable: Decimal
    tax_total: Decimal = ZERO  # TaxTotal/TaxAmount in the document currency
    allowance_total: Decimal = ZERO
    charge_total: Decimal = ZERO
    prepaid: Decimal = ZERO
    payable_rounding: Decimal = ZERO


@dataclass(frozen=True, kw_only=True)
class UblDocument:
    kind: DocumentKind
    number: str
    issue_date: date
    currency: str
    supplier: UblParty
    customer: UblParty
    lines: tuple[UblLine, ...]
    totals: UblTotals
    # Invoice/cbc:DueDate; for credit notes (whose schema has none) PaymentMeans/PaymentDueDate.
    due_date: date | None = None
    type_code: str | None = None  # 380 invoice, 381 credit note, ...
    customization_id: str | None = None
    profile_id: str | None = None
    buyer_reference: str | None = None
    order_reference: str | None = None
    billing_reference: str | None = None  # for a credit note: the corrected invoice's number
    note: str | None = None
    allowances_charges: tuple[UblAllowanceCharge, ...] = ()
    vat_subtotals: tuple[UblVatSubtotal, ...] = ()
    payment_means: tuple[UblPaymentMeans, ...] = ()

    @property
    def root_name(self) -> str:
        return "Invoice" if self.kind == "invoice" else "CreditNote"

    @property
    def line_name(self) -> str:
        return "InvoiceLine" if self.kind == "invoice" else "CreditNoteLine"
