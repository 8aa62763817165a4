"""Peppol BIS 3.0 / UBL 2.1 parsing and totals checking, on every shared sample file."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from smbfinance.invoices.calculation import LineInput, line_net
from smbfinance.invoices.peppol import (
    TotalsMismatch,
    UblDocument,
    UblError,
    UblLine,
    UblParty,
    UblTotals,
    UblVatSubtotal,
    check_totals,
    parse_ubl,
)
from smbfinance.invoices.peppol.model import unit_price_of
from smbfinance.invoices.peppol.reconcile import recompute

FORMATS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "formats"
PEPPOL = FORMATS / "peppol-ubl"
needs_shared = pytest.mark.skipif(
    not PEPPOL.is_dir(), reason=f"shared sample files not found at {PEPPOL} (../shared beside "
                                "the repo)")

# Read by eye from each file: kind, cbc:ID, DocumentCurrencyCode, number of lines, PayableAmount.
EXPECTED = {
    "en16931__ubl-tc434-creditnote1.xml": ("credit_note", "018304 / 28865", "EUR", 1, "100.11"),
    "peppol-bis__Allowance-example.xml": ("invoice", "Snippet1", "EUR", 3, "6125.00"),
    "peppol-bis__Vat-category-S.xml": ("invoice", "Snippet1", "EUR", 3, "8550"),
    "peppol-bis__base-creditnote-correction.xml": ("credit_note", "Snippet1", "EUR", 2, "1656.25"),
    "peppol-bis__base-example.xml": ("invoice", "Snippet1", "EUR", 2, "1656.25"),
    "peppol-bis__vat-category-E.xml": ("invoice", "Vat-Z", "GBP", 1, "1200.00"),
    "peppol-bis__vat-category-Z.xml": ("invoice", "Vat-Z", "GBP", 1, "1200.00"),
    "ublbe-v1.1__UBLBE_BE0000000196_V01-15000001.xml": ("invoice", "V01/15000001", "EUR", 1, "484"),
    "ublbe-v1.1__UBLBE_BE0000000196_V01-15000002.xml":
        ("credit_note", "V01/15000002", "EUR", 1, "484"),
    "ublbe-v1.1__UBLBE_BE0000000196_V01-15000004.xml":
        ("invoice", "V01/15000004", "EUR", 4, "3456"),
    "ublbe-v1.1__UBLBE_BE0000000196_V01-15000006.xml":
        ("invoice", "V01/15000006", "EUR", 1, "474.32"),
    "ublbe-v1.1__UBLBE_BE0000000196_V01-15000008.xml": ("invoice", "V01/15000008", "EUR", 1, "400"),
    "ublbe-v1.1__UBLBE_BE0000000196_V01-15000019.xml":
        ("invoice", "V01/15000019", "EUR", 10, "189.66"),
    "ublbe-v1.31__UBLBE_BE0000000196_V01-15000001.xml":
        ("invoice", "V01/15000001", "EUR", 1, "484"),
}


def _read(name: str) -> bytes:
    return (PEPPOL / name).read_bytes()


def _parse(name: str) -> UblDocument:
    return parse_ubl(_read(name))


# --- every shared file -----------------------------------------------------------------------

@needs_shared
def test_the_table_covers_every_shared_file() -> None:
    assert sorted(p.name for p in PEPPOL.iterdir()) == sorted(EXPECTED)


@needs_shared
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_shared_file_parses_and_its_totals_add_up(name: str) -> None:
    kind, number, currency, line_count, payable = EXPECTED[name]
    doc = _parse(name)
    assert (doc.kind, doc.number, doc.currency, len(doc.lines)) == (
        kind, number, currency, line_count)
    assert doc.totals.payable == Decimal(payable)
    assert check_totals(doc) == []
    # the VAT breakdown is the document-currency one and adds up to its TaxAmount
    assert sum(s.tax_amount for s in doc.vat_subtotals) == doc.totals.tax_total


# --- what is read, file by file --------------------------------------------------------------

@needs_shared
def test_base_example() -> None:
    doc = _parse("peppol-bis__base-example.xml")
    assert doc.issue_date == date(2017, 11, 13) and doc.due_date == date(2017, 12, 1)
    assert doc.type_code == "380" and doc.buyer_reference == "0150abc"
    assert doc.customization_id == (
        "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0")
    assert doc.profile_id == "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
    assert doc.supplier == UblParty(
        name="SupplierOfficialName Ltd", trading_name="SupplierTradingName Ltd.",
        vat_number="GB1232434", company_id="GB983294", company_id_scheme=None,
        endpoint_id="9482348239847239874", endpoint_scheme="0088", email=None,
        street="Main street 1", city="London", postal_code="GB 123 EW", country_code="GB")
    assert doc.customer.company_id == "39937423947"
    assert doc.customer.company_id_scheme == "0183"
    assert doc.customer.endpoint_scheme == "0002" and doc.customer.endpoint_id == "FR23342"
    assert doc.customer.email == "lj@buyer.se"
    (means,) = doc.payment_means
    assert (means.code, means.payment_id, means.iban, means.bic) == (
        "30", "Snippet1", "IBAN32423940", "BIC324098")
    (charge,) = doc.allowances_charges
    assert charge.is_charge and charge.amount == 25 and charge.reason == "Insurance"
    assert (charge.vat_category, charge.vat_rate) == ("S", Decimal(25))
    first, second = doc.lines
    assert (first.quantity, first.unit_code, first.unit_price, first.net_amount) == (
        7, "DAY", 400, 2800)
    assert first.description == "item name"
    assert (second.quantity, second.net_amount) == (-3, -1500)
    assert doc.totals == UblTotals(
        line_extension=Decimal(1300), tax_exclusive=Decimal(1325),
        tax_inclusive=Decimal("1656.25"), allowance_total=Decimal(0),
        charge_total=Decimal(25), prepaid=Decimal(0), payable_rounding=Decimal(0),
        payable=Decimal("1656.25"), tax_total=Decimal("331.25"))


@needs_shared
def test_allowance_example_counts_only_the_tax_total_in_the_document_currency() -> None:
    doc = _parse("peppol-bis__Allowance-example.xml")
    # the second TaxTotal says 9324.00 SEK (TaxCurrencyCode); ours is the EUR one
    assert doc.totals.tax_total == Decimal("1225.00")
    assert [(s.category, s.rate, s.taxable_amount, s.tax_amount) for s in doc.vat_subtotals] == [
        ("S", Decimal(25), Decimal(4900), Decimal(1225)),
        ("E", Decimal(0), Decimal(1000), Decimal(0))]
    assert doc.vat_subtotals[1].exemption_reason == "Reason for tax exempt"
    assert doc.totals.prepaid == 1000 and doc.totals.payable == Decimal("6125.00")
    assert [(a.is_charge, a.amount, a.reason_code) for a in doc.allowances_charges] == [
        (True, 200, "CG"), (False, 200, "95")]
    line1, line2, line3 = doc.lines
    # line allowances/charges count; the one under cac:Price is already in PriceAmount
    assert (line1.allowance, line1.charge, line1.unit_price) == (101, 1, 410)
    # PriceAmount 200 per BaseQuantity 2
    assert (line2.unit_price, line2.price_amount, line2.base_quantity) == (100, 200, 2)
    assert (line2.vat_category, line2.vat_rate) == ("E", 0)
    assert (line3.allowance, line3.charge, line3.net_amount) == (101, 1, 900)
    assert doc.note == "Please note we have a new phone number: 22 22 22 22"


@needs_shared
def test_vat_category_s_has_two_standard_rates() -> None:
    doc = _parse("peppol-bis__Vat-category-S.xml")
    assert {(s.rate, s.tax_amount) for s in doc.vat_subtotals} == {(25, 1250), (15, 300)}
    assert recompute(doc).vat == Decimal(1550)


@needs_shared
def test_credit_note_correction() -> None:
    doc = _parse("peppol-bis__base-creditnote-correction.xml")
    assert doc.kind == "credit_note" and doc.type_code == "381"
    assert doc.billing_reference == "Snippet1"
    assert doc.due_date is None
    # cac:CreditNoteLine / cbc:CreditedQuantity
    assert [(line.line_id, line.quantity, line.net_amount) for line in doc.lines] == [
        ("1", 7, 2800), ("2", -3, -1500)]


@needs_shared
def test_en16931_credit_note() -> None:
    doc = _parse("en16931__ubl-tc434-creditnote1.xml")
    assert doc.customization_id == "urn:cen.eu:en16931:2017"
    assert doc.supplier.endpoint_scheme == "0201"
    assert doc.supplier.vat_number == "BE0000000196"
    assert doc.customer.vat_number == "BE0000000295"
    (means,) = doc.payment_means
    assert (means.code, means.payment_id, means.iban) == ("1", "010676609538", "BE91000000143476")
    (line,) = doc.lines
    assert line.description == "Exonération du versement du PP"
    assert (line.vat_category, line.quantity) == ("E", Decimal("1.00"))


@needs_shared
def test_file_named_category_e_is_category_e() -> None:
    # its comment and ID say "Z", its content says E with VATEX-EU-F
    doc = _parse("peppol-bis__vat-category-E.xml")
    (subtotal,) = doc.vat_subtotals
    assert (subtotal.category, subtotal.exemption_reason_code) == ("E", "VATEX-EU-F")
    assert doc.customer.endpoint_scheme == "0184" and doc.customer.vat_number is None
    assert doc.customer.name == "The Buyercompany" and doc.customer.trading_name is None


@needs_shared
def test_ublbe_case_1() -> None:
    doc = _parse("ublbe-v1.1__UBLBE_BE0000000196_V01-15000001.xml")
    assert doc.customization_id == "urn:cen.eu:en16931:2017#conformant#urn:UBL.BE:1.0.0.20180214"
    assert doc.due_date == date(2018, 5, 9) and doc.order_reference == "YR127129"
    assert doc.note == "Testcase 1"
    assert doc.supplier == UblParty(
        name="My Supplier Company", trading_name="My Supplier Company N.V.",
        vat_number="BE0000000196", company_id="0000000196", company_id_scheme="9956",
        endpoint_id="0000000196", endpoint_scheme="9956",
        email="john.doole@mysuppliercompany.be", street="De Grote Meir 22",
        city="ANTWERPEN", postal_code="2000", country_code="BE")
    (means,) = doc.payment_means
    assert (means.payment_id, means.iban, means.bic) == (
        "Invoice 15000001", "BE54000000000097", "BPOTBEB1")
    (line,) = doc.lines
    assert (line.unit_code, line.vat_category, line.vat_rate) == ("ZZ", "S", 21)


@needs_shared
def test_ublbe_v131_uses_the_enterprise_number_scheme_0208() -> None:
    doc = _parse("ublbe-v1.31__UBLBE_BE0000000196_V01-15000001.xml")
    assert (doc.supplier.endpoint_scheme, doc.supplier.endpoint_id) == ("0208", "0000000196")
    assert (doc.customer.company_id_scheme, doc.customer.company_id) == ("0208", "0000000295")
    assert doc.lines == _parse("ublbe-v1.1__UBLBE_BE0000000196_V01-15000001.xml").lines


@needs_shared
def test_ublbe_belgian_rates_and_line_discount() -> None:
    four = _parse("ublbe-v1.1__UBLBE_BE0000000196_V01-15000004.xml")
    assert [(line.vat_category, line.vat_rate) for line in four.lines] == [
        ("Z", 0), ("S", 6), ("S", 12), ("S", 21)]
    # the README calls case 6 a document-level discount; it is on the line
    six = _parse("ublbe-v1.1__UBLBE_BE0000000196_V01-15000006.xml")
    assert six.allowances_charges == ()
    assert (six.lines[0].allowance, six.lines[0].net_amount) == (8, 392)
    eight = _parse("ublbe-v1.1__UBLBE_BE0000000196_V01-15000008.xml")
    assert eight.vat_subtotals[0].category == "AE"
    assert eight.vat_subtotals[0].exemption_reason_code == "BETE-45"


@needs_shared
def test_ublbe_case_19_line_nets_with_four_decimals() -> None:
    doc = _parse("ublbe-v1.1__UBLBE_BE0000000196_V01-15000019.xml")
    # kept as written ...
    assert str(doc.lines[0].net_amount) == "9.4650"
    # ... while the document's own totals use the line net rounded to the cent
    totals = recompute(doc)
    assert totals.line_nets[0] == Decimal("9.47")
    assert totals.line_total == doc.totals.line_extension == Decimal("185.08")
    assert check_totals(doc) == []


# --- structural errors -----------------------------------------------------------------------

MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:ID>INV-1</cbc:ID>
 <cbc:IssueDate>2026-04-13</cbc:IssueDate>
 <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
 <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
 <cac:AccountingSupplierParty><cac:Party>
  <cac:PartyLegalEntity>
   <cbc:RegistrationName>Seller BV</cbc:RegistrationName></cac:PartyLegalEntity>
 </cac:Party></cac:AccountingSupplierParty>
 <cac:AccountingCustomerParty><cac:Party>
  <cac:PartyName><cbc:Name>Buyer</cbc:Name></cac:PartyName>
 </cac:Party></cac:AccountingCustomerParty>
 <cac:TaxTotal><cbc:TaxAmount currencyID="EUR">21.00</cbc:TaxAmount>
  <cac:TaxSubtotal><cbc:TaxableAmount currencyID="EUR">100.00</cbc:TaxableAmount>
   <cbc:TaxAmount currencyID="EUR">21.00</cbc:TaxAmount>
   <cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>21</cbc:Percent></cac:TaxCategory>
  </cac:TaxSubtotal></cac:TaxTotal>
 <cac:LegalMonetaryTotal>
  <cbc:LineExtensionAmount currencyID="EUR">100.00</cbc:LineExtensionAmount>
  <cbc:TaxExclusiveAmount currencyID="EUR">100.00</cbc:TaxExclusiveAmount>
  <cbc:TaxInclusiveAmount currencyID="EUR">121.00</cbc:TaxInclusiveAmount>
  <cbc:PayableAmount currencyID="EUR">121.00</cbc:PayableAmount>
 </cac:LegalMonetaryTotal>
 <cac:InvoiceLine><cbc:ID>1</cbc:ID>
  <cbc:InvoicedQuantity unitCode="C62">4</cbc:InvoicedQuantity>
  <cbc:LineExtensionAmount currencyID="EUR">100.00</cbc:LineExtensionAmount>
  <cac:Item><cbc:Name>Consulting</cbc:Name>
   <cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>21</cbc:Percent></cac:ClassifiedTaxCategory>
  </cac:Item>
  <cac:Price><cbc:PriceAmount currencyID="EUR">25.00</cbc:PriceAmount></cac:Price>
 </cac:InvoiceLine>
</Invoice>
"""


