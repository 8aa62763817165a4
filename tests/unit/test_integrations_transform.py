"""Provider resources → our shapes: Ponto JSON:API and Yuki XML transformers (pure)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from smbfinance.integrations import rows
from smbfinance.integrations.providers import ponto_transform as pt
from smbfinance.integrations.providers import yuki_transform as yt
from smbfinance.integrations.providers.base import (
    AccountingProvider,
    BankProvider,
    ConsentStatus,
)
from smbfinance.integrations.providers.errors import MalformedResponse

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

ACCOUNT = {
    "type": "account",
    "id": "953934eb-229a-4fd2-8675-07794078cc7d",
    "attributes": {
        "subtype": "checking", "referenceType": "IBAN", "reference": "BE68 5390 0754 7034",
        "product": "Easy account", "holderName": "Acme BV", "description": "Main account",
        "currency": "EUR", "currentBalance": Decimal("1234.56"),
        "availableBalance": Decimal("1000.00"),
        "currentBalanceChangedAt": "2026-11-21T10:00:00.000Z",
        "currentBalanceReferenceDate": "2026-11-21T00:00:00.000Z",
        "authorizedAt": "2026-09-01T00:00:00.000Z",
        "authorizationExpirationExpectedAt": "2026-11-30T00:00:00.000Z",
        "deprecated": False,
    },
}

TRANSACTION = {
    "type": "transaction",
    "id": "701ab965-aaaa-4a29-9d5c-2b9f5b2dbd4a",
    "attributes": {
        "amount": Decimal("-42.10"), "currency": "EUR",
        "valueDate": "2026-11-20T00:00:00.000Z", "executionDate": "2026-11-19T00:00:00.000Z",
        "description": "Payment", "remittanceInformation": "+++090/9337/55493+++",
        "remittanceInformationType": "structured", "counterpartName": "Supplier NV",
        "counterpartReference": "BE71 0961 2345 6769", "bankTransactionCode": "PMNT-ICDT-ESCT",
        "endToEndId": "E2E-1", "digest": "abc", "internalReference": "REF-9",
    },
    "relationships": {"account": {"data": {"type": "account", "id": ACCOUNT["id"]}}},
}


def test_an_account_becomes_our_account_with_exact_balances_and_consent():
    # given a Ponto account resource whose consent ends in 8 days
    # when it is transformed
    account = pt.account_from_resource(ACCOUNT, now=NOW)
    # then the IBAN is compact, balances are exact decimals, consent is expiring
    assert account.iban == "BE68539007547034"
    assert account.current_balance.amount == Decimal("1234.56")
    assert account.current_balance.reference_date == date(2026, 11, 21)
    assert account.available_balance.amount == Decimal("1000.00")
    assert account.consent.status is ConsentStatus.EXPIRING
    assert account.consent.expires_at == datetime(2026, 11, 30, tzinfo=UTC)
    values = rows.bank_account_values(account)
    assert values["current_balance"] == Decimal("1234.56")
    assert values["balance_source"] == "ponto"


@pytest.mark.parametrize(("expires", "status"), [
    (None, ConsentStatus.ACTIVE),
    (NOW + timedelta(days=60), ConsentStatus.ACTIVE),
    (NOW + timedelta(days=14), ConsentStatus.EXPIRING),
    (NOW + timedelta(seconds=1), ConsentStatus.EXPIRING),
    (NOW, ConsentStatus.EXPIRED),
    (NOW - timedelta(days=1), ConsentStatus.EXPIRED),
])
def test_consent_status_follows_the_expected_expiry(expires, status):
    # given an account's expected authorization expiry
    attributes = {"authorizationExpirationExpectedAt":
                  expires.isoformat().replace("+00:00", "Z") if expires else None}
    # when the consent is read
    # then its status depends on how far the expiry is
    assert pt.consent_from_attributes(attributes, now=NOW).status is status


def test_a_transaction_keeps_its_sign_provider_id_and_structured_reference():
    # given a booked outgoing transaction with a structured communication
    # when it is transformed
    tx = pt.transaction_from_resource(TRANSACTION)
    # then the amount is signed and exact, the provider id makes the dedupe key
    assert tx.amount == Decimal("-42.10")
    assert tx.booking_date == date(2026, 11, 19)
    assert tx.value_date == date(2026, 11, 20)
    assert tx.structured_reference == "+++090/9337/55493+++"
    assert tx.remittance is None
    assert tx.counterparty_iban == "BE71096123456769"
    assert tx.dedupe_key == f"ponto:{TRANSACTION['id']}"
    assert tx.account_provider_id == ACCOUNT["id"]
    assert tx.status == "booked"
    values = rows.bank_transaction_values(tx)
    assert values["details"]["provider_id"] == TRANSACTION["id"]
    assert values["source"] == "ponto"


def test_a_pending_transaction_has_a_key_apart_from_booked_ones():
    # given the same movement as a pending resource
    pending = {**TRANSACTION, "type": "pendingTransaction"}
    # when it is transformed
    tx = pt.transaction_from_resource(pending)
    # then it is pending and its key cannot collide with a booked transaction's
    assert tx.status == "pending"
    assert tx.dedupe_key.startswith("ponto:pending:")


def test_an_amount_parsed_from_json_text_is_exact():
    # given a JSON body read with Decimal floats, as the adapter reads it
    body = json.loads('{"amount": 0.1}', parse_float=Decimal)
    # then the amount is exactly ten cents
    assert pt.to_amount(body["amount"]) == Decimal("0.10")
    assert pt.to_amount(0.1) == Decimal("0.10")  # a float goes through its repr


@pytest.mark.parametrize("bad", [None, True, "abc", "NaN", "Infinity", Decimal("1.001"), []])
def test_an_unusable_amount_is_a_malformed_response(bad):
    with pytest.raises(MalformedResponse):
        pt.to_amount(bad)


@given(st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2))
def test_any_two_decimal_amount_survives_json_unchanged(amount):
    # given an amount written as a JSON number and read back with Decimal floats
    text = f"{{\"amount\": {amount}}}"
    parsed = json.loads(text, parse_float=Decimal)["amount"]
    # then the transformer returns exactly that amount
    assert pt.to_amount(parsed) == amount


@pytest.mark.parametrize("mutation", [
    {"type": "account"},
    {"id": ""},
    {"attributes": None},
    {"attributes": {**TRANSACTION["attributes"], "currency": None}},
    {"attributes": {**TRANSACTION["attributes"], "executionDate": None, "valueDate": None}},
    {"attributes": {**TRANSACTION["attributes"], "valueDate": "yesterday",
                    "executionDate": "yesterday"}},
    {"relationships": {}},
])
def test_a_transaction_missing_what_we_need_is_refused(mutation):
    # given a transaction resource with a required part broken
    resource = {**TRANSACTION, **mutation}
    # when it is transformed
    # then a typed error says it is malformed
    with pytest.raises(MalformedResponse):
        pt.transaction_from_resource(resource)


def test_the_account_of_a_transaction_can_come_from_the_url():
    resource = {k: v for k, v in TRANSACTION.items() if k != "relationships"}
    assert pt.transaction_from_resource(resource, account_id="acc-1").account_provider_id \
        == "acc-1"


YUKI_ITEMS = b"""<OutstandingDebtorItems xmlns="http://www.theyukicompany.com/">
  <Item ID="a1b2">
    <Date>2026-10-01T00:00:00</Date><Description>Invoice 2026-001</Description>
    <Contact>Client BV</Contact><OpenAmount>121.00</OpenAmount>
    <OriginalAmount>242.00</OriginalAmount><Type ID="1">Sales invoice</Type>
    <Reference>2026-001</Reference><DueDate>2026-10-31T00:00:00</DueDate>
    <ContactCode>C001</ContactCode><CoCNumber>0123456789</CoCNumber>
    <VATNumber>BE 0123456749</VATNumber><AddressLine_1>Main street 1</AddressLine_1>
    <Postcode>1000</Postcode><City>Brussels</City><Country>BE</Country>
    <ContactID>c-1</ContactID>
  </Item>
  <Item ID="a1b3">
    <Date>2026-10-05</Date><Description>Credit note</Description>
    <Contact>Client BV</Contact><OpenAmount>-20.00</OpenAmount>
    <OriginalAmount>-20.00</OriginalAmount><Reference>CN-1</Reference>
    <DueDate>2026-10-05</DueDate><ContactID>c-1</ContactID>
  </Item>
