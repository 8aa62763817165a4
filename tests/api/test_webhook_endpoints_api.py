"""REST: /api/v1/webhook-endpoints — secret shown once, CRUD with ETag, SSRF refusals as
422, rotation, test and retry, roles, and cross-tenant attempts on every route."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from smbfinance.webhooks import signing
from tests.factories import add_member

ENDPOINTS = "/api/v1/webhook-endpoints"
PROBLEM_JSON = "application/problem+json"
LOOPBACK = "http://127.0.0.1:9/hooks"


def create(client: Any, tenant: Any, **overrides: Any) -> Any:
    body = {"url": LOOPBACK, "event_types": ["invoice.paid"], **overrides}
    return client.post(ENDPOINTS, headers=tenant.headers, json=body)


def test_create_shows_the_secret_once(client, tenant_a) -> None:
    # when an endpoint is created
    response = create(client, tenant_a, description="ERP sync", filter={"direction": "receivable"})
    # then 201 with a whsec_ secret and an ETag
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["secret"].startswith("whsec_") and len(signing.decode_secret(body["secret"])) == 32
    assert body["object"] == "webhook_endpoint" and body["enabled"] is True
    assert body["event_types"] == ["invoice.paid"] and body["filter"] == {"direction": "receivable"}
    assert response.headers["ETag"] == f'"{body["version"]}"'
    # and reading it again never shows the secret
    read = client.get(f"{ENDPOINTS}/{body['id']}", headers=tenant_a.headers)
    assert read.status_code == 200 and "secret" not in read.get_json()
    listed = client.get(ENDPOINTS, headers=tenant_a.headers).get_json()
    assert [e["id"] for e in listed["data"]] == [body["id"]]
    assert "secret" not in listed["data"][0]


@pytest.mark.parametrize("url", [
    "https://169.254.169.254/latest/meta-data/", "https://2130706433/", "https://0x7f000001/",
    "https://[::ffff:127.0.0.1]/", "https://10.0.0.1/", "https://localhost/hook",
    "ftp://example.com/", "https://user:pass@example.com/", "http://10.1.2.3/hook",
])
def test_unsafe_urls_are_refused(client, tenant_a, url: str) -> None:
    response = create(client, tenant_a, url=url)
    assert response.status_code == 422 and response.mimetype == PROBLEM_JSON
    assert [e["field"] for e in response.get_json()["errors"]] == ["url"]


def test_unknown_event_types_and_bad_filters_are_refused(client, tenant_a) -> None:
    response = create(client, tenant_a, event_types=["invoice.paid", "invoice.exploded"],
                      filter={"Bad Path!": 1, "amount": 1.5})
    assert response.status_code == 422
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert fields == {"event_types.1", "filter", "filter.amount"}
    assert create(client, tenant_a, event_types=[]).status_code == 422


def test_patch_with_if_match_and_re_enable(client, tenant_a) -> None:
    created = create(client, tenant_a).get_json()
    path = f"{ENDPOINTS}/{created['id']}"
    # when disabled with the current ETag
    first = client.patch(path, headers={**tenant_a.headers, "If-Match": f'"{created["version"]}"'},
                         json={"enabled": False, "event_types": ["*"]})
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["enabled"] is False and body["disabled_reason"] == "disabled by a user"
    assert body["event_types"] == ["*"]
    # then a stale ETag is refused
    stale = client.patch(path, headers={**tenant_a.headers, "If-Match": f'"{created["version"]}"'},
                         json={"enabled": True})
    assert stale.status_code == 412
    # and enabling again clears the reason
    again = client.patch(path, headers=tenant_a.headers, json={"enabled": True}).get_json()
    assert again["enabled"] is True and again["disabled_reason"] is None


def test_delete_hides_the_endpoint(client, tenant_a) -> None:
    created = create(client, tenant_a).get_json()
    path = f"{ENDPOINTS}/{created['id']}"
    assert client.delete(path, headers=tenant_a.headers).status_code == 204
    assert client.get(path, headers=tenant_a.headers).status_code == 404
    assert client.get(ENDPOINTS, headers=tenant_a.headers).get_json()["data"] == []


def test_rotation_returns_a_new_secret_and_the_overlap(client, tenant_a) -> None:
    created = create(client, tenant_a).get_json()
    response = client.post(f"{ENDPOINTS}/{created['id']}/rotate-secret",
                           headers=tenant_a.headers, json={"overlap_seconds": 3600})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["secret"] != created["secret"] and body["secret"].startswith("whsec_")
    assert body["previous_secret_expires_at"] is not None
    refused = client.post(f"{ENDPOINTS}/{created['id']}/rotate-secret",
                          headers=tenant_a.headers, json={"overlap_seconds": 10**9})
    assert refused.status_code == 422


def test_test_event_and_retry_are_queued(client, tenant_a) -> None:
    created = create(client, tenant_a).get_json()
    test = client.post(f"{ENDPOINTS}/{created['id']}/test", headers=tenant_a.headers)
    assert test.status_code == 202, test.get_json()
    delivery = test.get_json()
    assert (delivery["event_type"], delivery["status"]) == ("webhook.test", "pending")
    listed = client.get(f"{ENDPOINTS}/{created['id']}/deliveries",
                        headers=tenant_a.headers).get_json()
    assert [d["id"] for d in listed["data"]] == [delivery["id"]]
    one = client.get(f"{ENDPOINTS}/{created['id']}/deliveries/{delivery['id']}",
                     headers=tenant_a.headers)
    assert one.status_code == 200 and one.get_json()["webhook_id"] == delivery["webhook_id"]
    retried = client.post(f"{ENDPOINTS}/{created['id']}/deliveries/{delivery['id']}/retry",
                          headers=tenant_a.headers)
    assert retried.status_code == 202 and retried.get_json()["status"] == "pending"
    filtered = client.get(f"{ENDPOINTS}/{created['id']}/deliveries?status=delivered",
                          headers=tenant_a.headers).get_json()
    assert filtered["data"] == []


def test_retry_on_a_disabled_endpoint_is_a_conflict(client, tenant_a) -> None:
    created = create(client, tenant_a).get_json()
    delivery = client.post(f"{ENDPOINTS}/{created['id']}/test", headers=tenant_a.headers
                           ).get_json()
    client.patch(f"{ENDPOINTS}/{created['id']}", headers=tenant_a.headers,
                 json={"enabled": False})
    response = client.post(f"{ENDPOINTS}/{created['id']}/deliveries/{delivery['id']}/retry",
                           headers=tenant_a.headers)
    assert response.status_code == 409


@pytest.mark.parametrize("role", ["accountant", "viewer"])
def test_only_owners_and_admins_manage_endpoints(client, tenant_a, role: str) -> None:
    member = add_member(client, tenant_a, role)
    assert create(client, member).status_code == 403
    assert client.get(ENDPOINTS, headers=member.headers).status_code == 403


def test_admins_manage_endpoints(client, tenant_a) -> None:
    admin = add_member(client, tenant_a, "admin")
    assert create(client, admin).status_code == 201


def test_without_a_token_401(client) -> None:
    assert client.get(ENDPOINTS).status_code == 401


def test_another_tenant_cannot_reach_any_route(client, tenant_a, tenant_b) -> None:
    # given tenant A's endpoint and a delivery
    created = create(client, tenant_a).get_json()
    delivery = client.post(f"{ENDPOINTS}/{created['id']}/test", headers=tenant_a.headers
                           ).get_json()
    base = f"{ENDPOINTS}/{created['id']}"
    one = f"{base}/deliveries/{delivery['id']}"
    # when tenant B tries every route with A's ids / then 404 everywhere, and empty lists
    calls = [
        ("get", base, None), ("patch", base, {"enabled": False}), ("delete", base, None),
        ("post", f"{base}/rotate-secret", {}), ("post", f"{base}/test", None),
        ("get", f"{base}/deliveries", None), ("get", one, None),
        ("post", f"{one}/retry", None),
    ]
    for method, path, body in calls:
        kwargs = {"headers": tenant_b.headers}
        if body is not None:
            kwargs["json"] = body
        response = getattr(client, method)(path, **kwargs)
        assert response.status_code == 404, (method, path, response.get_json())
    assert client.get(ENDPOINTS, headers=tenant_b.headers).get_json()["data"] == []
    # and A's endpoint is untouched
    after = client.get(base, headers=tenant_a.headers).get_json()
    assert after["enabled"] is True and after["version"] == created["version"]
    # and B's own endpoint cannot reach A's delivery
    mine = create(client, tenant_b).get_json()
    assert client.get(f"{ENDPOINTS}/{mine['id']}/deliveries/{delivery['id']}",
                      headers=tenant_b.headers).status_code == 404
    assert client.get(f"{ENDPOINTS}/{uuid.uuid4()}", headers=tenant_b.headers
                      ).status_code == 404