def _minimal(old: str = "", new: str = "") -> bytes:
    assert old in MINIMAL
    return MINIMAL.replace(old, new, 1).encode()


def _error(data: bytes) -> UblError:
    with pytest.raises(UblError) as error:
        parse_ubl(data)
    assert isinstance(error.value, ValueError)
    assert str(error.value).startswith(error.value.path)
    return error.value


def test_minimal_invoice_parses() -> None:
    doc = parse_ubl(_minimal())
    assert doc.supplier.name == "Seller BV" and doc.customer.name == "Buyer"
    assert doc.type_code == "380" and doc.customization_id is None and doc.due_date is None
    assert check_totals(doc) == []


@pytest.mark.parametrize("data", [b"", b"not xml at all", b"<Invoice>", b"\xff\xfe<a/>",
                                  MINIMAL.encode()[:-30]])
def test_malformed_xml(data: bytes) -> None:
    error = _error(data)
    assert error.path == "/"
    assert "not well-formed XML" in error.message


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:ID>&lol4;</cbc:ID></Invoice>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Invoice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:ID>&xxe;</cbc:ID></Invoice>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Invoice SYSTEM "http://attacker.example/ubl.dtd">
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, XXE, EXTERNAL_DTD],
                         ids=["billion-laughs", "xxe", "external-dtd"])
