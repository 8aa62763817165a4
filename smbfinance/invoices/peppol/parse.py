"""Read a Peppol BIS Billing 3.0 / UBL 2.1 Invoice or CreditNote (UBL.BE too). Pure.

The bytes come from outside (uploads, access points), so the XML is parsed with defusedxml
and any DOCTYPE is refused: UBL never needs one, and refusing it closes entity expansion
(billion laughs) and external entities (XXE) at once. A structurally broken document is
rejected with the element path at fault; whether the totals add up is reconcile.py's job.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import defusedxml
from defusedxml import ElementTree as SafeET

from smbfinance.invoices.peppol.model import (
    ZERO,
    DocumentKind,
    UblAllowanceCharge,
    UblDocument,
    UblLine,
    UblParty,
    UblPaymentMeans,
    UblTotals,
    UblVatSubtotal,
    unit_price_of,
)

if TYPE_CHECKING:
    # Only the type; every parse goes through defusedxml.
    from xml.etree.ElementTree import Element

CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
_PREFIXES = {"cac": CAC, "cbc": CBC}
_ROOTS: dict[str, tuple[DocumentKind, str]] = {
    f"{{{INVOICE_NS}}}Invoice": ("invoice", "Invoice"),
    f"{{{CREDIT_NOTE_NS}}}CreditNote": ("credit_note", "CreditNote"),
}
# Peppol participant schemes that carry a Belgian enterprise number (0123.456.749).
BE_ENTERPRISE_SCHEMES = frozenset({"0208", "9956"})

# xsd:decimal: no exponent, no thousands separator, no NaN/Infinity.
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})?", re.ASCII)
_CURRENCY = re.compile(r"[A-Z]{3}")


class UblError(ValueError):
    """A document we cannot accept; `path` points at the element at fault."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


class _Node:
    """An element with the path that led to it, so every error can name where it is."""

    def __init__(self, element: Element, path: str) -> None:
        self.element = element
        self.path = path

    def find(self, name: str) -> _Node | None:
        element = self.element.find(_qualify(name))
        return None if element is None else _Node(element, f"{self.path}/{name}")

    def require(self, name: str) -> _Node:
        node = self.find(name)
        if node is None:
            raise UblError(f"{self.path}/{name}", "required element is missing")
        return node

    def find_all(self, name: str) -> list[_Node]:
        return [_Node(element, f"{self.path}/{name}[{index}]")
                for index, element in enumerate(self.element.findall(_qualify(name)), start=1)]

    def text(self, name: str, *, required: bool = False) -> str | None:
        node = self.require(name) if required else self.find(name)
        if node is None:
            return None
        value = (node.element.text or "").strip()
        if not value:
            if required:
                raise UblError(node.path, "required element is empty")
            return None
        return value

    def required_text(self, name: str) -> str:
        value = self.text(name, required=True)
        assert value is not None
        return value

    def attribute(self, name: str) -> str | None:
        value = self.element.get(name)
        return value.strip() if value is not None and value.strip() else None

    def decimal(self, name: str, *, required: bool = False) -> Decimal | None:
        raw = self.text(name, required=required)
        if raw is None:
            return None
        if not _DECIMAL.fullmatch(raw):
            raise UblError(f"{self.path}/{name}", f"{raw!r} is not a decimal number")
        return Decimal(raw)

    def required_decimal(self, name: str) -> Decimal:
        value = self.decimal(name, required=True)
        assert value is not None
        return value

    def date(self, name: str, *, required: bool = False) -> date | None:
        raw = self.text(name, required=required)
        if raw is None:
            return None
        match = _DATE.fullmatch(raw)
        try:
            if match:
                return date.fromisoformat(match.group(1))
        except ValueError:
            pass
        raise UblError(f"{self.path}/{name}", f"{raw!r} is not a date such as 2026-04-13")


