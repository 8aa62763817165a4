"""Rendering Peppol BIS 3.0 UBL: round trips on the shared files and hand-built documents."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from defusedxml import ElementTree as SafeET
from hypothesis import given, settings
from hypothesis import strategies as st

from smbfinance.invoices.calculation import AllowanceCharge, LineInput, compute_totals
from smbfinance.invoices.ogm import format_ogm, generate
from smbfinance.invoices.peppol import (
    PEPPOL_CUSTOMIZATION_ID,
    PEPPOL_PROFILE_ID,
    UblAllowanceCharge,
    UblDocument,
    UblLine,
    UblParty,
    UblPaymentMeans,
    UblTotals,
    UblVatSubtotal,
    check_totals,
    parse_ubl,
    render_ubl,
)
from smbfinance.invoices.peppol.model import unit_price_of
from smbfinance.invoices.peppol.parse import CAC, CBC

FORMATS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "formats"
PEPPOL = FORMATS / "peppol-ubl"
SHARED_FILES = sorted(PEPPOL.glob("*.xml")) if PEPPOL.is_dir() else []
needs_shared = pytest.mark.skipif(
    not PEPPOL.is_dir(), reason=f"shared sample files not found at {PEPPOL} (../shared beside "
                                "the repo)")


def _without_headers(doc: UblDocument) -> UblDocument:
    # render writes the Peppol BIS identifiers whatever the source (UBL.BE, EN 16931) said
    return replace(doc, customization_id=None, profile_id=None)


# --- the shared files ------------------------------------------------------------------------

@needs_shared
@pytest.mark.parametrize("path", SHARED_FILES, ids=[p.name for p in SHARED_FILES])
def test_parse_render_parse_keeps_every_rendered_field(path: Path) -> None:
    original = parse_ubl(path.read_bytes())
    again = parse_ubl(render_ubl(original))
    assert again.lines == original.lines
    assert again.supplier == original.supplier and again.customer == original.customer
    assert again.payment_means == original.payment_means
    assert again.totals == original.totals
    assert again.vat_subtotals == original.vat_subtotals
    assert again.allowances_charges == original.allowances_charges
    assert (again.customization_id, again.profile_id) == (PEPPOL_CUSTOMIZATION_ID,
                                                          PEPPOL_PROFILE_ID)
    # and everything else the model keeps
    assert _without_headers(again) == _without_headers(original)
    assert check_totals(again) == []


def _children(element: object) -> list[str]:
    return [child.tag for child in element]  # type: ignore[attr-defined]


def _same_relative_order(original: object, rendered: object) -> None:
    """The rendered children follow the original's order wherever both have them; the
    originals are the official examples, so their order is the schema's."""
    position = {}
    for index, tag in enumerate(_children(original)):
        position.setdefault(tag, index)
    known = [position[tag] for tag in _children(rendered) if tag in position]
    assert known == sorted(known), (_children(original), _children(rendered))


@needs_shared
@pytest.mark.parametrize("path", SHARED_FILES, ids=[p.name for p in SHARED_FILES])
def test_element_order_matches_the_official_examples(path: Path) -> None:
    original = SafeET.fromstring(path.read_bytes())
    rendered = SafeET.fromstring(render_ubl(parse_ubl(path.read_bytes())))
    _same_relative_order(original, rendered)
    for xpath in ("cac:AccountingSupplierParty/cac:Party", "cac:AccountingCustomerParty/cac:Party",
                  "cac:PaymentMeans", "cac:TaxTotal", "cac:TaxTotal/cac:TaxSubtotal",
                  "cac:LegalMonetaryTotal", "cac:InvoiceLine", "cac:CreditNoteLine",
                  "cac:InvoiceLine/cac:Item", "cac:CreditNoteLine/cac:Item",
                  "cac:InvoiceLine/cac:Price"):
        ns = {"cac": CAC, "cbc": CBC}
        before, after = original.find(xpath, ns), rendered.find(xpath, ns)
        if before is not None and after is not None:
            _same_relative_order(before, after)


# --- hand-built documents --------------------------------------------------------------------