def test_doctype_and_entity_tricks_are_refused(data: bytes) -> None:
    error = _error(data)
    assert error.path == "/"
    assert "DOCTYPE" in error.message


@pytest.mark.parametrize(("data", "root", "words"), [
    (b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>', "/Order",
     "'Order' in namespace 'urn:oasis:names:specification:ubl:schema:xsd:Order-2'"),
    (b'<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:'
     b'CrossIndustryInvoice:100"/>', "/CrossIndustryInvoice", "'CrossIndustryInvoice'"),
    (b"<Invoice><ID>1</ID></Invoice>", "/Invoice", "'Invoice' (no namespace)"),
    (b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"/>', "/Invoice",
     "'Invoice' in namespace"),
])
def test_a_root_that_is_not_ubl_invoice_or_credit_note_is_named(
        data: bytes, root: str, words: str) -> None:
    error = _error(data)
    assert error.path == root
    assert words in error.message
    assert "neither a UBL Invoice" in error.message


@pytest.mark.parametrize(("old", "path"), [
    ("<cbc:PayableAmount currencyID=\"EUR\">121.00</cbc:PayableAmount>",
     "/Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount"),
    ("<cbc:ID>INV-1</cbc:ID>", "/Invoice/cbc:ID"),
    ("<cbc:IssueDate>2026-04-13</cbc:IssueDate>", "/Invoice/cbc:IssueDate"),
    ("<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>",
     "/Invoice/cbc:DocumentCurrencyCode"),
    ("<cbc:TaxExclusiveAmount currencyID=\"EUR\">100.00</cbc:TaxExclusiveAmount>",
     "/Invoice/cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount"),
    ("<cac:Price><cbc:PriceAmount currencyID=\"EUR\">25.00</cbc:PriceAmount></cac:Price>",
     "/Invoice/cac:InvoiceLine[1]/cac:Price"),
    ("<cbc:InvoicedQuantity unitCode=\"C62\">4</cbc:InvoicedQuantity>",
     "/Invoice/cac:InvoiceLine[1]/cbc:InvoicedQuantity"),
    ("<cbc:ID>S</cbc:ID><cbc:Percent>21</cbc:Percent></cac:ClassifiedTaxCategory>",
     "/Invoice/cac:InvoiceLine[1]/cac:Item/cac:ClassifiedTaxCategory/cbc:ID"),
])
def test_a_missing_required_element_is_named(old: str, path: str) -> None:
    replacement = "</cac:ClassifiedTaxCategory>" if "ClassifiedTaxCategory" in old else ""
    error = _error(_minimal(old, replacement))
    assert error.path == path
    assert "missing" in error.message


