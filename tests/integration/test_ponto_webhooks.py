"""Ponto webhook signatures: keys from the simulator's JWKS over loopback; forged, stale,
tampered and replayed deliveries are refused and counted; good ones parse to an event."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from smbfinance.integrations.providers.http import HttpClient
from smbfinance.integrations.providers.ponto_webhooks import (
    HEADER,
    JwksCache,
    MemoryReplayGuard,
    PontoWebhookVerifier,
    WebhookRejected,
)
from smbfinance.integrations.sandbox.clock import ManualClock
from smbfinance.integrations.sandbox.ponto import PontoSimulator

START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def sim(clock):
    simulator = PontoSimulator(clock=clock)
    simulator.connect("acme")
    server = simulator.serve().start()
    yield simulator
    server.stop()


@pytest.fixture
def verifier(sim, clock):
    http = HttpClient(provider="ponto", base_url=sim.api_url)
    return PontoWebhookVerifier(keys=JwksCache(http, clock=clock.now), audience=sim.client_id,
                                issuer=sim.issuer, clock=clock.now,
                                replay=MemoryReplayGuard(clock.now))


def refused(verifier, body, signature):
    with pytest.raises(WebhookRejected) as caught:
        verifier.verify(body, signature)
    return caught.value.reason


def test_a_signed_delivery_is_accepted_once(sim, verifier):
    # given a transactionsCreated delivery for an account
    account = sim.account_id("acme-main")
    body, headers = sim.webhook("pontoConnect.account.transactionsCreated",
                                account_id=account, attributes={"count": 3})
    # when it is verified, then delivered again
    event = verifier.verify(body, headers[HEADER])
    # then the event names the account, and the replay is refused and counted
    assert event.type == "pontoConnect.account.transactionsCreated"
    assert event.account_id == account
    assert event.organization_id == sim.connect("acme").id
    assert event.attributes["count"] == 3
    assert event.created_at == START
    assert refused(verifier, body, headers[HEADER]) == "replayed"
    assert verifier.accepted == 1
    assert verifier.refused == {"replayed": 1}


def test_a_tampered_body_is_refused(sim, verifier):
    body, headers = sim.webhook("pontoConnect.account.transactionsCreated",
                                account_id=sim.account_id("acme-main"))
    forged = body.replace(b"transactionsCreated", b"transactionsUpdated")
    assert refused(verifier, forged, headers[HEADER]) == "digest_mismatch"


def test_a_delivery_for_another_application_is_refused(sim, verifier):
    body, headers = sim.webhook("pontoConnect.integration.revoked", audience="someone-else")
    assert refused(verifier, body, headers[HEADER]) == "wrong_audience"


def test_stale_and_future_deliveries_are_refused(sim, verifier, clock):
    body, headers = sim.webhook("pontoConnect.integration.created",
                                issued_at=START - timedelta(minutes=2))
    assert refused(verifier, body, headers[HEADER]) == "expired"
    body, headers = sim.webhook("pontoConnect.integration.created",
                                issued_at=START + timedelta(minutes=2))
    assert refused(verifier, body, headers[HEADER]) == "issued_in_future"
    # within the 30-second tolerance both ways is fine
    body, headers = sim.webhook("pontoConnect.integration.created",
                                issued_at=START - timedelta(seconds=50))
    assert verifier.verify(body, headers[HEADER])


def test_a_signature_by_another_key_is_refused(sim, verifier):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    body, headers = sim.webhook("pontoConnect.integration.created", key=other)
    assert refused(verifier, body, headers[HEADER]) == "bad_signature"


def test_unknown_kids_refetch_the_keys_at_most_every_few_minutes(sim, verifier, clock):
    body, headers = sim.webhook("pontoConnect.integration.created")
    verifier.verify(body, headers[HEADER])
    fetches = lambda: sum(1 for m, p in sim.requests if p.endswith("/webhooks/keys"))  # noqa: E731
    assert fetches() == 1
    claims = jwt.decode(headers[HEADER], options={"verify_signature": False})
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for number in range(5):
        token = jwt.encode({"aud": sim.client_id}, "k" * 64, algorithm="HS512",
                           headers={"kid": "forged"})
        assert refused(verifier, body, token) == "wrong_algorithm"
        forged = jwt.encode(claims, other, algorithm="RS512", headers={"kid": f"forged{number}"})
        assert refused(verifier, body, forged) == "unknown_key"
    assert fetches() == 1  # the first forged kid came within five minutes of the fetch
    clock.advance(timedelta(minutes=6))
    refused(verifier, body, forged)
    assert fetches() == 2


@pytest.mark.parametrize(("signature", "reason"), [
    (None, "missing_signature"),
    ("", "missing_signature"),
    ("not-a-jwt", "malformed_signature"),
    (jwt.encode({"a": 1}, None, algorithm="none"), "wrong_algorithm"),
])
def test_junk_signatures_are_refused(sim, verifier, signature, reason):
    body, _ = sim.webhook("pontoConnect.integration.created")
    assert refused(verifier, body, signature) == reason


def test_a_signed_but_unreadable_body_is_refused(sim, verifier):
    body, headers = sim.webhook("pontoConnect.integration.created", body=b"[1, 2")
    assert refused(verifier, body, headers[HEADER]) == "malformed_body"
    body, headers = sim.webhook("x", body=json.dumps({"data": {"id": "1"}}).encode())
    assert refused(verifier, body, headers[HEADER]) == "malformed_body"
