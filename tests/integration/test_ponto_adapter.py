"""The Ponto adapter end to end against the simulator over loopback HTTP: connecting with
PKCE, reading accounts and transactions until known data, synchronizations, token rotation
and revocation, and every fault knob (a clear typed error or a designed retry; nothing
duplicated)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from smbfinance.integrations.providers import ponto
from smbfinance.integrations.providers.base import BankProvider, ConsentStatus
from smbfinance.integrations.providers.errors import (
    ConsentExpired,
    MalformedResponse,
    ProviderFault,
    ProviderTimeout,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
    TokenRevoked,
)
from smbfinance.integrations.providers.http import HttpClient, HttpPolicy
from smbfinance.integrations.sandbox.clock import ManualClock
from smbfinance.integrations.sandbox.ponto import PontoSimulator

START = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
REDIRECT = "http://127.0.0.1:9/integrations/ponto/callback"


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def sim(clock):
    simulator = PontoSimulator(clock=clock, page_size=10)
    server = simulator.serve().start()
    yield simulator
    simulator.stop_waiting()
    server.stop()


@pytest.fixture
def settings(sim):
    return ponto.PontoSettings(
        client_id=sim.client_id, client_secret=sim.client_secret, redirect_uri=REDIRECT,
        api_url=sim.api_url, authorization_url=sim.authorization_url,
        policy=HttpPolicy(connect_timeout=2, read_timeout=0.5, max_attempts=3))


class Recorder:
    def __init__(self):
        self.saved = []
        self.sleeps = []

    def tokens(self, token_set):
        self.saved.append(token_set)

    def sleep(self, seconds):
        self.sleeps.append(seconds)


@pytest.fixture
def recorder():
    return Recorder()


def connect(sim, settings, clock, recorder, company="acme"):
    """The user's browser goes to Ponto and back; we exchange the code with the verifier."""
    pkce = ponto.new_pkce()
    url = ponto.authorization_url(settings, state="state-1", pkce=pkce,
                                  extra={"company": company})
    answer = requests.get(url, allow_redirects=False, timeout=5)
    query = parse_qs(urlparse(answer.headers["Location"]).query)
    http = HttpClient(provider="ponto", base_url=settings.api_url, policy=settings.policy,
                      sleep=recorder.sleep, jitter=lambda: 1.0)
    tokens = ponto.PontoOAuth(settings, http=http, clock=clock.now).exchange_code(
        query["code"][0], pkce.verifier)
    return ponto.PontoClient(settings, tokens, on_tokens=recorder.tokens, clock=clock.now,
                             http=http)


@pytest.fixture
def client(sim, settings, clock, recorder):
    return connect(sim, settings, clock, recorder)


def booked_ids(sim, account, at):
    return {m.booked_id for m in sim.movements(account, at) if m.booked_at <= at}


def test_connect_read_accounts_and_transactions_until_known(sim, client, clock):
    # given a connected integration
    assert isinstance(client, BankProvider)
    accounts = client.accounts()
    assert {a.iban for a in accounts} == {"BE68539007547034", "BE62510007547061"}
    main = next(a for a in accounts if a.iban == "BE68539007547034")
    assert main.consent.status is ConsentStatus.ACTIVE
    assert main.synchronized_at == START
    # when every transaction is read, then read again with the cursor
    first = client.transactions_since(main.provider_id, None)
    again = client.transactions_since(main.provider_id, first.cursor)
    # then the first read holds every booked movement once, oldest first, and the second
    # stops on the first page with nothing new
    ids = [t.provider_id for t in first.transactions]
    assert len(ids) == len(set(ids)) == len(booked_ids(sim, main.provider_id, START))
    assert [t.booking_date for t in first.transactions] == sorted(
        t.booking_date for t in first.transactions)
    assert first.pages_read == 1  # 100 per page
    assert again.transactions == ()
    assert again.pages_read == 1
    # and today's movements are pending
    pending = client.pending_transactions(main.provider_id)
    assert {t.status for t in pending} == {"pending"}
    assert len(pending) == 2


