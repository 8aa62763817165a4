"""The integrations' HTTP client over loopback: redirects to another host are refused,
same-origin ones followed, bodies above the cap refused while streaming, and links that
leave the provider's origin never fetched."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from werkzeug.wrappers import Request, Response

from smbfinance.integrations.providers.errors import MalformedResponse, RedirectRefused
from smbfinance.integrations.providers.http import HttpClient, HttpPolicy, parse_retry_after
from smbfinance.integrations.sandbox.server import LoopbackServer


def app(environ, start_response):
    request = Request(environ)
    if request.path == "/away":
        response = Response(status=302, headers={"Location": "http://198.51.100.1/steal"})
    elif request.path == "/other-port":
        response = Response(status=307, headers={"Location": "http://127.0.0.1:1/x"})
    elif request.path == "/here":
        response = Response(status=302, headers={"Location": "/ok"})
    elif request.path == "/loop":
        response = Response(status=302, headers={"Location": "/loop"})
    elif request.path == "/big":
        response = Response(b"x" * 300_000)
    elif request.path == "/streamed-big":
        response = Response((b"y" * 65536 for _ in range(10)), direct_passthrough=True)
    else:
        response = Response(b'{"ok": true}', content_type="application/json")
    return response(environ, start_response)


@pytest.fixture(scope="module")
def server():
    with LoopbackServer(app) as running:
        yield running


@pytest.fixture
def http(server):
    return HttpClient(provider="ponto", base_url=server.url,
                      policy=HttpPolicy(max_bytes=100_000, max_attempts=1))


def body(response):
    return response.body


@pytest.mark.parametrize("path", ["/away", "/other-port"])
def test_a_redirect_to_another_origin_is_refused(http, path):
    with pytest.raises(RedirectRefused):
        http.send("GET", path, parse=body)


def test_a_same_origin_redirect_is_followed_a_few_times_only(http):
    assert http.send("GET", "/here", parse=body) == b'{"ok": true}'
    with pytest.raises(RedirectRefused):
        http.send("GET", "/loop", parse=body)


@pytest.mark.parametrize("path", ["/big", "/streamed-big"])
def test_a_body_above_the_cap_is_refused(http, path):
    with pytest.raises(MalformedResponse, match="larger than"):
        http.send("GET", path, parse=body)


def test_links_outside_the_origin_are_never_fetched(http):
    with pytest.raises(RedirectRefused):
        http.send("GET", "http://198.51.100.1/ponto-connect/accounts", parse=body)


def test_retry_after_reads_seconds_and_http_dates():
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Sun, 22 Nov 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Sun, 22 Nov 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