class _Amounts:
    """Reads amounts and refuses one in another currency than the document's: summing
    across currencies without a conversion is never right."""

    def __init__(self, currency: str) -> None:
        self.currency = currency

    def get(self, node: _Node, name: str, *, required: bool = False) -> Decimal | None:
        value = node.decimal(name, required=required)
        if value is not None:
            amount = node.require(name)
            written = amount.attribute("currencyID")
            if written is not None and written != self.currency:
                raise UblError(f"{amount.path}/@currencyID",
                               f"amount in {written} on a {self.currency} document")
        return value

    def required(self, node: _Node, name: str) -> Decimal:
        value = self.get(node, name, required=True)
        assert value is not None
        return value

    def optional(self, node: _Node, name: str) -> Decimal:
        value = self.get(node, name)
        return ZERO if value is None else value


def parse_ubl(data: bytes) -> UblDocument:
    root, kind, root_name = _load(data)
    doc = _Node(root, f"/{root_name}")
    number = doc.required_text("cbc:ID")
    issue_date = doc.date("cbc:IssueDate", required=True)
    assert issue_date is not None
    currency = doc.required_text("cbc:DocumentCurrencyCode")
    if not _CURRENCY.fullmatch(currency):
        raise UblError(f"{doc.path}/cbc:DocumentCurrencyCode",
                       f"{currency!r} is not an ISO 4217 currency code")
    amounts = _Amounts(currency)
    supplier = _party(doc.require("cac:AccountingSupplierParty").require("cac:Party"))
    customer = _party(doc.require("cac:AccountingCustomerParty").require("cac:Party"))
    payment_nodes = doc.find_all("cac:PaymentMeans")
    tax_total, subtotals = _tax_total(doc, amounts)
    totals = _totals(doc.require("cac:LegalMonetaryTotal"), amounts, tax_total)
    line_name = "cac:InvoiceLine" if kind == "invoice" else "cac:CreditNoteLine"
    line_nodes = doc.find_all(line_name)
    if not line_nodes:
        raise UblError(f"{doc.path}/{line_name}", "a document needs at least one line")
    type_name = "cbc:InvoiceTypeCode" if kind == "invoice" else "cbc:CreditNoteTypeCode"
    notes = [text for node in doc.find_all("cbc:Note")
             if (text := (node.element.text or "").strip())]
    billing = doc.find("cac:BillingReference")
    invoice_reference = billing.find("cac:InvoiceDocumentReference") if billing else None
    order = doc.find("cac:OrderReference")
    return UblDocument(
        kind=kind,
        number=number,
        issue_date=issue_date,
        due_date=doc.date("cbc:DueDate") or _payment_due_date(payment_nodes),
        type_code=doc.text(type_name),
        currency=currency,
        customization_id=doc.text("cbc:CustomizationID"),
        profile_id=doc.text("cbc:ProfileID"),
        buyer_reference=doc.text("cbc:BuyerReference"),
        order_reference=order.text("cbc:ID") if order else None,
        billing_reference=invoice_reference.text("cbc:ID") if invoice_reference else None,
        note="\n".join(notes) or None,
        supplier=supplier,
        customer=customer,
        lines=tuple(_line(node, kind, amounts) for node in line_nodes),
        allowances_charges=tuple(_allowance_charge(node, amounts)
                                 for node in doc.find_all("cac:AllowanceCharge")),
        vat_subtotals=subtotals,
        payment_means=tuple(_payment_means(node) for node in payment_nodes),
        totals=totals,
    )


def _load(data: bytes) -> tuple[Element, DocumentKind, str]:
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except defusedxml.DefusedXmlException:
        raise UblError("/", "XML with a DOCTYPE, entity declarations or external "
                            "references is refused") from None
    except SafeET.ParseError as error:
        raise UblError("/", f"not well-formed XML ({error})") from None
    known = _ROOTS.get(root.tag)
    if known is None:
        raise UblError(f"/{_local(root.tag)}",
                       f"root element {_describe(root.tag)} is neither a UBL Invoice "
                       f"({INVOICE_NS}) nor a UBL CreditNote ({CREDIT_NOTE_NS})")
    kind, root_name = known
    return root, kind, root_name