def test_missing_parties_and_lines_are_named() -> None:
    start, end = MINIMAL.index("<cac:AccountingSupplierParty>"), MINIMAL.index(
        "<cac:AccountingCustomerParty>")
    error = _error(_minimal(MINIMAL[start:end]))
    assert error.path == "/Invoice/cac:AccountingSupplierParty"
    start, end = MINIMAL.index("<cac:AccountingCustomerParty>"), MINIMAL.index("<cac:TaxTotal>")
    assert _error(_minimal(MINIMAL[start:end])).path == "/Invoice/cac:AccountingCustomerParty"
    start, end = MINIMAL.index("<cac:InvoiceLine>"), MINIMAL.index("</Invoice>")
    error = _error(_minimal(MINIMAL[start:end]))
    assert error.path == "/Invoice/cac:InvoiceLine"
    assert "at least one line" in error.message


def test_a_party_without_any_name() -> None:
    error = _error(_minimal("<cac:PartyName><cbc:Name>Buyer</cbc:Name></cac:PartyName>"))
    assert error.path == ("/Invoice/cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity"
                          "/cbc:RegistrationName")


def test_an_empty_required_element() -> None:
    error = _error(_minimal("<cbc:ID>INV-1</cbc:ID>", "<cbc:ID>  </cbc:ID>"))
    assert (error.path, error.message) == ("/Invoice/cbc:ID", "required element is empty")


