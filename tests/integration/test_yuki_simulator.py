"""The Yuki simulator over loopback: its WSDL, SOAP 1.1 envelopes, sessions, a daily call
quota per domain, open items that get paid as the clock moves, and SOAP faults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from lxml import etree

from smbfinance.integrations.sandbox.clock import ManualClock
from smbfinance.integrations.sandbox.yuki import (
    FAULT_QUOTA,
    FAULT_SESSION,
    YukiSimulator,
    access_key_for,
)

NS = "http://www.theyukicompany.com/"
ADMIN = "4d3c2b1a-0000-4000-8000-00000000a001"


@pytest.fixture
def clock():
    return ManualClock(datetime(2026, 11, 22, 8, 0, tzinfo=UTC))


@pytest.fixture
def sim(clock):
    simulator = YukiSimulator(clock=clock, daily_quota=10)
    server = simulator.serve().start()
    yield simulator
    simulator.stop_waiting()
    server.stop()


def call(sim, operation, **params):
    fields = "".join(f"<{k}>{v}</{k}>" for k, v in params.items())
    envelope = ("<soap:Envelope xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/'>"
                f"<soap:Body><{operation} xmlns='{NS}'>{fields}</{operation}></soap:Body>"
                "</soap:Envelope>")
    answer = requests.post(sim.service_url, data=envelope.encode(), timeout=5, headers={
        "Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{NS}{operation}"'})
    return answer, etree.fromstring(answer.content)


def fault_text(root):
    return root.findtext(".//faultstring")


def test_the_wsdl_is_served_with_the_service_address(sim):
    answer = requests.get(sim.wsdl_url, timeout=5)
    assert answer.status_code == 200
    root = etree.fromstring(answer.content)
    address = root.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address.get("location") == sim.service_url
    operations = {op.get("name") for op in root.iter("{http://schemas.xmlsoap.org/wsdl/}operation")}
    assert {"Authenticate", "Administrations", "OutstandingDebtorItems",
            "OutstandingCreditorItems", "GLAccountBalance"} <= operations


def test_a_session_reads_administrations_and_open_items_that_get_paid(sim, clock):
    # given a session from the company's access key
    answer, root = call(sim, "Authenticate", accessKey=access_key_for("acme"))
    assert answer.status_code == 200
    session = root.findtext(f".//{{{NS}}}AuthenticateResult")
    # when administrations and open debtor items are read
    _, admins = call(sim, "Administrations", sessionID=session)
    assert [a.get("ID") for a in admins.iter("Administration")] == [ADMIN]
    _, items = call(sim, "OutstandingDebtorItems", sessionID=session, administrationID=ADMIN,
                    includeBankTransactions="false", sortOrder="DateAsc")
    open_now = {i.get("ID"): i.findtext("OpenAmount") for i in items.iter("Item")}
    # then there are open items, sorted by date, each with its contact and due date
    assert open_now
    dates = [i.findtext("Date") for i in items.iter("Item")]
    assert dates == sorted(dates)
    assert all(i.findtext("ContactID") and i.findtext("DueDate") for i in items.iter("Item"))
    # and eighty days later every one of them has been paid
    clock.advance(timedelta(days=80))
    _, later = call(sim, "OutstandingDebtorItems", sessionID=session, administrationID=ADMIN,
                    includeBankTransactions="false", sortOrder="DateAsc")
    assert not set(open_now) & {i.get("ID") for i in later.iter("Item")}


def test_sessions_expire_and_bad_keys_fault(sim, clock):
    answer, root = call(sim, "Authenticate", accessKey="nope")
    assert answer.status_code == 500
    assert "access key" in fault_text(root)
    _, root = call(sim, "Authenticate", accessKey=access_key_for("acme"))
    session = root.findtext(f".//{{{NS}}}AuthenticateResult")
    clock.advance(timedelta(hours=25))
    answer, root = call(sim, "Administrations", sessionID=session)
    assert fault_text(root) == FAULT_SESSION


def test_the_daily_quota_is_counted_per_domain_and_resets_the_next_day(sim, clock):
    # given a quota of 10 calls
    _, root = call(sim, "Authenticate", accessKey=access_key_for("acme"))
    session = root.findtext(f".//{{{NS}}}AuthenticateResult")
    for _ in range(9):
        assert call(sim, "Administrations", sessionID=session)[0].status_code == 200
    # when the eleventh call is made
    _, root = call(sim, "Administrations", sessionID=session)
    # then it faults with the quota message, and the next day works again
    assert fault_text(root) == FAULT_QUOTA
    assert sim.calls_today("acme") == 10
    clock.advance(timedelta(hours=16))  # past midnight, inside the session's lifetime
    assert call(sim, "Administrations", sessionID=session)[0].status_code == 200


def test_fault_knobs(sim):
    sim.faults.add("soap_fault", message="Object reference not set to an instance")
    assert "Object reference" in fault_text(call(sim, "Authenticate", accessKey="x")[1])
    sim.faults.add("status", status=503)
    answer = requests.post(sim.service_url, data=b"<x/>", timeout=5)
    assert answer.status_code == 503
    for kind in ("malformed", "truncated"):
        sim.faults.add(kind)
        with pytest.raises(etree.XMLSyntaxError):
            call(sim, "Authenticate", accessKey=access_key_for("acme"))


def test_the_sandbox_runner_serves_both_simulators(clock, capsys):
    from smbfinance.integrations.sandbox import run

    # given both simulators started as `make run` would
    sandbox = run.start(clock=clock)
    try:
        # then the Yuki WSDL and the Ponto API root answer on loopback
        assert requests.get(sandbox.yuki.wsdl_url, timeout=5).status_code == 200
        root = requests.get(sandbox.ponto.api_url, timeout=5).json()
        assert root["links"]["accounts"] == sandbox.ponto.api_url + "/accounts"
        assert len(sandbox.ponto.organizations) == 3
        assert any("sandbox-yuki-acme" in line for line in sandbox.describe())
    finally:
        sandbox.stop()
    # and the command prints where they listen, then stops cleanly
    run.main([], wait=lambda: None)
    assert "Ponto Connect simulator: http://127.0.0.1:" in capsys.readouterr().out
