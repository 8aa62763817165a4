"""Every error leaves the REST door as RFC 9457 problem+json: the same shape for each
status, the request id echoed, never HTML, never a stack trace."""

from __future__ import annotations

import pytest

from smbfinance.extensions import db
from tests.conftest import make_app, register_tenant
from tests.factories import add_member, unique_email

PROBLEM_JSON = "application/problem+json"


def assert_problem(response, status, request_id=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    body = response.get_json()
    assert isinstance(body["type"], str) and body["type"].startswith("https://")
    assert isinstance(body["title"], str) and body["title"]
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    echoed = response.headers["X-Request-ID"]
    assert body["request_id"] == echoed
    if request_id is not None:
        assert echoed == request_id
    text = response.get_data(as_text=True)
    assert "<html" not in text.lower() and "Traceback" not in text
    return body


def _rid(status):
    return {"X-Request-ID": f"test-{status}-problem"}


@pytest.fixture(scope="module")
def spare_apps(infrastructure):
    apps = []
    yield lambda **overrides: apps.append(make_app(infrastructure, **overrides)) or apps[-1]
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def test_400_malformed_json(client):
    # given a body that is not valid JSON
    # when it is sent as JSON
    response = client.post("/api/v1/auth/login", data='{"email": ', headers=_rid(400),
                           content_type="application/json")
    # then 400 problem+json
    assert_problem(response, 400, "test-400-problem")


def test_401_without_a_token(client):
    # given no token
    # when a protected resource is read
    response = client.get("/api/v1/me", headers=_rid(401))
    # then 401 problem+json with a challenge
    assert_problem(response, 401, "test-401-problem")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_403_for_a_role_without_the_permission(client, tenant_a):
    # given a viewer
    viewer = add_member(client, tenant_a, "viewer")
    # when they list members
    response = client.get("/api/v1/members", headers={**viewer.headers, **_rid(403)})
    # then 403 problem+json
    assert_problem(response, 403, "test-403-problem")


@pytest.mark.parametrize("path", ["/api/v1/nope", "/nope"])
def test_404_for_an_unknown_route(client, path):
    # given a path nothing serves
    # when it is requested
    response = client.get(path, headers=_rid(404))
    # then 404 problem+json, inside the API and outside it
    assert_problem(response, 404, "test-404-problem")


def test_405_with_allow_header(client):
    # given an endpoint that only accepts POST
    # when it is called with DELETE
    response = client.delete("/api/v1/auth/login", headers=_rid(405))
    # then 405 problem+json naming the allowed methods
    assert_problem(response, 405, "test-405-problem")
    assert "POST" in response.headers["Allow"]


def test_409_for_an_existing_account(client, tenant_a):
    # given an existing account
    # when someone registers with its email
    response = client.post("/api/v1/auth/register", headers=_rid(409), json={
        "company_name": "Copycat", "email": tenant_a.email, "password": "long enough pw"})
    # then 409 problem+json
    assert_problem(response, 409, "test-409-problem")


def test_413_for_a_body_over_the_limit(spare_apps):
    # given an app that accepts at most 1 KiB
    client = spare_apps(MAX_CONTENT_LENGTH=1024).test_client()
    # when a larger JSON body arrives
    response = client.post("/api/v1/auth/register", headers=_rid(413), json={
        "company_name": "x" * 2000, "email": unique_email(), "password": "long enough pw"})
    # then 413 problem+json
    assert_problem(response, 413, "test-413-problem")


def test_415_for_a_body_that_is_not_json(client):
    # given a text/plain body
    # when it is sent to a JSON endpoint
    response = client.post("/api/v1/auth/login", data="email=a@b.c", headers=_rid(415),
                           content_type="text/plain")
    # then 415 problem+json
    assert_problem(response, 415, "test-415-problem")


def test_422_names_each_missing_field(client):
    # given a registration without any field
    # when it is sent
    response = client.post("/api/v1/auth/register", json={}, headers=_rid(422))
    # then 422 problem+json lists the fields at fault
    body = assert_problem(response, 422, "test-422-problem")
    fields = {e["field"] for e in body["errors"]}
    assert {"email", "password", "company_name"} <= fields
    assert all(isinstance(e["message"], str) and e["message"] for e in body["errors"])


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/tenant", {"legal_name": "Alpha\u0000"}, "legal_name"),
    ("/api/v1/tenant", {"settings": {"low_cash_threshold": "1\u0000"}},
     "settings.low_cash_threshold"),
    ("/api/v1/members?x=%00", None, "query:x"),
])
def test_422_for_a_nul_character_postgresql_cannot_store(client, tenant_a, path, body, field):
    # given a value holding a NUL character, in the body or the query string
    # when it is sent
    if body is None:
        response = client.get(path, headers={**tenant_a.headers, **_rid(422)})
    else:
        response = client.patch(path, json=body, headers={**tenant_a.headers, **_rid(422)})
    # then 422 names the field instead of a server error
    body = assert_problem(response, 422, "test-422-problem")
    assert [e["field"] for e in body["errors"]] == [field]