@pytest.mark.parametrize(("old", "new", "path"), [
    (">121.00</cbc:PayableAmount>", ">1,21.00</cbc:PayableAmount>",
     "/Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount"),
    (">121.00</cbc:PayableAmount>", ">1.21E+2</cbc:PayableAmount>",
     "/Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount"),
    (">121.00</cbc:PayableAmount>", ">NaN</cbc:PayableAmount>",
     "/Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount"),
    (">2026-04-13<", ">13/04/2026<", "/Invoice/cbc:IssueDate"),
    (">2026-04-13<", ">2026-02-30<", "/Invoice/cbc:IssueDate"),
    (">4</cbc:InvoicedQuantity>", ">four</cbc:InvoicedQuantity>",
     "/Invoice/cac:InvoiceLine[1]/cbc:InvoicedQuantity"),
    (">25.00</cbc:PriceAmount>", ">25,00</cbc:PriceAmount>",
     "/Invoice/cac:InvoiceLine[1]/cac:Price/cbc:PriceAmount"),
    ("<cbc:Percent>21</cbc:Percent></cac:TaxCategory>",
     "<cbc:Percent>21%</cbc:Percent></cac:TaxCategory>",
     "/Invoice/cac:TaxTotal/cac:TaxSubtotal[1]/cac:TaxCategory/cbc:Percent"),
])
def test_a_malformed_number_or_date_is_named(old: str, new: str, path: str) -> None:
    error = _error(_minimal(old, new))
    assert error.path == path
    assert "is not a" in error.message