SELLER = UblParty(
    name="Boulangerie Dupont & Fils SRL", trading_name="Dupont <Pain>",
    vat_number="BE0123456749", company_id="0123456749", company_id_scheme="0208",
    endpoint_id="0123456749", endpoint_scheme="0208", email="factures@dupont.be",
    street="Rue Haute 1", city="Bruxelles", postal_code="1000", country_code="BE")
BUYER = UblParty(
    name="Café 't Hoekske BV", vat_number="BE0203201340", company_id="0203201340",
    company_id_scheme="0208", endpoint_id="0203201340", endpoint_scheme="0208",
    street="Grote Markt 5", city="Gent", postal_code="9000", country_code="BE")


def _document(lines: list[UblLine], adjustments: list[UblAllowanceCharge], *,
              kind: str = "invoice", currency: str = "EUR",
              prepaid: Decimal = Decimal(0), **fields: object) -> UblDocument:
    """A document whose totals are computed by calculation.py, as our exports will be."""
    totals = compute_totals(
        [LineInput(quantity=line.quantity, unit_price=line.unit_price, vat_rate=line.vat_rate,
                   vat_category=line.vat_category, allowance=line.allowance,
                   charge=line.charge) for line in lines],
        [AllowanceCharge(a.is_charge, a.amount, a.vat_rate, a.vat_category) for a in adjustments],
        currency=currency, prepaid=prepaid)
    fields.setdefault("type_code", "380" if kind == "invoice" else "381")
    lines = [replace(line, net_amount=net) for line, net in zip(lines, totals.line_nets,
                                                                strict=True)]
    return UblDocument(
        kind=kind, number="2026-0042", issue_date=date(2026, 4, 13), currency=currency,
        customization_id=PEPPOL_CUSTOMIZATION_ID, profile_id=PEPPOL_PROFILE_ID,
        supplier=SELLER, customer=BUYER, lines=tuple(lines),
        allowances_charges=tuple(adjustments),
        vat_subtotals=tuple(UblVatSubtotal(category=b.category, rate=b.rate,
                                           taxable_amount=b.taxable_amount,
                                           tax_amount=b.tax_amount)
                            for b in totals.vat_breakdown),
        totals=UblTotals(line_extension=totals.line_total, tax_exclusive=totals.net,
                         tax_inclusive=totals.gross, allowance_total=totals.allowance_total,
                         charge_total=totals.charge_total, prepaid=totals.prepaid,
                         payable=totals.payable, tax_total=totals.vat),
        **fields,  # type: ignore[arg-type]
    )


def _line(line_id: str, quantity: str, price: str, rate: str, category: str = "S",
          **fields: object) -> UblLine:
    return UblLine(line_id=line_id, description=f"Item {line_id}", quantity=Decimal(quantity),
                   unit_code="C62", unit_price=Decimal(price), net_amount=Decimal(0),
                   vat_category=category, vat_rate=Decimal(rate), **fields)  # type: ignore[arg-type]


OGM = format_ogm(generate(42))


def _belgian_invoice() -> UblDocument:
    return _document(
        [_line("1", "12", "1.35", "6"), _line("2", "3", "19.99", "21", allowance=Decimal("5")),
         _line("3", "1", "250", "0", "AE")],
        [UblAllowanceCharge(is_charge=True, amount=Decimal("7.50"), vat_category="S",
                            vat_rate=Decimal(21), reason="Delivery", reason_code="FC")],
        due_date=date(2026, 5, 13), buyer_reference="PO-77", order_reference="PO-77",
        note="Merci !",
        payment_means=(UblPaymentMeans(code="30", payment_id=OGM, iban="BE68539007547034",
                                       bic="BBRUBEBB"),),
    )


def test_hand_built_invoice_round_trips_exactly() -> None:
    doc = _belgian_invoice()
    assert check_totals(doc) == []
    assert parse_ubl(render_ubl(doc)) == doc


