"""Write a UblDocument as a Peppol BIS Billing 3.0 Invoice or CreditNote (UBL 2.1). Pure.

Children are appended in the order the UBL 2.1 schema's sequences require (a validator
rejects a document whose elements are out of order). Amounts are written exactly as held,
never through float; parse_ubl(render_ubl(doc)) gives back every field rendered here.

Not rendered: a credit note's due date when it has no PaymentMeans to carry it (the
CreditNote schema has no cbc:DueDate), and whatever the model does not keep.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

# ElementTree only builds and serialises here; nothing untrusted is parsed.
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from smbfinance.invoices.peppol.model import (
    UblAllowanceCharge,
    UblDocument,
    UblLine,
    UblParty,
    UblPaymentMeans,
    UblVatSubtotal,
)
from smbfinance.invoices.peppol.parse import CAC, CBC, CREDIT_NOTE_NS, INVOICE_NS

PEPPOL_CUSTOMIZATION_ID = (
    "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0")
PEPPOL_PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
# Peppol forbids a VAT rate on "not subject to VAT" (BR-O-05..); every other category has one.
_NO_RATE_CATEGORIES = frozenset({"O"})


def render_ubl(doc: UblDocument) -> bytes:
    is_invoice = doc.kind == "invoice"
    # Tags are written with their prefixes and the prefixes declared on the root, so the
    # output does not depend on ElementTree's process-wide namespace registry.
    root = Element(doc.root_name, {
        "xmlns": INVOICE_NS if is_invoice else CREDIT_NOTE_NS,
        "xmlns:cac": CAC,
        "xmlns:cbc": CBC,
    })
    _text(root, "cbc:CustomizationID", PEPPOL_CUSTOMIZATION_ID)
    _text(root, "cbc:ProfileID", PEPPOL_PROFILE_ID)
    _text(root, "cbc:ID", doc.number)
    _text(root, "cbc:IssueDate", doc.issue_date.isoformat())
    if is_invoice:
        _text(root, "cbc:DueDate", doc.due_date.isoformat() if doc.due_date else None)
        _text(root, "cbc:InvoiceTypeCode", doc.type_code or "380")
    else:
        _text(root, "cbc:CreditNoteTypeCode", doc.type_code or "381")
    _text(root, "cbc:Note", doc.note)
    _text(root, "cbc:DocumentCurrencyCode", doc.currency)
    _text(root, "cbc:BuyerReference", doc.buyer_reference)
    if doc.order_reference:
        _text(SubElement(root, "cac:OrderReference"), "cbc:ID", doc.order_reference)
    if doc.billing_reference:
        reference = SubElement(SubElement(root, "cac:BillingReference"),
                               "cac:InvoiceDocumentReference")
        _text(reference, "cbc:ID", doc.billing_reference)
    _party(SubElement(root, "cac:AccountingSupplierParty"), doc.supplier)
    _party(SubElement(root, "cac:AccountingCustomerParty"), doc.customer)
    for index, means in enumerate(doc.payment_means):
        due = doc.due_date if not is_invoice and index == 0 else None
        _payment_means(root, means, due)
    for adjustment in doc.allowances_charges:
        _allowance_charge(root, adjustment, doc.currency)
    _tax_total(root, doc)
    _monetary_total(root, doc)
    for line in doc.lines:
        _line(root, doc, line)
    indent(root)
    return tostring(root, encoding="UTF-8", xml_declaration=True)


def _text(parent: Element, tag: str, value: str | None,
          attributes: dict[str, str] | None = None) -> Element | None:
    if value is None:
        return None
    element = SubElement(parent, tag, {k: v for k, v in (attributes or {}).items() if v})
    element.text = value
    return element


def _number(value: Decimal) -> str:
    # "f" because str() may give an exponent (1E+2), which xsd:decimal does not allow.
    return format(value, "f")


def _amount(parent: Element, tag: str, value: Decimal, currency: str) -> None:
    _text(parent, tag, _number(value), {"currencyID": currency})


def _party(wrapper: Element, party: UblParty) -> None:
    node = SubElement(wrapper, "cac:Party")
    _text(node, "cbc:EndpointID", party.endpoint_id, {"schemeID": party.endpoint_scheme or ""})
    if party.trading_name:
        _text(SubElement(node, "cac:PartyName"), "cbc:Name", party.trading_name)
    if any((party.street, party.city, party.postal_code, party.country_code)):
        address = SubElement(node, "cac:PostalAddress")
        _text(address, "cbc:StreetName", party.street)
        _text(address, "cbc:CityName", party.city)
        _text(address, "cbc:PostalZone", party.postal_code)
        if party.country_code:
            _text(SubElement(address, "cac:Country"), "cbc:IdentificationCode",
                  party.country_code)
    if party.vat_number:
        scheme = SubElement(node, "cac:PartyTaxScheme")
        _text(scheme, "cbc:CompanyID", party.vat_number)
        _text(SubElement(scheme, "cac:TaxScheme"), "cbc:ID", "VAT")
    legal = SubElement(node, "cac:PartyLegalEntity")
    _text(legal, "cbc:RegistrationName", party.name)
    _text(legal, "cbc:CompanyID", party.company_id, {"schemeID": party.company_id_scheme or ""})
    if party.email:
        _text(SubElement(node, "cac:Contact"), "cbc:ElectronicMail", party.email)


def _payment_means(root: Element, means: UblPaymentMeans, due: date | None) -> None:
    node = SubElement(root, "cac:PaymentMeans")
    _text(node, "cbc:PaymentMeansCode", means.code)
    _text(node, "cbc:PaymentDueDate", due.isoformat() if due else None)
    _text(node, "cbc:PaymentID", means.payment_id)
    if means.iban:
        account = SubElement(node, "cac:PayeeFinancialAccount")
        _text(account, "cbc:ID", means.iban)
        if means.bic:
            _text(SubElement(account, "cac:FinancialInstitutionBranch"), "cbc:ID", means.bic)


def _tax_category(parent: Element, tag: str, category: str, rate: Decimal,
                  reason_code: str | None = None, reason: str | None = None) -> None:
    node = SubElement(parent, tag)
    _text(node, "cbc:ID", category)
    if category not in _NO_RATE_CATEGORIES:
        _text(node, "cbc:Percent", _number(rate))
    _text(node, "cbc:TaxExemptionReasonCode", reason_code)
    _text(node, "cbc:TaxExemptionReason", reason)
    _text(SubElement(node, "cac:TaxScheme"), "cbc:ID", "VAT")


def _allowance_charge(root: Element, adjustment: UblAllowanceCharge, currency: str) -> None:
    node = SubElement(root, "cac:AllowanceCharge")
    _text(node, "cbc:ChargeIndicator", "true" if adjustment.is_charge else "false")
    _text(node, "cbc:AllowanceChargeReasonCode", adjustment.reason_code)
    _text(node, "cbc:AllowanceChargeReason", adjustment.reason)
    _amount(node, "cbc:Amount", adjustment.amount, currency)
    _tax_category(node, "cac:TaxCategory", adjustment.vat_category, adjustment.vat_rate)


def _tax_total(root: Element, doc: UblDocument) -> None:
    node = SubElement(root, "cac:TaxTotal")
    _amount(node, "cbc:TaxAmount", doc.totals.tax_total, doc.currency)
    for subtotal in doc.vat_subtotals:
        _subtotal(node, subtotal, doc.currency)


def _subtotal(parent: Element, subtotal: UblVatSubtotal, currency: str) -> None:
    node = SubElement(parent, "cac:TaxSubtotal")
    _amount(node, "cbc:TaxableAmount", subtotal.taxable_amount, currency)
    _amount(node, "cbc:TaxAmount", subtotal.tax_amount, currency)
    _tax_category(node, "cac:TaxCategory", subtotal.category, subtotal.rate,
                  subtotal.exemption_reason_code, subtotal.exemption_reason)


def _monetary_total(root: Element, doc: UblDocument) -> None:
    totals, currency = doc.totals, doc.currency
    has_allowances = any(not a.is_charge for a in doc.allowances_charges)
    has_charges = any(a.is_charge for a in doc.allowances_charges)
    node = SubElement(root, "cac:LegalMonetaryTotal")
    _amount(node, "cbc:LineExtensionAmount", totals.line_extension, currency)
    _amount(node, "cbc:TaxExclusiveAmount", totals.tax_exclusive, currency)
    _amount(node, "cbc:TaxInclusiveAmount", totals.tax_inclusive, currency)
    # Optional totals are written when they say something: Peppol wants the allowance and
    # charge totals whenever the document has allowances or charges (BR-CO-11/12).
    if has_allowances or totals.allowance_total:
        _amount(node, "cbc:AllowanceTotalAmount", totals.allowance_total, currency)
    if has_charges or totals.charge_total:
        _amount(node, "cbc:ChargeTotalAmount", totals.charge_total, currency)
    if totals.prepaid:
        _amount(node, "cbc:PrepaidAmount", totals.prepaid, currency)
    if totals.payable_rounding:
        _amount(node, "cbc:PayableRoundingAmount", totals.payable_rounding, currency)
    _amount(node, "cbc:PayableAmount", totals.payable, currency)


def _line(root: Element, doc: UblDocument, line: UblLine) -> None:
    currency = doc.currency
    node = SubElement(root, f"cac:{doc.line_name}")
    _text(node, "cbc:ID", line.line_id)
    quantity_tag = "cbc:InvoicedQuantity" if doc.kind == "invoice" else "cbc:CreditedQuantity"
    _text(node, quantity_tag, _number(line.quantity), {"unitCode": line.unit_code or ""})
    _amount(node, "cbc:LineExtensionAmount", line.net_amount, currency)
    # The model keeps a line's allowances and charges as two sums; each is written as one
    # element with a reason, which Peppol requires (BR-41, BR-42).
    for is_charge, amount in ((False, line.allowance), (True, line.charge)):
        if amount:
            adjustment = SubElement(node, "cac:AllowanceCharge")
            _text(adjustment, "cbc:ChargeIndicator", "true" if is_charge else "false")
            _text(adjustment, "cbc:AllowanceChargeReason",
                  "Line charge" if is_charge else "Line allowance")
            _amount(adjustment, "cbc:Amount", amount, currency)
    item = SubElement(node, "cac:Item")
    _text(item, "cbc:Name", line.description or "-")
    _tax_category(item, "cac:ClassifiedTaxCategory", line.vat_category, line.vat_rate)
    price = SubElement(node, "cac:Price")
    if line.price_amount is not None and line.base_quantity is not None:
        _amount(price, "cbc:PriceAmount", line.price_amount, currency)
        _text(price, "cbc:BaseQuantity", _number(line.base_quantity),
              {"unitCode": line.unit_code or ""})
    else:
        _amount(price, "cbc:PriceAmount", line.unit_price, currency)