def test_a_date_with_a_time_zone_is_accepted() -> None:
    doc = parse_ubl(_minimal(">2026-04-13<", ">2026-04-13+02:00<"))
    assert doc.issue_date == date(2026, 4, 13)


def test_a_malformed_number_on_the_second_line_names_that_line() -> None:
    start = MINIMAL.index("<cac:InvoiceLine>")
    line = MINIMAL[start:MINIMAL.index("</Invoice>")]
    second = line.replace("<cbc:ID>1</cbc:ID>", "<cbc:ID>2</cbc:ID>").replace(
        ">100.00</cbc:LineExtensionAmount>", ">abc</cbc:LineExtensionAmount>")
    error = _error(_minimal("</Invoice>", second + "</Invoice>"))
    assert error.path == "/Invoice/cac:InvoiceLine[2]/cbc:LineExtensionAmount"


def test_an_amount_in_another_currency_is_refused() -> None:
    error = _error(_minimal('currencyID="EUR">121.00</cbc:PayableAmount>',
                            'currencyID="USD">121.00</cbc:PayableAmount>'))
    assert error.path == "/Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount/@currencyID"
    assert "USD" in error.message


def test_a_non_boolean_charge_indicator() -> None:
    error = _error(_minimal("</cac:InvoiceLine>",
                            "</cac:InvoiceLine>").replace(
        b"<cac:Item>", b'<cac:AllowanceCharge><cbc:ChargeIndicator>yes</cbc:ChargeIndicator>'
                       b'<cbc:Amount currencyID="EUR">1</cbc:Amount></cac:AllowanceCharge>'
                       b"<cac:Item>"))
    assert error.path == "/Invoice/cac:InvoiceLine[1]/cac:AllowanceCharge[1]/cbc:ChargeIndicator"


def test_a_zero_base_quantity() -> None:
    error = _error(_minimal("</cbc:PriceAmount>",
                            "</cbc:PriceAmount><cbc:BaseQuantity>0</cbc:BaseQuantity>"))
    assert error.path == "/Invoice/cac:InvoiceLine[1]/cac:Price/cbc:BaseQuantity"


def test_two_tax_totals_in_the_document_currency_are_ambiguous() -> None:
    extra = '<cac:TaxTotal><cbc:TaxAmount currencyID="EUR">21.00</cbc:TaxAmount></cac:TaxTotal>'
    error = _error(_minimal("<cac:LegalMonetaryTotal>", extra + "<cac:LegalMonetaryTotal>"))
    assert error.path == "/Invoice/cac:TaxTotal[2]"


def test_a_tax_total_in_the_tax_currency_only_is_not_counted() -> None:
    extra = '<cac:TaxTotal><cbc:TaxAmount currencyID="SEK">230.00</cbc:TaxAmount></cac:TaxTotal>'
    doc = parse_ubl(_minimal("<cac:LegalMonetaryTotal>", extra + "<cac:LegalMonetaryTotal>"))
    assert doc.totals.tax_total == Decimal("21.00")
    assert check_totals(doc) == []


def test_identifiers_are_compacted() -> None:
    party = ("<cac:Party><cbc:EndpointID schemeID=\"0208\">0123.456.749</cbc:EndpointID>"
             "<cac:PartyTaxScheme><cbc:CompanyID>be 0123.456.749</cbc:CompanyID>"
             "<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>"
             "<cac:PartyLegalEntity><cbc:RegistrationName>Seller BV</cbc:RegistrationName>"
             "<cbc:CompanyID schemeID=\"0208\">0123 456 749</cbc:CompanyID>"
             "</cac:PartyLegalEntity></cac:Party>")
    start = MINIMAL.index("<cac:Party>")
    end = MINIMAL.index("</cac:AccountingSupplierParty>")
    doc = parse_ubl(_minimal(MINIMAL[start:end], party))
    assert doc.supplier.vat_number == "BE0123456749"
    assert (doc.supplier.company_id, doc.supplier.company_id_scheme) == ("0123456749", "0208")
    assert (doc.supplier.endpoint_id, doc.supplier.endpoint_scheme) == ("0123456749", "0208")