def test_a_synchronization_brings_new_data_read_once(sim, client, clock):
    account = sim.account_id("acme-main")
    first = client.transactions_since(account, None)
    pending = {t.provider_id for t in client.pending_transactions(account)}
    # given two days later and a synchronization for a user in the app
    clock.advance(timedelta(days=2))
    state = client.create_synchronization(account, customer_ip="198.51.100.7")
    assert state.status == "pending"
    done = client.wait_for_synchronization(state.provider_id, sleep=lambda _: None)
    assert done.status == "success"
    # when the new transactions are read with the old cursor
    batch = client.transactions_since(account, first.cursor)
    updated = client.updated_transactions(done.provider_id)
    # then exactly the movements booked since arrive, the formerly pending under new ids
    new_ids = {t.provider_id for t in batch.transactions}
    assert new_ids == booked_ids(sim, account, clock.now()) - {
        t.provider_id for t in first.transactions}
    assert new_ids == {t.provider_id for t in updated}
    rebooked = {m.booked_id for m in sim.movements(account) if m.pending_id in pending}
    assert rebooked <= new_ids
    assert not pending & new_ids
    # and the synchronization carried the user's IP
    assert sim.synchronizations[state.provider_id].customer_ip == "198.51.100.7"


def test_access_tokens_refresh_with_rotation(sim, client, clock, recorder):
    # given an access token that expired
    old = client.tokens
    clock.advance(timedelta(hours=1))
    # when the adapter calls Ponto
    client.accounts()
    # then it refreshed first, saved the rotated pair, and the old refresh token is dead
    assert len(recorder.saved) == 1
    assert recorder.saved[0].refresh_token != old.refresh_token
    assert client.tokens == recorder.saved[0]
    with pytest.raises(TokenRevoked):
        client.oauth.refresh(old.refresh_token)


def test_a_401_on_a_fresh_token_refreshes_once(sim, client, recorder):
    sim.faults.add("expired_token", path="/accounts$")
    assert client.accounts()
    assert len(recorder.saved) == 1


def test_revoked_tokens_raise_token_revoked(sim, client):
    sim.revoke_all_tokens()
    with pytest.raises(TokenRevoked):
        client.accounts()


def test_revoke_on_disconnect(sim, client):
    client.revoke()
    with pytest.raises(TokenRevoked):
        client.accounts()


def test_503_and_500_are_retried_with_backoff(sim, client, recorder):
    sim.faults.add("status", path="/transactions$", status=503)
    sim.faults.add("status", path="/transactions$", status=500)
    batch = client.transactions_since(sim.account_id("acme-main"), None)
    assert batch.transactions
    assert recorder.sleeps == [0.5, 1.0]  # base 0.5 doubling, jitter pinned at its top


def test_a_lasting_outage_ends_in_provider_unavailable(sim, client, recorder):
    sim.faults.add("status", path="/accounts$", status=503, times=5)
    with pytest.raises(ProviderUnavailable) as caught:
        client.accounts()
    assert caught.value.status == 503
    assert len(recorder.sleeps) == 2  # three attempts


def test_429_honours_retry_after(sim, client, recorder):
    sim.faults.add("status", path="/accounts$", status=429, retry_after=7)
    assert client.accounts()
    assert recorder.sleeps == [7.0]


def test_a_long_retry_after_is_handed_to_the_engine(sim, client, recorder):
    sim.faults.add("status", path="/accounts$", status=429, retry_after=3600)
    with pytest.raises(RateLimited) as caught:
        client.accounts()
    assert caught.value.retry_after == 3600
    assert recorder.sleeps == []


def test_quota_without_retry_after_ends_rate_limited(sim, client, recorder):
    sim.faults.add("quota", path="/accounts$", times=3)
    with pytest.raises(RateLimited) as caught:
        client.accounts()
    assert caught.value.retry_after is None


def test_timeouts_are_retried_then_reported(sim, client, recorder):
    sim.faults.add("timeout", path="/accounts$", seconds=1.5)
    assert client.accounts()  # the second attempt answers
    sim.faults.add("timeout", path="/accounts$", seconds=1.5, times=3)
    with pytest.raises(ProviderTimeout):
        client.accounts()


def test_latency_within_the_timeout_is_fine(sim, client, recorder):
    sim.faults.add("latency", path="/accounts$", seconds=0.2)
    assert client.accounts()
    assert recorder.sleeps == []