def test_429_with_retry_after(spare_apps):
    # given an app allowing one login attempt per account per minute
    client = spare_apps(LOGIN_RATE_LIMIT_PER_ACCOUNT="1 per minute").test_client()
    email = unique_email("limited")
    client.post("/api/v1/auth/login", json={"email": email, "password": "wrong password"})
    # when a second attempt arrives
    response = client.post("/api/v1/auth/login", headers=_rid(429),
                           json={"email": email, "password": "wrong password"})
    # then 429 problem+json tells when to retry
    assert_problem(response, 429, "test-429-problem")
    assert int(response.headers["Retry-After"]) > 0


def test_500_hides_the_exception_and_keeps_the_request_id(spare_apps):
    # given an app with a route that fails unexpectedly
    app = spare_apps()

    @app.get("/api/v1/explode")
    def explode():
        raise RuntimeError("secret internal detail: password=hunter2")

    # when it is called without a request id
    response = app.test_client().get("/api/v1/explode")
    # then 500 problem+json, without the exception's text, with a generated request id
    body = assert_problem(response, 500)
    assert "hunter2" not in response.get_data(as_text=True)
    assert "RuntimeError" not in response.get_data(as_text=True)
    assert len(body["request_id"]) >= 16


def test_a_generated_request_id_is_returned_when_none_is_given(client):
    # given no X-Request-ID header
    # when any request is made
    response = client.get("/api/v1/me")
    # then one is generated, returned in the header and the body alike
    body = assert_problem(response, 401)
    assert body["request_id"] == response.headers["X-Request-ID"]


def test_an_insane_request_id_is_replaced(client):
    # given a request id with characters that could forge log lines
    # when it is sent
    forged = 'a b" level=ERROR msg="forged'
    response = client.get("/api/v1/me", headers={"X-Request-ID": forged})
    # then a fresh id is used instead
    assert response.headers["X-Request-ID"] != forged
    assert_problem(response, 401)


def test_no_error_is_html_even_when_the_client_prefers_it(client, infrastructure):
    # given a browser-like Accept header
    headers = {"Accept": "text/html,application/xhtml+xml"}
    # when errors of several kinds are provoked
    responses = [
        client.get("/nope", headers=headers),
        client.get("/api/v1/me", headers=headers),
        client.put("/api/v1/me", headers=headers),
        client.post("/api/v1/auth/login", data="x", content_type="text/plain", headers=headers),
    ]
    # then every one is problem+json
    for response in responses:
        assert response.mimetype == PROBLEM_JSON
        assert not response.get_data(as_text=True).lstrip().startswith("<")


def test_a_registered_tenant_is_not_an_error(client):
    # given the shape checks above (control: a success is not problem+json)
    tenant = register_tenant(client, "Epsilon Events")
    # when a protected resource is read with a token
    response = client.get("/api/v1/me", headers=tenant.headers)
    # then it is plain JSON
    assert response.status_code == 200 and response.mimetype == "application/json"