def _party(node: _Node) -> UblParty:
    endpoint = node.find("cbc:EndpointID")
    endpoint_scheme = endpoint.attribute("schemeID") if endpoint else None
    legal = node.find("cac:PartyLegalEntity")
    registration_name = legal.text("cbc:RegistrationName") if legal else None
    trading = node.find("cac:PartyName")
    trading_name = trading.text("cbc:Name") if trading else None
    name = registration_name or trading_name
    if name is None:
        raise UblError(f"{node.path}/cac:PartyLegalEntity/cbc:RegistrationName",
                       "the party has neither a registration name nor a trading name")
    company = legal.find("cbc:CompanyID") if legal else None
    address = node.find("cac:PostalAddress")
    country = address.find("cac:Country") if address else None
    contact = node.find("cac:Contact")
    return UblParty(
        name=name,
        trading_name=trading_name,
        vat_number=_vat_number(node),
        company_id=_compact(legal.text("cbc:CompanyID")) if legal else None,
        company_id_scheme=company.attribute("schemeID") if company else None,
        endpoint_id=_endpoint(node.text("cbc:EndpointID"), endpoint_scheme),
        endpoint_scheme=endpoint_scheme,
        email=contact.text("cbc:ElectronicMail") if contact else None,
        street=address.text("cbc:StreetName") if address else None,
        city=address.text("cbc:CityName") if address else None,
        postal_code=address.text("cbc:PostalZone") if address else None,
        country_code=country.text("cbc:IdentificationCode") if country else None,
    )


def _vat_number(party: _Node) -> str | None:
    # A party may list other tax registrations beside VAT; only the VAT one is the VAT number.
    for scheme in party.find_all("cac:PartyTaxScheme"):
        tax_scheme = scheme.find("cac:TaxScheme")
        scheme_id = tax_scheme.text("cbc:ID") if tax_scheme else None
        if scheme_id is None or scheme_id.upper() == "VAT":
            number = _compact(scheme.text("cbc:CompanyID"))
            if number:
                return number.upper()
    return None


def _endpoint(value: str | None, scheme: str | None) -> str | None:
    if value is None:
        return None
    if scheme in BE_ENTERPRISE_SCHEMES:
        return _compact(value)
    return "".join(value.split())


def _compact(value: str | None) -> str | None:
    if value is None:
        return None
    return "".join(value.split()).replace(".", "") or None


def _payment_means(node: _Node) -> UblPaymentMeans:
    account = node.find("cac:PayeeFinancialAccount")
    branch = account.find("cac:FinancialInstitutionBranch") if account else None
    iban = account.text("cbc:ID") if account else None
    return UblPaymentMeans(
        code=node.required_text("cbc:PaymentMeansCode"),
        payment_id=node.text("cbc:PaymentID"),
        iban="".join(iban.split()).upper() if iban else None,
        bic=branch.text("cbc:ID") if branch else None,
    )


def _payment_due_date(payment_nodes: list[_Node]) -> date | None:
    for node in payment_nodes:
        due = node.date("cbc:PaymentDueDate")
        if due is not None:
            return due
    return None


def _tax_category(node: _Node) -> tuple[str, Decimal]:
    return node.required_text("cbc:ID").upper(), node.decimal("cbc:Percent") or ZERO


def _allowance_charge(node: _Node, amounts: _Amounts) -> UblAllowanceCharge:
    category, rate = _tax_category(node.require("cac:TaxCategory"))
    return UblAllowanceCharge(
        is_charge=_boolean(node, "cbc:ChargeIndicator"),
        amount=amounts.required(node, "cbc:Amount"),
        vat_category=category,
        vat_rate=rate,
        reason=node.text("cbc:AllowanceChargeReason"),
        reason_code=node.text("cbc:AllowanceChargeReasonCode"),
    )


def _boolean(node: _Node, name: str) -> bool:
    raw = node.required_text(name)
    if raw in ("true", "1"):
        return True
    if raw in ("false", "0"):
        return False
    raise UblError(f"{node.path}/{name}", f"{raw!r} is not true or false")