@pytest.mark.parametrize("kind", ["malformed", "truncated"])
def test_broken_bodies_are_retried_then_reported(sim, client, kind):
    sim.faults.add(kind, path="/transactions$")
    assert client.transactions_since(sim.account_id("acme-main"), None).transactions
    sim.faults.add(kind, path="/transactions$", times=3)
    with pytest.raises(MalformedResponse):
        client.transactions_since(sim.account_id("acme-main"), None)


def test_duplicated_and_reordered_pages_duplicate_nothing(sim, settings, clock, recorder):
    # given small pages so the walk spans several, and pages that repeat and reorder
    sim_client = connect(sim, settings, clock, recorder)
    account = sim.account_id("acme-main")
    expected = booked_ids(sim, account, START)
    ponto_page = ponto.PAGE_LIMIT
    ponto.PAGE_LIMIT = 5
    try:
        sim.faults.add("duplicate_page", path="/transactions$", times=2)
        sim.faults.add("reorder", path="/transactions$", times=4)
        batch = sim_client.transactions_since(account, None)
        # then every movement is there exactly once
        ids = [t.provider_id for t in batch.transactions]
        assert len(ids) == len(set(ids))
        assert set(ids) == expected
        assert batch.pages_read > 3
        # and a reordered first page does not hide what the cursor already knows
        sim.faults.add("reorder", path="/transactions$")
        assert sim_client.transactions_since(account, batch.cursor).transactions == ()
    finally:
        ponto.PAGE_LIMIT = ponto_page


def test_a_retried_synchronization_post_creates_one_synchronization(sim, client):
    # given a body cut short after Ponto created the synchronization
    sim.faults.add("truncated", path="/synchronizations$", method="POST")
    # when the adapter retries with the same idempotency key
    state = client.create_synchronization(sim.account_id("acme-main"),
                                          customer_ip="198.51.100.7")
    # then there is one synchronization
    assert list(sim.synchronizations) == [state.provider_id]


def test_consent_expiry_is_seen_and_stops_synchronizations(sim, client):
    account = sim.account_id("acme-main")
    sim.expire_consent("acme")
    assert client.consent(account).status is ConsentStatus.EXPIRED
    state = client.create_synchronization(account, customer_ip="198.51.100.7")
    with pytest.raises(ConsentExpired):
        client.wait_for_synchronization(state.provider_id, sleep=lambda _: None)
    # reading what Ponto already holds still works
    assert client.transactions_since(account, None).transactions


def test_the_daily_synchronization_ration_is_a_quota_error(sim, client):
    account = sim.account_id("acme-main")
    for _ in range(4):
        client.create_synchronization(account, subtype="accountDetails")
    state = client.create_synchronization(account, subtype="accountDetails")
    with pytest.raises(QuotaExhausted):
        ponto.raise_for_synchronization(state)


def test_no_secret_reaches_the_logs(sim, settings, clock, recorder, caplog):
    # given every log level captured
    caplog.set_level(logging.DEBUG)
    client = connect(sim, settings, clock, recorder)
    clock.advance(timedelta(hours=1))
    client.accounts()  # refresh included
    sim.faults.add("status", path="/accounts$", status=503)
    client.accounts()
    # then neither tokens nor the client secret appear in any record, message or extra
    secrets = {client.tokens.access_token, client.tokens.refresh_token, settings.client_secret,
               recorder.saved[0].refresh_token}
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "provider call" in text
    assert not [s for s in secrets if s in text]
    assert settings.client_secret not in repr(settings)
    assert client.tokens.access_token not in repr(client.tokens)


def test_one_organizations_tokens_never_reach_another_organizations_data(
        sim, settings, clock, recorder):
    # given two companies connected through Ponto
    acme = connect(sim, settings, clock, recorder, company="acme")
    bakery = connect(sim, settings, clock, recorder, company="bakery")
    bakery_account = sim.account_id("bakery-main")
    # when acme's integration asks for the bakery's account, transactions or synchronization
    # then Ponto answers as if they did not exist
    assert {a.iban for a in bakery.accounts()} == {"BE43068999999501"}
    for call in (lambda: acme.account(bakery_account),
                 lambda: acme.transactions_since(bakery_account, None),
                 lambda: acme.synchronization(
                     bakery.create_synchronization(bakery_account).provider_id)):
        with pytest.raises(ProviderFault) as caught:
            call()
        assert caught.value.code == "resourceNotFound"
        assert caught.value.status == 404
