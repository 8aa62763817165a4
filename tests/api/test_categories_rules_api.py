"""Categories, rules and transaction edits through the REST door: CRUD with ETag/If-Match,
validation naming the field, rules applied on import and on demand (priority order,
idempotent, a person's category kept), the bank's facts refused by name, and another
tenant's ids answered exactly as unknown ids on every new route."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import TenantFixture
from tests.invoicing import PROBLEM_JSON, add_member, create_contact, error_fields

CATEGORIES = "/api/v1/categories"
RULES = "/api/v1/rules"
APPLY = "/api/v1/rules/apply"
TRANSACTIONS = "/api/v1/transactions"
FORMATS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "formats"
# 17 movements: 12 with "LANGERBRUGGE" in the text, 2 from VIVIUM (310180203454), and
# two transfers with the central account BE38733040385372 (one in, one out).
CODA = FORMATS / "coda" / "oca-l10n-belgium-7.0__Coda_iban_v2_3_single_statement.txt"
CENTRAL = "BE38733040385372"
needs_coda = pytest.mark.skipif(not CODA.exists(), reason="shared/data/formats missing")


def create_category(client: FlaskClient, tenant: TenantFixture, name: str,
                    **fields: Any) -> dict[str, Any]:
    response = client.post(CATEGORIES, headers=tenant.headers, json={"name": name, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def create_rule(client: FlaskClient, tenant: TenantFixture, conditions: dict[str, Any],
                actions: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"name": fields.pop("name", "Rule"), "conditions": conditions, "actions": actions,
            **fields}
    response = client.post(RULES, headers=tenant.headers, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def import_coda(client: FlaskClient, tenant: TenantFixture) -> dict[str, Any]:
    response = client.post("/api/v1/imports", headers=tenant.headers,
                           content_type="multipart/form-data",
                           data={"file": (io.BytesIO(CODA.read_bytes()), "statement.txt")})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def transactions(client: FlaskClient, tenant: TenantFixture) -> list[dict[str, Any]]:
    body = client.get(f"{TRANSACTIONS}?limit=200", headers=tenant.headers).get_json()
    assert not body["has_more"]
    return body["data"]


def apply(client: FlaskClient, tenant: TenantFixture, **body: Any) -> dict[str, Any]:
    response = client.post(APPLY, headers=tenant.headers, json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def with_text(rows: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    return [r for r in rows if text in (r["remittance"] or "") + (r["counterparty_name"] or "")]


# ------------------------------------------------------------------ categories

def test_category_crud_with_etags(client: FlaskClient, tenant_a: TenantFixture) -> None:
    # given a new category
    response = client.post(CATEGORIES, headers=tenant_a.headers,
                           json={"name": "  Rent ", "kind": "expense", "color": "#1A7F37"})
    assert response.status_code == 201, response.get_json()
    assert response.headers["ETag"] == '"1"'
    rent = response.get_json()
    assert (rent["object"], rent["name"], rent["kind"], rent["color"]) == (
        "category", "Rent", "expense", "#1a7f37")
    url = f"{CATEGORIES}/{rent['id']}"
    # when it is read, changed with the ETag read, and changed again with a stale one
    assert client.get(url, headers=tenant_a.headers).get_json() == rent
    changed = client.patch(url, headers={**tenant_a.headers, "If-Match": '"1"'},
                           json={"name": "Office rent", "color": None})
    stale = client.patch(url, headers={**tenant_a.headers, "If-Match": '"1"'},
                         json={"name": "Lost update"})
    # then the first wins with a new ETag and the second is refused
    assert changed.status_code == 200 and changed.headers["ETag"] == '"2"'
    assert changed.get_json()["name"] == "Office rent"
    assert changed.get_json()["color"] is None
    assert stale.status_code == 412 and stale.mimetype == PROBLEM_JSON
    # and when deleted it is gone from reads and lists
    assert client.delete(url, headers={**tenant_a.headers, "If-Match": '"2"'}).status_code == 204
    assert client.get(url, headers=tenant_a.headers).status_code == 404
    assert client.get(CATEGORIES, headers=tenant_a.headers).get_json()["data"] == []


def test_category_list_by_name_with_cursor_and_kind(client: FlaskClient,
                                                    tenant_a: TenantFixture) -> None:
    for name, kind in (("wages", "expense"), ("Bank fees", "expense"), ("Sales", "income")):
        create_category(client, tenant_a, name, kind=kind)
    first = client.get(CATEGORIES, headers=tenant_a.headers, query_string={"limit": 2})
    body = first.get_json()
    assert [c["name"] for c in body["data"]] == ["Bank fees", "Sales"] and body["has_more"]
    rest = client.get(CATEGORIES, headers=tenant_a.headers,
                      query_string={"starting_after": body["data"][-1]["id"]}).get_json()
    assert [c["name"] for c in rest["data"]] == ["wages"] and not rest["has_more"]
    income = client.get(CATEGORIES, headers=tenant_a.headers,
                        query_string={"kind": "income"}).get_json()
    assert [c["name"] for c in income["data"]] == ["Sales"]


def test_category_names_are_unique_ignoring_case_until_deleted(
        client: FlaskClient, tenant_a: TenantFixture) -> None:
    rent = create_category(client, tenant_a, "Rent")
    duplicate = client.post(CATEGORIES, headers=tenant_a.headers, json={"name": "RENT"})
    assert duplicate.status_code == 409
    assert duplicate.get_json()["field"] == "name"
    other = create_category(client, tenant_a, "Other")
    renamed = client.patch(f"{CATEGORIES}/{other['id']}", headers=tenant_a.headers,
                           json={"name": "rent"})
    assert renamed.status_code == 409
    client.delete(f"{CATEGORIES}/{rent['id']}", headers=tenant_a.headers)
    assert create_category(client, tenant_a, "rent")["name"] == "rent"


@pytest.mark.parametrize(("body", "fields"), [
    ({}, {"name"}),
    ({"name": ""}, {"name"}),
    ({"name": "   "}, {"name"}),
    ({"name": "x" * 101}, {"name"}),
    ({"name": "Rent", "kind": "asset"}, {"kind"}),
    ({"name": "Rent", "color": "green"}, {"color"}),
    ({"name": "Rent", "color": "#12345z"}, {"color"}),
    ({"name": "Rent", "parent": "x"}, {"parent"}),
])
def test_category_validation_names_the_field(client: FlaskClient, tenant_a: TenantFixture,
                                             body: dict[str, Any], fields: set[str]) -> None:
    response = client.post(CATEGORIES, headers=tenant_a.headers, json=body)
    assert response.status_code == 422
    assert error_fields(response) == fields


def test_a_viewer_reads_but_does_not_write(client: FlaskClient, tenant_a: TenantFixture) -> None:
    create_category(client, tenant_a, "Rent")
    viewer = add_member(client, tenant_a, "viewer")
    assert len(client.get(CATEGORIES, headers=viewer.headers).get_json()["data"]) == 1
    assert client.post(CATEGORIES, headers=viewer.headers,
                       json={"name": "Mine"}).status_code == 403
    assert client.post(RULES, headers=viewer.headers, json={
        "name": "r", "conditions": {"direction": "in"},
        "actions": {"ignore_for_forecast": True}}).status_code == 403
    assert client.post(APPLY, headers=viewer.headers, json={}).status_code == 403


# ------------------------------------------------------------------ rules

def test_rule_crud_and_order(client: FlaskClient, tenant_a: TenantFixture) -> None:
    fees = create_category(client, tenant_a, "Bank fees")
    # given rules created without a priority, then one that runs first
    first = create_rule(client, tenant_a, {"text_contains": "frais"},
                        {"category_id": fees["id"]}, name="Fees")
    second = create_rule(client, tenant_a, {"direction": "in", "amount_min": "1000"},
                         {"ignore_for_forecast": True}, name="Big receipts")
    urgent = create_rule(client, tenant_a, {"counterparty_iban": "be68 5390 0754 7034"},
                         {"category_id": fees["id"]}, name="Bank", priority=1)
    # then defaults go last, and the list is in running order
    assert (first["priority"], second["priority"]) == (10, 20)
    assert first["conditions"] == {"text_contains": "frais"}
    assert second["conditions"] == {"direction": "in", "amount_min": "1000.00"}
    assert urgent["conditions"] == {"counterparty_iban": "BE68539007547034"}
    assert first["actions"] == {"category_id": fees["id"]}
    assert first["enabled"] is True and first["object"] == "rule"
    listed = client.get(RULES, headers=tenant_a.headers).get_json()["data"]
    assert [r["id"] for r in listed] == [urgent["id"], first["id"], second["id"]]
    # when one is changed with If-Match: conditions sent replace the old ones whole
    url = f"{RULES}/{first['id']}"
    response = client.patch(url, headers={**tenant_a.headers, "If-Match": '"1"'}, json={
        "priority": 30, "enabled": False, "conditions": {"counterparty_name_contains": "bank"}})
    assert response.status_code == 200, response.get_json()
    assert response.headers["ETag"] == '"2"'
    assert response.get_json()["conditions"] == {"counterparty_name_contains": "bank"}
    assert client.patch(url, headers={**tenant_a.headers, "If-Match": '"1"'},
                        json={"enabled": True}).status_code == 412
    assert client.get(RULES, headers=tenant_a.headers,
                      query_string={"enabled": "false"}).get_json()["data"][0]["id"] == first["id"]
    # and a deleted rule is gone
    assert client.delete(url, headers=tenant_a.headers).status_code == 204
    assert client.get(url, headers=tenant_a.headers).status_code == 404
    assert len(client.get(RULES, headers=tenant_a.headers).get_json()["data"]) == 2


@pytest.mark.parametrize(("body", "fields"), [
    ({"conditions": {}, "actions": {"ignore_for_forecast": True}}, {"conditions"}),
    ({"conditions": {"direction": "in"}, "actions": {}}, {"actions"}),
    ({"conditions": {"direction": "in"}}, {"actions"}),
    ({"actions": {"ignore_for_forecast": True}}, {"conditions"}),
    ({"conditions": {"colour": "red"}, "actions": {"ignore_for_forecast": True}},
     {"conditions.colour"}),
    ({"conditions": {"direction": "up"}, "actions": {"ignore_for_forecast": True}},
     {"conditions.direction"}),
    ({"conditions": {"amount_min": "1.001"}, "actions": {"ignore_for_forecast": True}},
     {"conditions.amount_min"}),
    ({"conditions": {"amount_min": 5}, "actions": {"ignore_for_forecast": True}},
     {"conditions.amount_min"}),
    ({"conditions": {"amount_min": "9", "amount_max": "1"},
      "actions": {"ignore_for_forecast": True}}, {"conditions.amount_max"}),
    ({"conditions": {"counterparty_iban": "BE68539007547035"},
      "actions": {"ignore_for_forecast": True}}, {"conditions.counterparty_iban"}),
    ({"conditions": {"text_contains": "  "}, "actions": {"ignore_for_forecast": True}},
     {"conditions.text_contains"}),
    ({"conditions": {"direction": "in"}, "actions": {"category_id": str(uuid.uuid4())}},
     {"actions.category_id"}),
    ({"conditions": {"direction": "in"}, "actions": {"contact_id": str(uuid.uuid4())}},
     {"actions.contact_id"}),
    ({"conditions": {"direction": "in"}, "actions": {"set_tag": "x"}}, {"actions.set_tag"}),
    ({"conditions": {"direction": "in"}, "actions": {"ignore_for_forecast": True},
      "priority": -1}, {"priority"}),
])
def test_rule_validation_names_the_field(client: FlaskClient, tenant_a: TenantFixture,
                                         body: dict[str, Any], fields: set[str]) -> None:
    response = client.post(RULES, headers=tenant_a.headers, json={"name": "Rule", **body})
    assert response.status_code == 422, response.get_json()
    assert error_fields(response) == fields


def test_a_rule_cannot_point_at_a_deleted_category(client: FlaskClient,
                                                   tenant_a: TenantFixture) -> None:
    gone = create_category(client, tenant_a, "Gone")
    client.delete(f"{CATEGORIES}/{gone['id']}", headers=tenant_a.headers)
    response = client.post(RULES, headers=tenant_a.headers, json={
        "name": "r", "conditions": {"direction": "in"}, "actions": {"category_id": gone["id"]}})
    assert response.status_code == 422
    assert error_fields(response) == {"actions.category_id"}


# ------------------------------------------------------------------ applying

@needs_coda
def test_rules_are_applied_on_import_in_priority_order(client: FlaskClient,
                                                       tenant_a: TenantFixture) -> None:
    # given categories, a contact and rules, the most specific first
    parking = create_category(client, tenant_a, "Parking", kind="income")
    insurance = create_category(client, tenant_a, "Insurance")
    transfers = create_category(client, tenant_a, "Transfers", kind="transfer")
    vivium = create_contact(client, tenant_a, "Vivium")
    create_rule(client, tenant_a, {"counterparty_iban": CENTRAL, "direction": "out"},
                {"category_id": transfers["id"], "ignore_for_forecast": True}, priority=1)
    create_rule(client, tenant_a, {"counterparty_iban": CENTRAL},
                {"category_id": transfers["id"]}, priority=2)
    create_rule(client, tenant_a, {"counterparty_name_contains": "vivïum"},
                {"category_id": insurance["id"], "contact_id": vivium["id"]}, priority=5)
    create_rule(client, tenant_a, {"text_contains": "langerbrugge",
                                   "amount_min": "15", "amount_max": "20"},
                {"category_id": parking["id"]}, priority=7)
    # a lower rule that would also match the Langerbrugge movements never decides them
    create_rule(client, tenant_a, {"direction": "in", "amount_max": "20"},
                {"ignore_for_forecast": True}, priority=9)
    # when the statement is imported
    batch = import_coda(client, tenant_a)
    assert batch["counts"]["created"] == 17
    rows = transactions(client, tenant_a)
    # then each movement was categorised by the first rule that matches it
    langerbrugge = with_text(rows, "LANGERBRUGGE")
    assert len(langerbrugge) == 12
    assert {(r["category_id"], r["ignore_for_forecast"], r["categorised_by"])
            for r in langerbrugge} == {(parking["id"], False, "rule")}
    insured = with_text(rows, "VIVIUM")
    assert {(r["category_id"], r["contact_id"]) for r in insured} == {
        (insurance["id"], vivium["id"])}
    central = {r["amount"]["amount"]: r for r in rows if r["counterparty_iban"] == CENTRAL}
    assert central["-2608.00"]["category_id"] == transfers["id"]
    assert central["-2608.00"]["ignore_for_forecast"] is True
    assert central["62095.01"]["category_id"] == transfers["id"]
    assert central["62095.01"]["ignore_for_forecast"] is False
    untouched = [r for r in rows if r["categorised_by"] is None]
    assert [r["counterparty_name"] for r in untouched] == ["AMERICAN EXPRESS"]
    # and applying again changes nothing
    again = apply(client, tenant_a)
    assert again == {"object": "rules_applied", "examined": 17, "matched": 16, "updated": 0,
                     "kept_by_user": 0}


@needs_coda
def test_rules_created_later_apply_on_demand_and_keep_a_persons_choice(
        client: FlaskClient, tenant_a: TenantFixture) -> None:
    # given imported transactions and, afterwards, a rule
    import_coda(client, tenant_a)
    parking = create_category(client, tenant_a, "Parking")
    mine = create_category(client, tenant_a, "Mine")
    rows = with_text(transactions(client, tenant_a), "LANGERBRUGGE")
    assert all(r["category_id"] is None for r in rows)
    create_rule(client, tenant_a, {"text_contains": "Langerbrugge gent"},
                {"category_id": parking["id"]})
    # and a person categorised one of them by hand
    chosen = rows[0]
    patched = client.patch(f"{TRANSACTIONS}/{chosen['id']}", headers=tenant_a.headers,
                           json={"category_id": mine["id"]})
    assert patched.get_json()["categorised_by"] == "user"
    # when the rules are applied on demand
    result = apply(client, tenant_a)
    # then the others are categorised, the person's choice is kept
    assert result == {"object": "rules_applied", "examined": 16, "matched": 11, "updated": 11,
                      "kept_by_user": 1}
    by_id = {r["id"]: r for r in transactions(client, tenant_a)}
    assert by_id[chosen["id"]]["category_id"] == mine["id"]
    assert {by_id[r["id"]]["category_id"] for r in rows[1:]} == {parking["id"]}
    # and a second run changes nothing
    assert apply(client, tenant_a)["updated"] == 0
    # and applying to some ids only looks at those
    some = apply(client, tenant_a, transaction_ids=[rows[1]["id"], chosen["id"]])
    assert some == {"object": "rules_applied", "examined": 1, "matched": 1, "updated": 0,
                    "kept_by_user": 1}


def test_apply_without_transactions_or_rules(client: FlaskClient,
                                             tenant_a: TenantFixture) -> None:
    assert apply(client, tenant_a) == {"object": "rules_applied", "examined": 0, "matched": 0,
                                       "updated": 0, "kept_by_user": 0}
    response = client.post(APPLY, headers=tenant_a.headers, json={"transaction_ids": []})
    assert response.status_code == 422
    assert error_fields(response) == {"transaction_ids"}
    response = client.post(APPLY, headers=tenant_a.headers, json={"transaction_ids": ["x"]})
    assert response.status_code == 422
    assert error_fields(response) == {"transaction_ids.0"}


# ------------------------------------------------------------------ transaction edits

@needs_coda
def test_patch_transaction_allowed_fields_with_if_match(client: FlaskClient,
                                                        tenant_a: TenantFixture) -> None:
    import_coda(client, tenant_a)
    row = with_text(transactions(client, tenant_a), "VIVIUM")[0]
    url = f"{TRANSACTIONS}/{row['id']}"
    read = client.get(url, headers=tenant_a.headers)
    assert read.status_code == 200 and read.get_json() == row
    etag = read.headers["ETag"]
    insurance = create_category(client, tenant_a, "Insurance")
    vivium = create_contact(client, tenant_a, "Vivium")
    # when a person sets what is theirs to set, with the ETag read
    response = client.patch(url, headers={**tenant_a.headers, "If-Match": etag}, json={
        "category_id": insurance["id"], "contact_id": vivium["id"], "notes": " claim 42 ",
        "ignore_for_forecast": True})
    # then it changes, bank facts stay, and it is marked as a person's choice
    assert response.status_code == 200, response.get_json()
    changed = response.get_json()
    assert response.headers["ETag"] == f'"{row["version"] + 1}"'
    assert (changed["category_id"], changed["contact_id"], changed["notes"],
            changed["ignore_for_forecast"], changed["categorised_by"]) == (
        insurance["id"], vivium["id"], "claim 42", True, "user")
    assert changed["amount"] == row["amount"] and changed["remittance"] == row["remittance"]
    # and the stale ETag is refused
    stale = client.patch(url, headers={**tenant_a.headers, "If-Match": etag},
                         json={"notes": "again"})
    assert stale.status_code == 412
    # and clearing works
    cleared = client.patch(url, headers=tenant_a.headers,
                           json={"category_id": None, "contact_id": None, "notes": None})
    assert cleared.status_code == 200
    assert (cleared.get_json()["category_id"], cleared.get_json()["notes"]) == (None, None)


@needs_coda
def test_notes_alone_leave_the_transaction_to_the_rules(client: FlaskClient,
                                                        tenant_a: TenantFixture) -> None:
    import_coda(client, tenant_a)
    row = with_text(transactions(client, tenant_a), "VIVIUM")[0]
    response = client.patch(f"{TRANSACTIONS}/{row['id']}", headers=tenant_a.headers,
                            json={"notes": "to check"})
    assert response.get_json()["categorised_by"] is None


@needs_coda
@pytest.mark.parametrize(("body", "fields"), [
    ({"amount": "1.00"}, {"amount"}),
    ({"booking_date": "2026-01-01"}, {"booking_date"}),
    ({"counterparty_name": "Someone else", "notes": "x"}, {"counterparty_name"}),
    ({"remittance": "x", "counterparty_iban": CENTRAL}, {"remittance", "counterparty_iban"}),
    ({"categorised_by": "rule"}, {"categorised_by"}),
    ({"status": "pending"}, {"status"}),
    ({"category_id": str(uuid.uuid4())}, {"category_id"}),
    ({"contact_id": str(uuid.uuid4())}, {"contact_id"}),
    ({"category_id": "not-an-id"}, {"category_id"}),
    ({"ignore_for_forecast": "maybe"}, {"ignore_for_forecast"}),
])
def test_patch_transaction_refuses_bank_facts_by_name(client: FlaskClient,
                                                      tenant_a: TenantFixture,
                                                      body: dict[str, Any],
                                                      fields: set[str]) -> None:
    import_coda(client, tenant_a)
    row = transactions(client, tenant_a)[0]
    response = client.patch(f"{TRANSACTIONS}/{row['id']}", headers=tenant_a.headers, json=body)
    assert response.status_code == 422, response.get_json()
    assert error_fields(response) == fields
    assert client.get(f"{TRANSACTIONS}/{row['id']}", headers=tenant_a.headers).get_json() == row


# ------------------------------------------------------------------ other tenants

def signature(response: Any) -> tuple[int, str | None, str | None, list[tuple[str, str]]]:
    body = response.get_json(silent=True) or {}
    errors = sorted((e["field"], e.get("code", "")) for e in body.get("errors", []))
    return response.status_code, body.get("type"), body.get("code"), errors


def _call(client: FlaskClient, tenant: TenantFixture, method: str, path: str,
          body: dict[str, Any] | None, headers: dict[str, str]) -> Any:
    kwargs: dict[str, Any] = {"headers": {**tenant.headers, **headers}}
    if body is not None:
        kwargs["json"] = body
    return client.open(path, method=method, **kwargs)


ID_ROUTES = [
    ("GET", CATEGORIES + "/{id}", None, {}),
    ("PATCH", CATEGORIES + "/{id}", {"name": "Taken over"}, {}),
    ("PATCH", CATEGORIES + "/{id}", {"name": "Taken over"}, {"If-Match": '"1"'}),
    ("DELETE", CATEGORIES + "/{id}", None, {}),
    ("DELETE", CATEGORIES + "/{id}", None, {"If-Match": '"1"'}),
    ("GET", RULES + "/{id}", None, {}),
    ("PATCH", RULES + "/{id}", {"enabled": False}, {}),
    ("PATCH", RULES + "/{id}", {"enabled": False}, {"If-Match": '"1"'}),
    ("DELETE", RULES + "/{id}", None, {}),
    ("DELETE", RULES + "/{id}", None, {"If-Match": '"1"'}),
    ("GET", TRANSACTIONS + "/{id}", None, {}),
    ("PATCH", TRANSACTIONS + "/{id}", {"notes": "mine now"}, {}),
    ("PATCH", TRANSACTIONS + "/{id}", {"ignore_for_forecast": True}, {"If-Match": '"1"'}),
]


@needs_coda
def test_another_tenants_ids_are_unknown_ids_on_every_new_route(
        client: FlaskClient, tenant_a: TenantFixture, tenant_b: TenantFixture) -> None:
    # given A's category, contact, rule and transactions, and B's own category and contact
    a_category = create_category(client, tenant_a, "Alpha Secret")
    a_contact = create_contact(client, tenant_a, "Alpha Client")
    a_rule = create_rule(client, tenant_a, {"text_contains": "langerbrugge"},
                         {"category_id": a_category["id"]}, name="Alpha rule")
    import_coda(client, tenant_a)
    a_rows = transactions(client, tenant_a)
    a_row = a_rows[0]
    b_category = create_category(client, tenant_b, "Beta own")
    b_contact = create_contact(client, tenant_b, "Beta client")
    # when B calls every route with A's ids, and with ids that exist nowhere
    for method, template, body, headers in ID_ROUTES:
        kind = template.split("/")[3]
        a_id = {"categories": a_category, "rules": a_rule, "transactions": a_row}[kind]["id"]
        with_a = _call(client, tenant_b, method, template.format(id=a_id), body, headers)
        unknown = _call(client, tenant_b, method, template.format(id=uuid.uuid4()), body,
                        headers)
        # then both answers are the same 404, showing nothing of A's
        assert signature(with_a) == signature(unknown), (method, template, headers)
        assert with_a.status_code == 404, (method, template, with_a.get_json())
        assert "Alpha" not in with_a.get_data(as_text=True)
    # and B cannot point its rules or its transactions' edits at A's category or contact
    for actions in ({"category_id": a_category["id"]}, {"contact_id": a_contact["id"]}):
        field = f"actions.{next(iter(actions))}"
        body = {"name": "r", "conditions": {"direction": "in"}}
        with_a = client.post(RULES, headers=tenant_b.headers, json={**body, "actions": actions})
        unknown = client.post(RULES, headers=tenant_b.headers, json={
            **body, "actions": {key: str(uuid.uuid4()) for key in actions}})
        assert signature(with_a) == signature(unknown)
        assert with_a.status_code == 422 and error_fields(with_a) == {field}
    b_rule = create_rule(client, tenant_b, {"direction": "in"},
                         {"category_id": b_category["id"]})
    for actions in ({"category_id": a_category["id"]}, {"contact_id": a_contact["id"]}):
        response = client.patch(f"{RULES}/{b_rule['id']}", headers=tenant_b.headers,
                                json={"actions": actions})
        assert response.status_code == 422
    # and B's lists and cursors never show A's rows
    assert [c["id"] for c in client.get(CATEGORIES, headers=tenant_b.headers)
            .get_json()["data"]] == [b_category["id"]]
    assert [r["id"] for r in client.get(RULES, headers=tenant_b.headers)
            .get_json()["data"]] == [b_rule["id"]]
    for path, a_id in ((CATEGORIES, a_category["id"]), (RULES, a_rule["id"])):
        with_a = client.get(path, headers=tenant_b.headers, query_string={"starting_after": a_id})
        unknown = client.get(path, headers=tenant_b.headers,
                             query_string={"starting_after": str(uuid.uuid4())})
        assert signature(with_a) == signature(unknown) and with_a.status_code == 404
    # and B applying its rules to A's transactions touches nothing
    result = apply(client, tenant_b, transaction_ids=[r["id"] for r in a_rows])
    assert result == {"object": "rules_applied", "examined": 0, "matched": 0, "updated": 0,
                      "kept_by_user": 0}
    assert apply(client, tenant_b)["examined"] == 0
    assert transactions(client, tenant_a) == a_rows
    # and A's category, rule and contact are as they were
    assert client.get(f"{CATEGORIES}/{a_category['id']}",
                      headers=tenant_a.headers).get_json() == a_category
    assert client.get(f"{RULES}/{a_rule['id']}", headers=tenant_a.headers).get_json() == a_rule
    assert b_contact["id"] != a_contact["id"]
