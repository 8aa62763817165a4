"""The Yuki adapter (zeep) end to end against the Yuki simulator over loopback: sessions
cached and renewed, receivables and payables with contacts, the daily quota, and each
fault knob turned into a clear typed error."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from smbfinance.integrations.providers.base import AccountingProvider
from smbfinance.integrations.providers.errors import (
    AuthorizationFailed,
    MalformedResponse,
    ProviderFault,
    ProviderTimeout,
    ProviderUnavailable,
    QuotaExhausted,
)
from smbfinance.integrations.providers.http import HttpClient, HttpPolicy
from smbfinance.integrations.providers.yuki import YukiClient, YukiSettings
from smbfinance.integrations.sandbox.clock import ManualClock
from smbfinance.integrations.sandbox.yuki import YukiSimulator, access_key_for

ADMIN = "4d3c2b1a-0000-4000-8000-00000000a001"


@pytest.fixture
def clock():
    return ManualClock(datetime(2026, 11, 22, 8, 0, tzinfo=UTC))


@pytest.fixture
def sim(clock):
    simulator = YukiSimulator(clock=clock, daily_quota=50)
    server = simulator.serve().start()
    yield simulator
    simulator.stop_waiting()
    server.stop()


def make_client(sim, clock, *, key=None, sleeps=None, **settings):
    config = YukiSettings(access_key=key or access_key_for("acme"),
                          service_url=sim.service_url,
                          policy=HttpPolicy(read_timeout=0.5, max_attempts=2), **settings)
    http = HttpClient(provider="yuki", base_url=sim.service_url, policy=config.policy,
                      sleep=(sleeps if sleeps is not None else []).append)
    return YukiClient(config, clock=clock.now, http=http)


@pytest.fixture
def client(sim, clock):
    return make_client(sim, clock)


def test_receivables_and_payables_arrive_with_their_contacts(sim, client, clock):
    # given a connected Yuki domain
    assert isinstance(client, AccountingProvider)
    # when administrations and open items are read
    (admin,) = client.administrations()
    receivables = client.open_receivables(admin.provider_id)
    payables = client.open_payables(admin.provider_id)
    # then they are what the accounting package holds open today, each once
    today = clock.now().date()
    assert admin.provider_id == ADMIN
    assert admin.name == "Acme BV"
    assert {i.provider_id: i.open_amount for i in receivables} == {
        i.id: i.open_amount(today) for i in sim.open_items("acme", "receivable")}
    assert {i.provider_id for i in payables} == {i.id for i in sim.open_items("acme",
                                                                              "payable")}
    assert all(i.direction == "receivable" and i.contact.name and i.due_date
               for i in receivables)
    assert all(i.direction == "payable" for i in payables)
    # and the GL balances agree with the open items
    balances = client.gl_balances(ADMIN, today)
    assert balances["400000"] == sum((i.open_amount for i in receivables), Decimal(0))
    assert balances["440000"] == -sum((i.open_amount for i in payables), Decimal(0))
    # and one session served all five calls, each counted against the quota
    assert sim.operations.count("Authenticate") == 1
    assert client.calls == sim.calls_today("acme") == 5


def test_paid_invoices_leave_the_open_items(sim, client, clock):
    before = {i.provider_id for i in client.open_receivables(ADMIN)}
    clock.advance(timedelta(days=80))
    after = {i.provider_id for i in client.open_receivables(ADMIN)}
    assert before
    assert not before & after


def test_an_invalid_session_is_renewed_once(sim, client):
    client.administrations()
    sim.expire_sessions()
    assert client.administrations()
    assert sim.operations.count("Authenticate") == 2


def test_the_session_is_renewed_before_yuki_drops_it(sim, client, clock):
    client.administrations()
    clock.advance(timedelta(hours=23, minutes=1))
    client.administrations()
    assert sim.operations.count("Authenticate") == 2


def test_a_wrong_access_key_is_an_authorization_error(sim, clock):
    with pytest.raises(AuthorizationFailed):
        make_client(sim, clock, key="wrong-key").administrations()


def test_the_daily_quota_ends_in_quota_exhausted(sim, client, clock):
    sim.daily_quota = 3
    client.administrations()
    client.open_receivables(ADMIN)
    with pytest.raises(QuotaExhausted):
        client.open_payables(ADMIN)
    sim.faults.add("quota")
    clock.advance(timedelta(hours=16))  # a new day: the quota resets
    with pytest.raises(QuotaExhausted):
        client.administrations()  # the knob answers first
    assert client.administrations()


def test_a_soap_fault_becomes_a_provider_fault(sim, client):
    client.administrations()
    sim.faults.add("soap_fault", message="Object reference not set to an instance of an "
                                         "object.")
    with pytest.raises(ProviderFault) as caught:
        client.open_receivables(ADMIN)
    assert "Object reference" in str(caught.value)
    assert caught.value.code == "soap:Server"


def test_an_unknown_administration_is_a_provider_fault(sim, client):
    with pytest.raises(ProviderFault):
        client.open_receivables("00000000-0000-0000-0000-000000000000")


def test_an_outage_is_retried_once_then_reported(sim, clock):
    sleeps = []
    client = make_client(sim, clock, sleeps=sleeps)
    sim.faults.add("status", status=503)
    assert client.administrations()
    assert len(sleeps) == 1
    assert client.calls == 3  # Authenticate twice (the first met the 503), Administrations
    sim.faults.add("status", status=503, times=2)
    with pytest.raises(ProviderUnavailable):
        client.open_receivables(ADMIN)


def test_a_500_without_a_soap_body_is_an_outage(sim, client):
    sim.faults.add("status", status=500)
    assert client.administrations()  # retried once, like any outage
    sim.faults.add("status", status=500, times=2)
    with pytest.raises(ProviderUnavailable) as caught:
        client.administrations()
    assert caught.value.status == 500


def test_timeouts_become_provider_timeout(sim, client):
    sim.faults.add("timeout", seconds=1.5, times=2)
    with pytest.raises(ProviderTimeout):
        client.administrations()


def test_latency_under_the_timeout_is_fine(sim, client):
    sim.faults.add("latency", seconds=0.2)
    assert client.administrations()


@pytest.mark.parametrize("kind", ["malformed", "truncated"])
def test_broken_bodies_become_malformed_response(sim, client, kind):
    client.administrations()
    sim.faults.add(kind)
    with pytest.raises(MalformedResponse):
        client.open_receivables(ADMIN)


def test_the_wsdl_can_be_loaded_from_the_host(sim, clock):
    client = make_client(sim, clock, wsdl_url=sim.wsdl_url)
    assert client.administrations()[0].provider_id == ADMIN


def test_the_access_key_never_reaches_the_logs(sim, clock, caplog):
    caplog.set_level(logging.DEBUG)
    client = make_client(sim, clock)
    client.administrations()
    sim.expire_sessions()
    client.administrations()
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "provider call" in text
    assert access_key_for("acme") not in text
    assert access_key_for("acme") not in repr(client.settings)


def test_clients_share_the_parsed_wsdl_but_each_sends_and_counts_its_own_calls(sim, clock):
    # given two clients for two domains, built one after the other in one process
    first = make_client(sim, clock)
    second = make_client(sim, clock, key=access_key_for("bakery"))
    # then the WSDL was parsed once for both
    assert first._service._binding is second._service._binding
    # when only the second one calls Yuki
    assert second.administrations()
    # then the calls went through the second's transport, counted against its quota only
    assert (first.calls, second.calls) == (0, 2)
