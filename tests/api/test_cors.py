"""CORS: configured web origins may call the API from a browser; others get no grant."""

from __future__ import annotations

from flask.testing import FlaskClient

from smbfinance.devstack.prepare import Infrastructure
from tests.conftest import make_app


def _preflight(client: FlaskClient, origin: str):
    return client.options("/api/v1/me", headers={
        "Origin": origin, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "Authorization"})


def test_configured_origin_is_allowed_and_sees_request_id(infrastructure: Infrastructure) -> None:
    # given an app configured for the web app's origin
    app = make_app(infrastructure, CORS_ORIGINS=["https://app.example"])
    client = app.test_client()
    # when the browser sends a preflight and then a request
    preflight = _preflight(client, "https://app.example")
    response = client.get("/api/v1/openapi.json", headers={"Origin": "https://app.example"})
    # then the origin is granted and may read X-Request-ID
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "X-Request-ID" in response.headers["Access-Control-Expose-Headers"]


def test_other_origin_gets_no_grant(infrastructure: Infrastructure) -> None:
    app = make_app(infrastructure, CORS_ORIGINS=["https://app.example"])
    preflight = _preflight(app.test_client(), "https://evil.example")
    assert "Access-Control-Allow-Origin" not in preflight.headers