def test_rendered_invoice_content() -> None:
    xml = render_ubl(_belgian_invoice())
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = SafeET.fromstring(xml)
    ns = {"cac": CAC, "cbc": CBC}
    assert root.tag == "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"
    assert root.findtext("cbc:CustomizationID", namespaces=ns) == PEPPOL_CUSTOMIZATION_ID
    assert root.findtext("cbc:ProfileID", namespaces=ns) == PEPPOL_PROFILE_ID
    assert root.findtext("cbc:DueDate", namespaces=ns) == "2026-05-13"
    endpoint = root.find("cac:AccountingSupplierParty/cac:Party/cbc:EndpointID", ns)
    assert endpoint is not None and endpoint.get("schemeID") == "0208"
    assert endpoint.text == "0123456749"
    means = root.find("cac:PaymentMeans", ns)
    assert means is not None
    assert means.findtext("cbc:PaymentMeansCode", namespaces=ns) == "30"
    assert means.findtext("cbc:PaymentID", namespaces=ns) == "+++000/0000/04242+++"
    assert means.findtext("cac:PayeeFinancialAccount/cbc:ID", namespaces=ns) == (
        "BE68539007547034")
    # every amount says its currency
    amounts = [e for e in root.iter() if e.tag.endswith("Amount") and e.tag.startswith(f"{{{CBC}")]
    assert amounts and all(e.get("currencyID") == "EUR" for e in amounts)
    # special characters are escaped, and come back
    assert b"Dupont &amp; Fils" in xml and b"Dupont &lt;Pain&gt;" in xml
    # reverse charge keeps its rate element (0); the line allowance has a reason
    ae = root.find("cac:InvoiceLine[3]/cac:Item/cac:ClassifiedTaxCategory", ns)
    assert ae is not None and ae.findtext("cbc:Percent", namespaces=ns) == "0"
    reason = root.findtext("cac:InvoiceLine[2]/cac:AllowanceCharge/cbc:AllowanceChargeReason",
                           namespaces=ns)
    assert reason == "Line allowance"


def test_totals_of_the_hand_built_invoice() -> None:
    doc = _belgian_invoice()
    # 12 x 1.35 = 16.20 at 6%; 3 x 19.99 - 5 = 54.97 + 7.50 delivery at 21%; 250 AE
    assert [line.net_amount for line in doc.lines] == [Decimal("16.20"), Decimal("54.97"),
                                                       Decimal("250.00")]
    assert doc.totals.tax_exclusive == Decimal("328.67")
    # 6% of 16.20 = 0.972 -> 0.97; 21% of 62.47 = 13.1187 -> 13.12
    assert doc.totals.tax_total == Decimal("14.09")
    assert doc.totals.payable == Decimal("342.76")


def test_credit_note_round_trip_with_due_date_in_payment_means() -> None:
    doc = _document(
        [_line("1", "2", "50", "21")], [], kind="credit_note", billing_reference="2026-0041",
        due_date=date(2026, 5, 1), type_code="381",
        payment_means=(UblPaymentMeans(code="30", payment_id=OGM, iban="BE68539007547034"),))
    xml = render_ubl(doc)
    root = SafeET.fromstring(xml)
    ns = {"cac": CAC, "cbc": CBC}
    assert root.tag.endswith("}CreditNote")
    assert root.find("cbc:DueDate", ns) is None
    assert root.findtext("cac:PaymentMeans/cbc:PaymentDueDate", namespaces=ns) == "2026-05-01"
    assert root.findtext("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID",
                         namespaces=ns) == "2026-0041"
    assert root.find("cac:CreditNoteLine/cbc:CreditedQuantity", ns) is not None
    assert parse_ubl(xml) == doc


def test_not_subject_to_vat_has_no_rate() -> None:
    doc = _document([_line("1", "1", "100", "0", "O")], [])
    root = SafeET.fromstring(render_ubl(doc))
    ns = {"cac": CAC, "cbc": CBC}
    category = root.find("cac:InvoiceLine/cac:Item/cac:ClassifiedTaxCategory", ns)
    assert category is not None and category.find("cbc:Percent", ns) is None
    assert parse_ubl(render_ubl(doc)) == doc