def test_a_non_vat_tax_scheme_is_not_the_vat_number() -> None:
    scheme = ("<cac:PartyTaxScheme><cbc:CompanyID>SE556677889901</cbc:CompanyID>"
              "<cac:TaxScheme><cbc:ID>TAX</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>")
    doc = parse_ubl(_minimal("<cac:PartyLegalEntity>", scheme + "<cac:PartyLegalEntity>"))
    assert doc.supplier.vat_number is None


def test_credit_note_due_date_comes_from_payment_means() -> None:
    data = (MINIMAL.replace("xsd:Invoice-2", "xsd:CreditNote-2")
            .replace("<Invoice ", "<CreditNote ").replace("</Invoice>", "</CreditNote>")
            .replace("InvoiceTypeCode>380</cbc:InvoiceTypeCode",
                     "CreditNoteTypeCode>381</cbc:CreditNoteTypeCode")
            .replace("cac:InvoiceLine", "cac:CreditNoteLine")
            .replace("cbc:InvoicedQuantity", "cbc:CreditedQuantity")
            .replace("<cac:TaxTotal>", "<cac:PaymentMeans><cbc:PaymentMeansCode>30"
                     "</cbc:PaymentMeansCode><cbc:PaymentDueDate>2026-05-13</cbc:PaymentDueDate>"
                     "<cbc:PaymentID>+++123/4567/89002+++</cbc:PaymentID></cac:PaymentMeans>"
                     "<cac:TaxTotal>", 1))
    doc = parse_ubl(data.encode())
    assert doc.kind == "credit_note" and doc.type_code == "381"
    assert doc.due_date == date(2026, 5, 13)
    assert doc.payment_means[0].payment_id == "+++123/4567/89002+++"
    assert check_totals(doc) == []
    # an InvoiceLine in a credit note is not a line of it
    broken = data.replace("cac:CreditNoteLine", "cac:InvoiceLine").encode()
    assert _error(broken).path == "/CreditNote/cac:CreditNoteLine"


# --- totals checking -------------------------------------------------------------------------

@needs_shared
def test_a_tampered_tax_inclusive_amount_is_one_mismatch() -> None:
    data = _read("peppol-bis__base-example.xml").replace(
        b'<cbc:TaxInclusiveAmount currencyID="EUR">1656.25</cbc:TaxInclusiveAmount>',
        b'<cbc:TaxInclusiveAmount currencyID="EUR">1656.26</cbc:TaxInclusiveAmount>')
    assert check_totals(parse_ubl(data)) == [TotalsMismatch(
        "/Invoice/cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount",
        Decimal("1656.25"), Decimal("1656.26"))]


@needs_shared
def test_a_tampered_line_net_is_named_by_line() -> None:
    data = _read("peppol-bis__base-creditnote-correction.xml").replace(
        b'<cbc:LineExtensionAmount currencyID="EUR">-1500</cbc:LineExtensionAmount>',
        b'<cbc:LineExtensionAmount currencyID="EUR">-1400</cbc:LineExtensionAmount>')
    (mismatch,) = check_totals(parse_ubl(data))
    assert mismatch.path == "/CreditNote/cac:CreditNoteLine[2]/cbc:LineExtensionAmount"
    assert (mismatch.expected, mismatch.found) == (Decimal(-1500), Decimal(-1400))


@needs_shared
def test_a_tampered_vat_subtotal_and_total() -> None:
    data = _read("ublbe-v1.1__UBLBE_BE0000000196_V01-15000004.xml").replace(
        b'<cbc:TaxAmount currencyID="EUR">96</cbc:TaxAmount>\n\t\t\t<cac:TaxCategory>',
        b'<cbc:TaxAmount currencyID="EUR">97</cbc:TaxAmount>\n\t\t\t<cac:TaxCategory>')
    assert check_totals(parse_ubl(data)) == [TotalsMismatch(
        "/Invoice/cac:TaxTotal/cac:TaxSubtotal[3]/cbc:TaxAmount", Decimal(96), Decimal(97),
        "VAT S 12%")]
    data = data.replace(b'<cbc:TaxAmount currencyID="EUR">456</cbc:TaxAmount>',
                        b'<cbc:TaxAmount currencyID="EUR">457</cbc:TaxAmount>')
    paths = [m.path for m in check_totals(parse_ubl(data))]
    assert paths == ["/Invoice/cac:TaxTotal/cbc:TaxAmount",
                     "/Invoice/cac:TaxTotal/cac:TaxSubtotal[3]/cbc:TaxAmount"]