</OutstandingDebtorItems>"""


def test_yuki_debtor_items_become_receivables_with_contacts():
    # given Yuki's outstanding debtor items (namespaced, as the service returns them)
    root = etree.fromstring(YUKI_ITEMS)
    # when they are transformed
    items = yt.open_items(root, administration_id="adm-1", direction="receivable")
    # then each item keeps its id, amounts, dates and contact
    first, credit = items
    assert first.provider_id == "a1b2"
    assert first.open_amount == Decimal("121.00")
    assert first.original_amount == Decimal("242.00")
    assert first.due_date == date(2026, 10, 31)
    assert first.issue_date == date(2026, 10, 1)
    assert first.type_id == "1"
    assert first.contact.provider_id == "c-1"
    assert first.contact.city == "Brussels"
    assert credit.open_amount == Decimal("-20.00")
    assert len(yt.unique_contacts(items)) == 1
    # and they map to our invoice and contact columns
    invoice = rows.invoice_values(first, synchronized_at=NOW)
    assert invoice["direction"] == "receivable"
    assert invoice["amount_paid"] == Decimal("121.00")
    assert invoice["outstanding"] == Decimal("121.00")
    assert rows.invoice_values(credit, synchronized_at=NOW)["kind"] == "credit_note"
    contact = rows.contact_values(first.contact)
    assert contact["vat_number"] == "BE0123456749"
    assert contact["external_ids"] == {"yuki": "c-1"}


def test_yuki_items_with_a_broken_field_are_refused():
    root = etree.fromstring(YUKI_ITEMS.replace(b"<OpenAmount>121.00", b"<OpenAmount>abc"))
    with pytest.raises(MalformedResponse):
        yt.open_items(root, administration_id="adm-1", direction="receivable")
    root = etree.fromstring(YUKI_ITEMS.replace(b'<Item ID="a1b2">', b"<Item>"))
    with pytest.raises(MalformedResponse):
        yt.open_items(root, administration_id="adm-1", direction="payable")


def test_yuki_administrations_and_gl_balances():
    root = etree.fromstring(
        b"<Administrations><Administration ID='x1'><Name>Acme</Name><Country>BE</Country>"
        b"<Active>false</Active></Administration></Administrations>")
    (admin,) = yt.administrations(root)
    assert (admin.provider_id, admin.name, admin.active) == ("x1", "Acme", False)
    balances = etree.fromstring(
        b"<GLAccountBalance><GLAccount Code='550000' BalanceType='B'><Description>Bank"
        b"</Description><Amount>1500.25</Amount></GLAccount><GLAccount Code='400000'"
        b" BalanceType='B'><Amount>-300</Amount></GLAccount></GLAccountBalance>")
    assert yt.gl_balances(balances) == {"550000": Decimal("1500.25"),
                                        "400000": Decimal("-300.00")}


def test_the_protocols_are_runtime_checkable():
    # the adapters are checked against these in their own tests
    assert not isinstance(object(), BankProvider)
    assert not isinstance(object(), AccountingProvider)