def test_price_with_a_base_quantity_is_written_as_given() -> None:
    line = _line("1", "30", unit_price_of(Decimal("10"), Decimal("12")).to_eng_string(), "21",
                 price_amount=Decimal("10"), base_quantity=Decimal("12"))
    doc = _document([line], [])
    xml = render_ubl(doc)
    assert b'<cbc:PriceAmount currencyID="EUR">10</cbc:PriceAmount>' in xml
    assert b'<cbc:BaseQuantity unitCode="C62">12</cbc:BaseQuantity>' in xml
    again = parse_ubl(xml)
    assert again == doc
    assert again.lines[0].net_amount == Decimal("25.00")


def test_amounts_never_use_exponents() -> None:
    doc = _document([_line("1", "1E+1", "1E+2", "21")], [])
    xml = render_ubl(doc)
    assert b"E+" not in xml
    assert b'<cbc:InvoicedQuantity unitCode="C62">10</cbc:InvoicedQuantity>' in xml
    assert parse_ubl(xml) == doc


def test_optional_totals_are_written_only_when_they_say_something() -> None:
    plain = SafeET.fromstring(render_ubl(_document([_line("1", "1", "10", "21")], [])))
    ns = {"cac": CAC, "cbc": CBC}
    monetary = plain.find("cac:LegalMonetaryTotal", ns)
    assert monetary is not None
    assert [child.tag.rpartition("}")[2] for child in monetary] == [
        "LineExtensionAmount", "TaxExclusiveAmount", "TaxInclusiveAmount", "PayableAmount"]
    prepaid = _document([_line("1", "1", "10", "21")], [], prepaid=Decimal("5"))
    assert b"<cbc:PrepaidAmount" in render_ubl(prepaid)
    assert parse_ubl(render_ubl(prepaid)) == prepaid


# --- property: any document we compute renders and parses back to itself -------------------

amounts = st.decimals(min_value=Decimal("-500"), max_value=Decimal("5000"), places=2,
                      allow_nan=False, allow_infinity=False)
quantities = st.decimals(min_value=Decimal("-20"), max_value=Decimal("200"), places=3,
                         allow_nan=False, allow_infinity=False).filter(lambda q: q != 0)
vat = st.sampled_from([("S", "21"), ("S", "12"), ("S", "6"), ("Z", "0"), ("E", "0"),
                       ("AE", "0"), ("O", "0")])


@st.composite
def documents(draw: st.DrawFn) -> UblDocument:
    lines = []
    for index in range(draw(st.integers(min_value=1, max_value=6))):
        category, rate = draw(vat)
        lines.append(_line(str(index + 1), str(draw(quantities)), str(draw(amounts)), rate,
                           category,
                           allowance=draw(st.sampled_from([Decimal(0), Decimal("1.50")])),
                           charge=draw(st.sampled_from([Decimal(0), Decimal("0.25")]))))
    adjustments = [
        UblAllowanceCharge(is_charge=draw(st.booleans()), amount=draw(amounts).copy_abs(),
                           vat_category=lines[0].vat_category, vat_rate=lines[0].vat_rate,
                           reason="Adjustment")
        for _ in range(draw(st.integers(min_value=0, max_value=2)))]
    kind = draw(st.sampled_from(["invoice", "credit_note"]))
    currency = draw(st.sampled_from(["EUR", "USD", "JPY"]))
    if currency == "JPY":
        lines = [replace(line, unit_price=line.unit_price.to_integral_value(),
                         allowance=Decimal(0), charge=Decimal(0)) for line in lines]
        adjustments = [replace(a, amount=a.amount.to_integral_value()) for a in adjustments]
    return _document(lines, adjustments, kind=kind, currency=currency,
                     payment_means=(UblPaymentMeans(code="30", payment_id=OGM),))


@settings(max_examples=150, deadline=None)
@given(documents())
def test_property_render_then_parse_is_identity(doc: UblDocument) -> None:
    assert check_totals(doc) == []
    again = parse_ubl(render_ubl(doc))
    assert again == doc
    assert check_totals(again) == []
