"""`make run` starts the simulators unless told not to or pointed at real hosts, and the
settings it hands the adapters name the simulators' loopback URLs."""

from __future__ import annotations

import pytest

from smbfinance.devstack.integrations import Simulators, wanted


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, True),
    ({"SMBFINANCE_SIMULATORS": "off"}, False),
    ({"SMBFINANCE_SIMULATORS": "0"}, False),
    ({"SMBFINANCE_SIMULATORS": "on"}, True),
    ({"PONTO_CLIENT_ID": "my-app"}, False),
    ({"YUKI_SERVICE_URL": "https://api.yukiworks.nl/ws/AccountingInfo.asmx"}, False),
])
def test_simulators_are_wanted_unless_switched_off_or_real_hosts_are_set(environ, expected):
    assert wanted(environ) is expected


def test_the_adapters_are_pointed_at_the_simulators_on_loopback():
    env = Simulators(ponto_port=8701, yuki_port=8702).env(api_base="http://127.0.0.1:5000")
    assert env["PONTO_API_URL"] == "http://127.0.0.1:8701/ponto-connect"
    assert env["PONTO_AUTHORIZATION_URL"] == "http://127.0.0.1:8701/oauth2/auth"
    assert env["YUKI_SERVICE_URL"] == "http://127.0.0.1:8702/ws/AccountingInfo.asmx"
    assert env["PONTO_REDIRECT_URI"].startswith("http://127.0.0.1:5000/api/v1/integrations/")
    assert Simulators(ponto_port=1, yuki_port=2).command()[-4:] == [
        "--ponto-port", "1", "--yuki-port", "2"]