def test_a_missing_or_unexpected_vat_subtotal() -> None:
    doc = parse_ubl(_minimal(">S</cbc:ID><cbc:Percent>21</cbc:Percent></cac:TaxCategory>",
                             ">S</cbc:ID><cbc:Percent>6</cbc:Percent></cac:TaxCategory>"))
    mismatches = check_totals(doc)
    assert [(m.path, m.expected, m.found) for m in mismatches] == [
        ("/Invoice/cac:TaxTotal/cac:TaxSubtotal[1]/cbc:TaxableAmount", None, Decimal(100)),
        ("/Invoice/cac:TaxTotal/cac:TaxSubtotal", Decimal(100), None),
    ]
    assert "S 6%" in mismatches[0].detail and "S 21%" in mismatches[1].detail


def test_prepaid_and_rounding_flow_into_the_payable_amount() -> None:
    doc = parse_ubl(_minimal(
        '<cbc:PayableAmount currencyID="EUR">121.00</cbc:PayableAmount>',
        '<cbc:PrepaidAmount currencyID="EUR">20.00</cbc:PrepaidAmount>'
        '<cbc:PayableRoundingAmount currencyID="EUR">0.01</cbc:PayableRoundingAmount>'
        '<cbc:PayableAmount currencyID="EUR">101.01</cbc:PayableAmount>'))
    assert (doc.totals.prepaid, doc.totals.payable_rounding) == (20, Decimal("0.01"))
    assert check_totals(doc) == []
    wrong = parse_ubl(_minimal(">121.00</cbc:PayableAmount>", ">120.00</cbc:PayableAmount>"))
    assert check_totals(wrong) == [TotalsMismatch(
        "/Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount", Decimal("121.00"),
        Decimal("120.00"))]


def test_line_net_with_a_base_quantity_is_divided_once() -> None:
    # 3 pieces at 0.11 per 6 pieces: EN 16931 BT-131 = 3 x 0.11 / 6 = 0.055 -> 0.06.
    # Multiplying by a unit price rounded to 28 digits (0.01833...33) gives 0.05499... -> 0.05.
    rounded_price = Decimal("0.11") / Decimal(6)
    naive = line_net(LineInput(Decimal(3), rounded_price, Decimal(21)), "EUR")
    assert naive == Decimal("0.05")
    line = UblLine(line_id="1", description="Screws", quantity=Decimal(3), unit_code="C62",
                   unit_price=unit_price_of(Decimal("0.11"), Decimal(6)),
                   net_amount=Decimal("0.06"), vat_category="S", vat_rate=Decimal(21),
                   price_amount=Decimal("0.11"), base_quantity=Decimal(6))
    party = UblParty(name="X")
    doc = UblDocument(
        kind="invoice", number="1", issue_date=date(2026, 4, 13), currency="EUR",
        supplier=party, customer=party, lines=(line,),
        totals=UblTotals(line_extension=Decimal("0.06"), tax_exclusive=Decimal("0.06"),
                         tax_inclusive=Decimal("0.07"), payable=Decimal("0.07"),
                         tax_total=Decimal("0.01")),
        vat_subtotals=(UblVatSubtotal(category="S", rate=Decimal(21),
                                      taxable_amount=Decimal("0.06"),
                                      tax_amount=Decimal("0.01")),))
    assert recompute(doc).line_nets == (Decimal("0.06"),)
    assert check_totals(doc) == []


def test_a_line_with_inconsistent_price_fields_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="unit_price"):
        UblLine(line_id="1", description="x", quantity=Decimal(1), unit_code=None,
                unit_price=Decimal(1), net_amount=Decimal(1), vat_category="S",
                vat_rate=Decimal(21), price_amount=Decimal(2), base_quantity=Decimal(1))
    with pytest.raises(ValueError, match="together"):
        UblLine(line_id="1", description="x", quantity=Decimal(1), unit_code=None,
                unit_price=Decimal(1), net_amount=Decimal(1), vat_category="S",
                vat_rate=Decimal(21), base_quantity=Decimal(1))
