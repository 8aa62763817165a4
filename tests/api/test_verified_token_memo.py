"""The verified-token memo of smbfinance.web.auth: a token is decoded once per worker, its
expiry is still enforced, and revocation is still checked on every request."""

from __future__ import annotations

import time

import jwt
import pytest

from smbfinance.web import auth as web_auth
from tests.factories import add_member


@pytest.fixture()
def decodes(monkeypatch):
    """How many times flask-jwt-extended verified a token."""
    calls = []
    real = web_auth.verify_jwt_in_request

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(web_auth, "verify_jwt_in_request", counting)
    return calls


def test_a_token_is_decoded_once_then_remembered(client, tenant_a, decodes):
    # given a token verified on a first request
    assert client.get("/api/v1/me", headers=tenant_a.headers).status_code == 200
    first = len(decodes)
    # when the same token comes again
    assert client.get("/api/v1/me", headers=tenant_a.headers).status_code == 200
    assert client.get("/api/v1/invoices", headers=tenant_a.headers).status_code == 200
    # then it was not decoded again
    assert first == 1 and len(decodes) == 1


def test_a_remembered_token_past_its_expiry_is_verified_again(client, tenant_a, decodes,
                                                             monkeypatch):
    # given a remembered token
    assert client.get("/api/v1/me", headers=tenant_a.headers).status_code == 200
    expires = jwt.decode(tenant_a.access_token, options={"verify_signature": False})["exp"]
    # when the clock passes its expiry
    monkeypatch.setattr(web_auth.time, "time", lambda: expires + 1.0)
    client.get("/api/v1/me", headers=tenant_a.headers)
    # then the memo is not trusted: flask-jwt-extended decides again
    assert len(decodes) == 2


def test_an_expired_token_is_refused_even_when_remembered(app, client, tenant_a, monkeypatch):
    # given a remembered token
    assert client.get("/api/v1/me", headers=tenant_a.headers).status_code == 200
    expires = jwt.decode(tenant_a.access_token, options={"verify_signature": False})["exp"]
    # when both our clock and PyJWT's are past its expiry
    later = expires + 1.0
    monkeypatch.setattr(web_auth.time, "time", lambda: later)
    monkeypatch.setattr(jwt.api_jwt, "datetime", _FrozenDatetime(later))
    response = client.get("/api/v1/me", headers=tenant_a.headers)
    # then it is refused like any expired token
    assert response.status_code == 401


def test_a_removed_member_is_refused_although_their_token_is_remembered(client, tenant_a):
    # given a member whose token was verified and remembered
    member = add_member(client, tenant_a, "accountant")
    assert client.get("/api/v1/invoices", headers=member.headers).status_code == 200
    # when the owner removes them
    assert client.delete(f"/api/v1/members/{member.user_id}",
                         headers=tenant_a.headers).status_code == 204
    # then the very next request is refused: membership is checked every time
    assert client.get("/api/v1/invoices", headers=member.headers).status_code == 401


def test_a_logged_out_token_is_refused_although_remembered(client, tenant_a):
    assert client.get("/api/v1/invoices", headers=tenant_a.headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=tenant_a.headers).status_code == 204
    assert client.get("/api/v1/invoices", headers=tenant_a.headers).status_code == 401


class _FrozenDatetime:
    """Stands in for datetime in jwt.api_jwt so that PyJWT's now() is `timestamp`."""

    def __init__(self, timestamp: float) -> None:
        self._timestamp = timestamp

    def now(self, tz=None):
        from datetime import datetime

        return datetime.fromtimestamp(self._timestamp, tz)

    def __getattr__(self, name):
        from datetime import datetime

        return getattr(datetime, name)


def test_the_memo_is_bounded(app, client, tenant_a):
    # given a memo already full of other tokens
    memo = app.extensions.setdefault(web_auth._VERIFIED_KEY, {})
    memo.pop(tenant_a.headers["Authorization"], None)
    n = 0
    while len(memo) < web_auth._VERIFIED_MAX:
        memo[f"Bearer other-{n}"] = web_auth._Verified({}, {}, time.time() + 60)
        n += 1
    oldest = next(iter(memo))
    # when one more token is verified
    assert client.get("/api/v1/me", headers=tenant_a.headers).status_code == 200
    # then the oldest made room for it
    assert len(memo) == web_auth._VERIFIED_MAX
    assert oldest not in memo and tenant_a.headers["Authorization"] in memo