def _tax_total(doc: _Node, amounts: _Amounts) -> tuple[Decimal, tuple[UblVatSubtotal, ...]]:
    # A document with a TaxCurrencyCode repeats the VAT total in that currency (without
    # breakdown); only the one in the document currency adds up with the other totals.
    candidates = doc.find_all("cac:TaxTotal")
    ours = [node for node in candidates
            if (amount := node.find("cbc:TaxAmount")) is None
            or amount.attribute("currencyID") in (None, amounts.currency)]
    if not ours:
        return ZERO, ()
    if len(ours) > 1:
        raise UblError(ours[1].path, f"a second TaxTotal in {amounts.currency}")
    node = ours[0]
    if len(candidates) == 1:
        node = _Node(node.element, node.path.removesuffix("[1]"))
    return amounts.required(node, "cbc:TaxAmount"), tuple(
        _subtotal(subtotal, amounts) for subtotal in node.find_all("cac:TaxSubtotal"))


def _subtotal(node: _Node, amounts: _Amounts) -> UblVatSubtotal:
    category_node = node.require("cac:TaxCategory")
    category, rate = _tax_category(category_node)
    return UblVatSubtotal(
        category=category,
        rate=rate,
        taxable_amount=amounts.required(node, "cbc:TaxableAmount"),
        tax_amount=amounts.required(node, "cbc:TaxAmount"),
        exemption_reason_code=category_node.text("cbc:TaxExemptionReasonCode"),
        exemption_reason=category_node.text("cbc:TaxExemptionReason"),
    )


def _totals(node: _Node, amounts: _Amounts, tax_total: Decimal) -> UblTotals:
    return UblTotals(
        line_extension=amounts.required(node, "cbc:LineExtensionAmount"),
        tax_exclusive=amounts.required(node, "cbc:TaxExclusiveAmount"),
        tax_inclusive=amounts.required(node, "cbc:TaxInclusiveAmount"),
        allowance_total=amounts.optional(node, "cbc:AllowanceTotalAmount"),
        charge_total=amounts.optional(node, "cbc:ChargeTotalAmount"),
        prepaid=amounts.optional(node, "cbc:PrepaidAmount"),
        payable_rounding=amounts.optional(node, "cbc:PayableRoundingAmount"),
        payable=amounts.required(node, "cbc:PayableAmount"),
        tax_total=tax_total,
    )


def _line(node: _Node, kind: DocumentKind, amounts: _Amounts) -> UblLine:
    line_id = node.required_text("cbc:ID")
    quantity_name = "cbc:InvoicedQuantity" if kind == "invoice" else "cbc:CreditedQuantity"
    quantity = node.required_decimal(quantity_name)
    allowance = charge = ZERO
    # Line-level allowances/charges change the line net. Those under cac:Price only explain
    # how the net price was reached and are already in PriceAmount.
    for adjustment in node.find_all("cac:AllowanceCharge"):
        amount = amounts.required(adjustment, "cbc:Amount")
        if _boolean(adjustment, "cbc:ChargeIndicator"):
            charge += amount
        else:
            allowance += amount
    item = node.require("cac:Item")
    category, rate = _tax_category(item.require("cac:ClassifiedTaxCategory"))
    price = node.require("cac:Price")
    price_amount = amounts.required(price, "cbc:PriceAmount")
    base_quantity = price.decimal("cbc:BaseQuantity")
    if base_quantity is not None and base_quantity <= 0:
        raise UblError(f"{price.path}/cbc:BaseQuantity", "the base quantity must be positive")
    return UblLine(
        line_id=line_id,
        description=item.text("cbc:Name") or item.text("cbc:Description") or "",
        quantity=quantity,
        unit_code=node.require(quantity_name).attribute("unitCode"),
        unit_price=(price_amount if base_quantity is None
                    else unit_price_of(price_amount, base_quantity)),
        net_amount=amounts.required(node, "cbc:LineExtensionAmount"),
        vat_category=category,
        vat_rate=rate,
        allowance=allowance,
        charge=charge,
        price_amount=None if base_quantity is None else price_amount,
        base_quantity=base_quantity,
    )


def _qualify(name: str) -> str:
    prefix, _, local = name.partition(":")
    return f"{{{_PREFIXES[prefix]}}}{local}"


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _describe(tag: str) -> str:
    namespace, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    return f"{local!r} in namespace {namespace!r}" if namespace else f"{local!r} (no namespace)"
