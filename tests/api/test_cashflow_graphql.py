"""GraphQL face of cash flow: cashPosition, cashPositions, forecast (with a scenario),
scenarios and their mutations; payload errors named as GraphQL names them; another
tenant's scenario is unknown, lists never leak."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta

from tests.api.test_cashflow_api import add_account, open_receivable
from tests.invoicing import today

SCENARIO_FIELDS = "id name description adjustments version"
CREATE = f"""
mutation Create($input: ScenarioInput!) {{
  scenarioCreate(input: $input) {{ scenario {{ {SCENARIO_FIELDS} }}
                                   errors {{ field code message }} }}
}}"""
UPDATE = f"""
mutation Update($id: ID!, $input: ScenarioPatchInput!, $expectedVersion: Int) {{
  scenarioUpdate(id: $id, input: $input, expectedVersion: $expectedVersion) {{
    scenario {{ {SCENARIO_FIELDS} }} errors {{ field code message }} }}
}}"""
DELETE = """
mutation Delete($id: ID!) { scenarioDelete(id: $id) { deletedId errors { field code } } }"""
FORECAST = """
query F($h: Int, $g: String!, $s: ID) {
  forecast(horizonDays: $h, granularity: $g, scenarioId: $s) {
    asOf horizonDays granularity currency opening warnings
    buckets { start end opening inflows outflows closing low high
              items { key source kind label date amount lowDate lowAmount highDate
                      highAmount reason } }
  }
}"""
POSITION = """{ cashPosition { asOf currency total oldestSynchronizedAt warnings
                accounts { id currency balance balanceBase rate } } }"""
POSITIONS = """query P($from: Date) { cashPositions(from: $from, granularity: "day") {
               day currency total } }"""


def gql(client, query, tenant=None, **variables):
    headers = tenant.headers if tenant else {}
    response = client.post("/graphql", headers=headers,
                           json={"query": query, "variables": variables or None})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_position_and_forecast(client, db_session, tenant_a):
    add_account(client, db_session, tenant_a, "1000.00")
    invoice = open_receivable(client, tenant_a, 5, price="250.00")
    position = gql(client, POSITION, tenant_a)["data"]["cashPosition"]
    assert (position["total"], position["currency"]) == ("1000.00", "EUR")
    assert position["accounts"][0]["balanceBase"] == "1000.00"
    body = gql(client, FORECAST, tenant_a, h=14, g="day")["data"]["forecast"]
    assert (body["horizonDays"], body["granularity"], len(body["buckets"])) == (14, "day", 14)
    assert body["buckets"][-1]["closing"] == "1250.00"
    items = [i for b in body["buckets"] for i in b["items"]]
    assert [i["source"] for i in items] == [f"invoice:{invoice['id']}"]
    assert items[0]["date"] == (today() + timedelta(days=5)).isoformat()
    assert gql(client, POSITIONS, tenant_a, **{"from": today().isoformat()})["data"] == {
        "cashPositions": []}


def test_bad_arguments_are_coded_errors(client, tenant_a):
    body = gql(client, FORECAST, tenant_a, h=0, g="day")
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "INVALID"
    body = gql(client, FORECAST, tenant_a, g="year")
    assert body["errors"][0]["extensions"]["code"] == "INVALID"
    body = gql(client, FORECAST, tenant_a, g="day", s="bm9wZQ==")
    assert body["errors"][0]["extensions"]["code"] == "INVALID"


def test_scenario_mutations_and_their_forecast(client, db_session, tenant_a):
    add_account(client, db_session, tenant_a, "1000.00")
    invoice = open_receivable(client, tenant_a, 5, price="250.00")
    created = gql(client, CREATE, tenant_a, input={
        "name": "Late payer", "adjustments": [
            {"type": "delay_invoice", "invoice_id": invoice["id"], "days": 30}]})
    payload = created["data"]["scenarioCreate"]
    assert payload["errors"] == [] and payload["scenario"]["version"] == 1
    scenario = payload["scenario"]
    what_if = gql(client, FORECAST, tenant_a, h=14, g="week", s=scenario["id"])
    assert what_if["data"]["forecast"]["buckets"][-1]["closing"] == "1000.00"
    real = gql(client, FORECAST, tenant_a, h=14, g="week")
    assert real["data"]["forecast"]["buckets"][-1]["closing"] == "1250.00"
    # a bad adjustment names its path
    bad = gql(client, UPDATE, tenant_a, id=scenario["id"], input={
        "adjustments": [{"type": "change_amount", "source": "nothing", "amount": "1"}]})
    assert [e["field"] for e in bad["data"]["scenarioUpdate"]["errors"]] == [
        "adjustments.0.source"]
    renamed = gql(client, UPDATE, tenant_a, id=scenario["id"], input={"name": "Renamed"},
                  expectedVersion=1)["data"]["scenarioUpdate"]
    assert renamed["scenario"]["name"] == "Renamed" and renamed["scenario"]["version"] == 2
    stale = gql(client, UPDATE, tenant_a, id=scenario["id"], input={"name": "x"},
                expectedVersion=1)["data"]["scenarioUpdate"]
    assert stale["errors"][0]["code"] == "precondition_failed"
    listed = gql(client, "{ scenarios { id name } }", tenant_a)["data"]["scenarios"]
    assert [s["name"] for s in listed] == ["Renamed"]
    deleted = gql(client, DELETE, tenant_a, id=scenario["id"])["data"]["scenarioDelete"]
    assert deleted == {"deletedId": scenario["id"], "errors": []}


def test_another_tenants_scenario_is_unknown(client, tenant_a, tenant_b):
    scenario = gql(client, CREATE, tenant_a, input={"name": "Mine"})[
        "data"]["scenarioCreate"]["scenario"]
    one = f'{{ scenario(id: "{scenario["id"]}") {{ id }} }}'
    assert gql(client, one, tenant_b)["data"]["scenario"] is None
    node = f'{{ node(id: "{scenario["id"]}") {{ id }} }}'
    assert gql(client, node, tenant_b)["data"]["node"] is None
    forecast = gql(client, FORECAST, tenant_b, g="week", s=scenario["id"])
    assert forecast["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    update = gql(client, UPDATE, tenant_b, id=scenario["id"], input={"name": "x"})
    assert update["data"]["scenarioUpdate"]["errors"][0]["code"] == "not_found"
    delete = gql(client, DELETE, tenant_b, id=scenario["id"])
    assert delete["data"]["scenarioDelete"]["deletedId"] is None
    assert gql(client, "{ scenarios { id } }", tenant_b)["data"]["scenarios"] == []
    assert gql(client, POSITION, tenant_b)["data"]["cashPosition"]["total"] == "0.00"
    assert gql(client, one, tenant_a)["data"]["scenario"]["id"] == scenario["id"]


def test_unauthenticated_reads_answer_unauthenticated(client):
    body = gql(client, POSITION)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    contact_id = base64.b64encode(f"Contact:{uuid.uuid4()}".encode()).decode()
    body = gql(client, f'{{ scenario(id: "{contact_id}") {{ id }} }}')
    assert body["errors"][0]["extensions"]["code"] in ("UNAUTHENTICATED", "INVALID")
