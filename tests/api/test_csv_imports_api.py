"""CSV exports through the API: a column mapping saved per account (PUT/GET/DELETE,
validated naming the field), uploads read with it, exactly once on re-upload, a clear 422
without a mapping, and another tenant's account answered as an unknown one."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import TenantFixture
from tests.invoicing import error_fields

IBAN = "BE68539007547034"
# A Belgian bank's Excel-minded export: ";" columns, "," decimals, "." thousands, d/m/Y.
CSV = """Datum;Bedrag;Tegenpartij;Rekening tegenpartij;Mededeling;Referentie
02/03/2026;-1.250,00;Landlord BV;BE71096123456769;huur maart;B1
03/03/2026;150,00;Client NV;;+++090/9337/55493+++;B2
03/03/2026;150,00;Client NV;;+++090/9337/55493+++;B3
15/03/2026;-20,50;Fuel Station;;card 1234;B4
""".encode("cp1252")
MAPPING = {"date_column": "Datum", "amount_column": "Bedrag",
           "counterparty_column": "Tegenpartij", "iban_column": "Rekening tegenpartij",
           "description_column": "Mededeling", "bank_reference_column": "Referentie",
           "date_format": "%d/%m/%Y", "decimal_separator": ",", "thousands_separator": "."}


def account(client: FlaskClient, tenant: TenantFixture) -> str:
    response = client.post("/api/v1/bank-accounts", headers=tenant.headers, json={"iban": IBAN})
    assert response.status_code == 201
    return response.get_json()["id"]


def mapping_url(account_id: str) -> str:
    return f"/api/v1/bank-accounts/{account_id}/csv-mapping"


def upload(client: FlaskClient, tenant: TenantFixture, data: bytes, **form: str) -> Any:
    return client.post("/api/v1/imports", headers=tenant.headers,
                       content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), "export.csv"), **form})


def listed(client: FlaskClient, tenant: TenantFixture) -> list[dict[str, Any]]:
    return client.get("/api/v1/transactions", headers=tenant.headers).get_json()["data"]


def test_a_saved_mapping_reads_a_csv_upload_exactly_once(client, tenant_a) -> None:
    # given an account with a saved mapping
    account_id = account(client, tenant_a)
    saved = client.put(mapping_url(account_id), headers=tenant_a.headers, json=MAPPING)
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["encoding"] is None and saved.headers["ETag"]
    # when a CSV export is uploaded to that account
    first = upload(client, tenant_a, CSV, bank_account_id=account_id)
    # then every row is a transaction, signed and in the account's currency
    assert first.status_code == 201, first.get_json()
    batch = first.get_json()
    assert batch["format"] == "csv" and batch["status"] == "completed"
    assert batch["counts"]["read"] == batch["counts"]["created"] == 4
    rows = listed(client, tenant_a)
    assert [(r["booking_date"], r["amount"]["amount"], r["counterparty_name"]) for r in rows] == [
        ("2026-03-15", "-20.50", "Fuel Station"), ("2026-03-03", "150.00", "Client NV"),
        ("2026-03-03", "150.00", "Client NV"), ("2026-03-02", "-1250.00", "Landlord BV")]
    assert {r["source"] for r in rows} == {"csv"}
    assert rows[-1]["counterparty_iban"] == "BE71096123456769"
    assert rows[-1]["bank_account_id"] == account_id
    # and the same file again creates nothing (the two equal rows stay two)
    again = upload(client, tenant_a, CSV, bank_account_id=account_id).get_json()
    assert again["counts"] == {**batch["counts"], "created": 0, "duplicates": 4}
    assert len(listed(client, tenant_a)) == 4
    # and a later export overlapping it adds only the new row
    later = CSV + b"20/03/2026;-5,00;Bakery;;bread;B5\n"
    third = upload(client, tenant_a, later, bank_account_id=account_id).get_json()
    assert (third["counts"]["created"], third["counts"]["duplicates"]) == (1, 4)


def test_mapping_get_replace_and_delete(client, tenant_a) -> None:
    # given no mapping yet
    account_id = account(client, tenant_a)
    assert client.get(mapping_url(account_id), headers=tenant_a.headers).status_code == 404
    # when one is saved, it reads back with every field (defaults filled in)
    client.put(mapping_url(account_id), headers=tenant_a.headers, json=MAPPING)
    read = client.get(mapping_url(account_id), headers=tenant_a.headers).get_json()
    assert read["date_column"] == "Datum" and read["delimiter"] is None
    assert read["debit_column"] is None and read["object"] == "csv_mapping"
    # when replaced with a stale If-Match, it is refused; with the current one it changes
    stale = client.put(mapping_url(account_id), headers={**tenant_a.headers, "If-Match": '"1"'},
                       json=MAPPING)
    assert stale.status_code == 412
    replaced = client.put(mapping_url(account_id), headers={
        **tenant_a.headers, "If-Match": f'"{read["version"]}"'},
        json={**MAPPING, "amount_column": None, "debit_column": "Af", "credit_column": "Bij"})
    assert replaced.status_code == 200 and replaced.get_json()["debit_column"] == "Af"
    assert replaced.get_json()["amount_column"] is None
    # when deleted, it is gone, and a CSV upload is refused again
    assert client.delete(mapping_url(account_id), headers=tenant_a.headers).status_code == 204
    assert client.get(mapping_url(account_id), headers=tenant_a.headers).status_code == 404
    assert client.delete(mapping_url(account_id), headers=tenant_a.headers).status_code == 404
    refused = upload(client, tenant_a, CSV, bank_account_id=account_id)
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["code"] == "csv_mapping_required"


def test_a_csv_without_a_saved_mapping_is_refused_clearly(client, tenant_a) -> None:
    # given an account without a mapping
    account_id = account(client, tenant_a)
    # when a CSV is uploaded to it, or without an account
    to_account = upload(client, tenant_a, CSV, bank_account_id=account_id)
    anywhere = upload(client, tenant_a, CSV)
    # then 422 naming the file, telling what to do, and nothing is written
    for response in (to_account, anywhere):
        assert response.status_code == 422
        error = response.get_json()["errors"][0]
        assert (error["field"], error["code"]) == ("file", "csv_mapping_required")
        assert "save a mapping first" in error["message"]
    assert f"/bank-accounts/{account_id}/csv-mapping" in to_account.get_json()["detail"]
    assert listed(client, tenant_a) == []


def test_a_broken_row_rejects_the_file_naming_the_line(client, tenant_a) -> None:
    # given a mapped account and an export with a bad amount on line 3
    account_id = account(client, tenant_a)
    client.put(mapping_url(account_id), headers=tenant_a.headers, json=MAPPING)
    broken = CSV.replace(b"150,00;Client NV;;+++090/9337/55493+++;B2", b"1.50.00;X;;;B2")
    # when uploaded
    response = upload(client, tenant_a, broken, bank_account_id=account_id)
    # then it is rejected whole, naming line 3, with nothing written
    assert response.status_code == 422
    assert error_fields(response) == {"line 3"}
    assert listed(client, tenant_a) == []
    batch = client.get(f"/api/v1/imports/{response.get_json()['import_batch_id']}",
                       headers=tenant_a.headers).get_json()
    assert (batch["status"], batch["format"]) == ("rejected", "csv")


def test_a_bank_file_to_a_mapped_account_is_still_read_as_its_format(client, tenant_a) -> None:
    # given a mapped account: the mapping is only for CSV, other formats keep their parser
    account_id = account(client, tenant_a)
    client.put(mapping_url(account_id), headers=tenant_a.headers, json=MAPPING)
    ofx = (b"OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\n\n<OFX><BANKMSGSRSV1><STMTTRNRS>"
           b"<STMTRS><CURDEF>EUR<BANKACCTFROM><BANKID>1<ACCTID>" + IBAN.encode() +
           b"</BANKACCTFROM><BANKTRANLIST><DTSTART>20260301<DTEND>20260331"
           b"<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20260305<TRNAMT>-10.00<FITID>F1<NAME>Shop"
           b"</STMTTRN></BANKTRANLIST><LEDGERBAL><BALAMT>90.00<DTASOF>20260331</LEDGERBAL>"
           b"</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>")
    response = upload(client, tenant_a, ofx, bank_account_id=account_id)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["format"] == "ofx"


@pytest.mark.parametrize(("body", "field"), [
    ({}, "date_column"),
    ({"date_column": "Datum"}, "amount_column"),
    ({"date_column": "D", "amount_column": "A", "debit_column": "X"}, "amount_column"),
    ({"date_column": "D", "debit_column": "X"}, "amount_column"),
    ({"date_column": "D", "amount_column": "A", "date_format": "%Y"}, "date_format"),
    ({"date_column": "D", "amount_column": "A", "date_format": "%Q%Q"}, "date_format"),
    ({"date_column": "D", "amount_column": "A", "decimal_separator": ";"},
     "decimal_separator"),
    ({"date_column": "D", "amount_column": "A", "decimal_separator": ",",
      "thousands_separator": ","}, "thousands_separator"),
    ({"date_column": "D", "amount_column": "A", "delimiter": ";;"}, "delimiter"),
    ({"date_column": "D", "amount_column": "A", "encoding": "klingon"}, "encoding"),
    ({"date_column": "D", "amount_column": "A", "encoding": "rot13"}, "encoding"),
    ({"date_column": "D", "amount_column": "A", "delimiter": "\n"}, "delimiter"),
    ({"date_column": "D", "amount_column": "A", "delimiter": '"'}, "delimiter"),
    ({"date_column": "D\u0000", "amount_column": "A"}, "date_column"),
    ({"date_column": "D", "amount_column": "A", "currency": "USD"}, "currency"),
    ({"date_column": "", "amount_column": "A"}, "date_column"),
])
def test_an_invalid_mapping_is_refused_naming_the_field(client, tenant_a, body, field) -> None:
    account_id = account(client, tenant_a)
    response = client.put(mapping_url(account_id), headers=tenant_a.headers, json=body)
    assert response.status_code == 422, response.get_json()
    assert error_fields(response) == {field}
    assert client.get(mapping_url(account_id), headers=tenant_a.headers).status_code == 404


def test_another_tenants_account_is_unknown_for_mappings_and_uploads(
    client, tenant_a, tenant_b
) -> None:
    # given tenant A's mapped account
    account_id = account(client, tenant_a)
    client.put(mapping_url(account_id), headers=tenant_a.headers, json=MAPPING)
    unknown = "01a20000-0000-7000-8000-000000000000"
    # then for tenant B every mapping route answers as for an account that does not exist
    for method, body in (("get", None), ("put", MAPPING), ("delete", None)):
        theirs = getattr(client, method)(mapping_url(account_id), headers=tenant_b.headers,
                                         json=body)
        nobody = getattr(client, method)(mapping_url(unknown), headers=tenant_b.headers,
                                         json=body)
        assert theirs.status_code == nobody.status_code == 404, method
    # and B cannot upload with A's account (nor use its mapping)
    theirs = upload(client, tenant_b, CSV, bank_account_id=account_id)
    nobody = upload(client, tenant_b, CSV, bank_account_id=unknown)
    assert theirs.status_code == nobody.status_code == 422
    assert error_fields(theirs) == error_fields(nobody) == {"bank_account_id"}
    # and A's mapping is untouched
    assert client.get(mapping_url(account_id), headers=tenant_a.headers).get_json()[
        "date_format"] == "%d/%m/%Y"
    assert listed(client, tenant_b) == []
