"""The Ponto Connect simulator answers like the real service over loopback HTTP: OAuth2 with
PKCE and rotating refresh tokens, JSON:API cursor paging, synchronizations, data that grows
with the clock (pending movements book under new ids), consent expiry and fault knobs."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from smbfinance.integrations.sandbox.clock import ManualClock
from smbfinance.integrations.sandbox.ponto import PontoSimulator

START = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
REDIRECT = "http://127.0.0.1:1/callback"


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def sim(clock):
    simulator = PontoSimulator(clock=clock, page_size=5)
    server = simulator.serve().start()
    yield simulator
    simulator.stop_waiting()
    server.stop()


def _authorize(sim, verifier=None):
    verifier = verifier or secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    answer = requests.get(sim.authorization_url, allow_redirects=False, timeout=5, params={
        "client_id": sim.client_id, "response_type": "code", "redirect_uri": REDIRECT,
        "scope": "ai offline_access", "state": "st", "code_challenge": challenge,
        "code_challenge_method": "S256", "company": "acme"})
    assert answer.status_code == 302
    query = parse_qs(urlparse(answer.headers["Location"]).query)
    assert query["state"] == ["st"]
    return query["code"][0], verifier


def _token(sim, **form):
    return requests.post(sim.api_url + "/oauth2/token", data=form, timeout=5,
                         auth=(sim.client_id, sim.client_secret))


def _tokens(sim):
    code, verifier = _authorize(sim)
    answer = _token(sim, grant_type="authorization_code", code=code, code_verifier=verifier,
                    redirect_uri=REDIRECT, client_id=sim.client_id)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _get(sim, token, path, **params):
    return requests.get(sim.api_url + path, params=params, timeout=5,
                        headers={"Authorization": f"Bearer {token}"})


def _walk(sim, token, path):
    ids, url, pages = [], sim.api_url + path, 0
    while url:
        body = requests.get(url, timeout=5, headers={"Authorization": f"Bearer {token}"}).json()
        ids += [r["id"] for r in body["data"]]
        url = body["links"].get("next")
        pages += 1
    return ids, pages


def test_the_code_grant_needs_the_pkce_verifier_and_is_single_use(sim):
    # given an authorization code
    code, verifier = _authorize(sim)
    # when it is exchanged with a wrong verifier, then with the right one, then again
    wrong = _token(sim, grant_type="authorization_code", code=code, code_verifier="x" * 43,
                   redirect_uri=REDIRECT)
    # then the wrong verifier burns the code (invalid_grant) like a real server would
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    code, verifier = _authorize(sim)
    ok = _token(sim, grant_type="authorization_code", code=code, code_verifier=verifier,
                redirect_uri=REDIRECT)
    assert ok.status_code == 200
    assert set(ok.json()) == {"access_token", "expires_in", "refresh_token", "scope",
                              "token_type"}
    again = _token(sim, grant_type="authorization_code", code=code, code_verifier=verifier,
                   redirect_uri=REDIRECT)
    assert again.status_code == 400


def test_refresh_tokens_rotate_and_a_reused_one_kills_the_family(sim):
    # given tokens
    first = _tokens(sim)
    # when the refresh token is used, then used again
    second = _token(sim, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    replay = _token(sim, grant_type="refresh_token", refresh_token=first["refresh_token"])
    # then the replay is refused and the newest tokens die with it
    assert replay.json()["error"] == "invalid_grant"
    assert _get(sim, second.json()["access_token"], "/accounts").status_code == 401


def test_client_authentication_is_required(sim):
    answer = requests.post(sim.api_url + "/oauth2/token", timeout=5,
                           data={"grant_type": "refresh_token", "refresh_token": "x"},
                           auth=(sim.client_id, "wrong"))
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_accounts_and_paged_transactions_have_the_jsonapi_shapes(sim):
    # given a connected organization
    token = _tokens(sim)["access_token"]
    # when accounts and a page of transactions are read
    accounts = _get(sim, token, "/accounts")
    assert accounts.headers["Content-Type"] == "application/vnd.api+json"
    assert accounts.headers["ibanity-request-id"]
    account = accounts.json()["data"][0]
    assert account["type"] == "account"
    assert {"currentBalance", "availableBalance", "authorizationExpirationExpectedAt",
            "reference", "referenceType", "currency"} <= set(account["attributes"])
    page = _get(sim, token, f"/accounts/{account['id']}/transactions", **{"page[limit]": 5})
    body = page.json()
    # then lists carry paging meta, links and relationships
    assert body["meta"]["paging"] == {"limit": 5}
    assert body["meta"]["synchronizedAt"] == "2026-11-22T20:00:00.000Z"
    assert len(body["data"]) == 5
    first = body["data"][0]
    assert first["relationships"]["account"]["data"] == {"type": "account", "id": account["id"]}
    assert "next" in body["links"]
    # and walking the cursors gives every movement once, newest first
    ids, pages = _walk(sim, token, f"/accounts/{account['id']}/transactions")
    assert len(ids) == len(set(ids)) > 5
    booked = [m for m in sim.movements(account["id"]) if m.booked_at <= START]
    assert set(ids) == {m.booked_id for m in booked}
    assert pages == -(-len(ids) // 5)


def test_unknown_cursor_and_resource_give_jsonapi_errors(sim):
    token = _tokens(sim)["access_token"]
    assert _get(sim, token, "/accounts/nope").json()["errors"][0]["code"] == "resourceNotFound"
    account = _get(sim, token, "/accounts").json()["data"][0]["id"]
    bad = _get(sim, token, f"/accounts/{account}/transactions", **{"page[after]": "zzz"})
    assert bad.status_code == 400
    assert _get(sim, token, f"/accounts/{account}/transactions",
                **{"page[limit]": "0"}).status_code == 400


def test_a_synchronization_brings_the_days_movements_and_pending_books_under_a_new_id(
        sim, clock):
    # given an account read in the morning, with yesterday's movements pending till 06:00
    tokens = _tokens(sim)
    token = tokens["access_token"]
    account = sim.account_id("acme-main")
    pending_before = {r["id"] for r in _get(sim, token, f"/accounts/{account}/pending-"
                                            "transactions").json()["data"]}
    ids_before, _ = _walk(sim, token, f"/accounts/{account}/transactions")
    assert len(pending_before) == 2  # today's two movements (19:00 and 13:00)
    # when two days pass and a synchronization runs to success
    clock.advance(timedelta(days=2))
    token = _token(sim, grant_type="refresh_token",
                   refresh_token=tokens["refresh_token"]).json()["access_token"]
    created = requests.post(sim.api_url + "/synchronizations", timeout=5, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/vnd.api+json"},
        json={"data": {"type": "synchronization", "attributes": {
            "resourceType": "account", "resourceId": account,
            "subtype": "accountTransactions", "customerIpAddress": "203.0.113.9"}}})
    assert created.status_code == 201
    sync_id = created.json()["data"]["id"]
    statuses = [_get(sim, token, f"/synchronizations/{sync_id}").json()["data"]["attributes"]
                ["status"] for _ in range(3)]
    assert statuses == ["running", "success", "success"]
    # then new booked movements appear, each listed in updated-transactions
    ids_after, _ = _walk(sim, token, f"/accounts/{account}/transactions")
    updated, _ = _walk(sim, token, f"/synchronizations/{sync_id}/updated-transactions")
    assert set(ids_before) < set(ids_after)
    assert set(updated) == set(ids_after) - set(ids_before)
    # and what was pending is now booked under another id
    rebooked = [m for m in sim.movements(account) if m.pending_id in pending_before]
    assert len(rebooked) == 2
    for movement in rebooked:
        assert movement.booked_id in ids_after
        assert movement.booked_id not in ids_before
        assert movement.pending_id not in ids_after


def test_synchronizations_are_rationed_and_stop_when_consent_expires(sim):
    token = _tokens(sim)["access_token"]
    account = sim.account_id("acme-main")

    def create(key=None):
        headers = {"Authorization": f"Bearer {token}"}
        if key:
            headers["Ibanity-Idempotency-Key"] = key
        return requests.post(sim.api_url + "/synchronizations", timeout=5, headers=headers,
                             json={"data": {"type": "synchronization", "attributes": {
                                 "resourceType": "account", "resourceId": account,
                                 "subtype": "accountDetails"}}}).json()["data"]

    # given the same idempotency key sent twice: one synchronization
    assert create("k1")["id"] == create("k1")["id"]
    # when more than four are asked for the same account in a day
    results = [create()["attributes"] for _ in range(4)]
    # then the fifth fails with a rate-limit error
    assert [r["status"] for r in results] == ["pending"] * 3 + ["error"]
    assert results[-1]["errors"][0]["code"] == "accountRateLimitExceeded"
    # and once consent expired, the account says so and synchronizations fail
    sim.expire_consent("acme")
    expiry = _get(sim, token, f"/accounts/{account}").json()["data"]["attributes"][
        "authorizationExpirationExpectedAt"]
    assert expiry < "2026-11-22T20:00:00.000Z"
    assert create()["attributes"]["errors"][0]["code"] == "authorizationExpired"


@pytest.mark.parametrize(("kind", "params", "status"), [
    ("status", {"status": 503}, 503),
    ("status", {"status": 500}, 500),
    ("status", {"status": 429, "retry_after": 7}, 429),
    ("quota", {}, 429),
    ("expired_token", {}, 401),
])
def test_error_knobs_answer_once_then_normally(sim, kind, params, status):
    token = _tokens(sim)["access_token"]
    sim.faults.add(kind, path="/accounts$", **params)
    failed = _get(sim, token, "/accounts")
    assert failed.status_code == status
    assert failed.json()["errors"][0]["code"]
    if "retry_after" in params:
        assert failed.headers["Retry-After"] == "7"
    assert _get(sim, token, "/accounts").status_code == 200


def test_body_knobs_break_the_json(sim):
    token = _tokens(sim)["access_token"]
    for kind in ("malformed", "truncated"):
        sim.faults.add(kind, path="/accounts$")
        with pytest.raises(ValueError):
            _get(sim, token, "/accounts").json()


def test_page_knobs_duplicate_and_reorder(sim):
    token = _tokens(sim)["access_token"]
    account = sim.account_id("acme-main")
    path = f"/accounts/{account}/transactions"
    first = _get(sim, token, path).json()
    second_url = first["links"]["next"]
    sim.faults.add("duplicate_page", path="/transactions$")
    duplicated = requests.get(second_url, timeout=5,
                              headers={"Authorization": f"Bearer {token}"}).json()["data"]
    assert [r["id"] for r in duplicated[:5]] == [r["id"] for r in first["data"]]
    sim.faults.add("reorder", path="/transactions$")
    reordered = _get(sim, token, path).json()["data"]
    assert [r["id"] for r in reordered] == [r["id"] for r in reversed(first["data"])]


def test_revoked_tokens_stop_working(sim):
    tokens = _tokens(sim)
    requests.post(sim.api_url + "/oauth2/revoke", data={"token": tokens["refresh_token"]},
                  auth=(sim.client_id, sim.client_secret), timeout=5)
    assert _get(sim, tokens["access_token"], "/accounts").status_code == 401
    refreshed = _token(sim, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed.json()["error"] == "invalid_grant"


def test_the_webhook_keys_are_a_jwks(sim):
    keys = requests.get(sim.api_url + "/webhooks/keys", timeout=5).json()["keys"]
    assert keys[0]["kty"] == "RSA"
    assert keys[0]["alg"] == "RS512"
    assert keys[0]["kid"] == sim.webhook_kid
