"""Mutual TLS, as Ponto's production API requires: the simulator served over HTTPS asking
for a client certificate; the adapter's `client_cert` and `verify` settings are all that
change. Certificates are made here (a throwaway CA), nothing leaves loopback."""

from __future__ import annotations

import ipaddress
import ssl
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from smbfinance.integrations.providers import ponto
from smbfinance.integrations.providers.errors import ProviderUnavailable, TokenRevoked
from smbfinance.integrations.providers.http import HttpPolicy
from smbfinance.integrations.sandbox.clock import ManualClock
from smbfinance.integrations.sandbox.ponto import PontoSimulator

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject, issuer, public_key, signer, *, ca=False, usage=None, ip=None):
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(datetime.now(UTC) - timedelta(days=1))
               .not_valid_after(datetime.now(UTC) + timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
            critical=False)
    return builder.sign(signer, hashes.SHA256())


def _write(path, *objects):
    with open(path, "wb") as handle:
        for obj in objects:
            if isinstance(obj, x509.Certificate):
                handle.write(obj.public_bytes(serialization.Encoding.PEM))
            else:
                handle.write(obj.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return str(path)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("Test CA", "Test CA", ca_key.public_key(), ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate("127.0.0.1", "Test CA", server_key.public_key(), ca_key,
                          usage=ExtendedKeyUsageOID.SERVER_AUTH, ip="127.0.0.1")
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _certificate("smbfinance", "Test CA", client_key.public_key(), ca_key,
                          usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    return {
        "ca": _write(folder / "ca.pem", ca),
        "server": (_write(folder / "server.pem", server), _write(folder / "server.key",
                                                                 server_key)),
        "client": (_write(folder / "client.pem", client), _write(folder / "client.key",
                                                                 client_key)),
    }


@pytest.fixture
def sim(pki):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*pki["server"])
    context.load_verify_locations(pki["ca"])
    context.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no connection
    simulator = PontoSimulator(clock=ManualClock(NOW))
    server = simulator.serve(ssl_context=context).start()
    yield simulator
    server.stop()


def _settings(sim, **tls):
    return ponto.PontoSettings(client_id=sim.client_id, client_secret=sim.client_secret,
                               redirect_uri="http://127.0.0.1:9/cb", api_url=sim.api_url,
                               authorization_url=sim.authorization_url,
                               policy=HttpPolicy(max_attempts=1, read_timeout=5), **tls)


def test_with_the_client_certificate_the_adapter_connects_and_reads(sim, pki):
    # given settings carrying our client certificate and the server's CA
    settings = _settings(sim, client_cert=pki["client"], verify=pki["ca"])
    assert sim.api_url.startswith("https://")
    # when the user consents and we exchange the code, then read the accounts
    pkce = ponto.new_pkce()
    answer = requests.get(ponto.authorization_url(settings, state="s", pkce=pkce),
                          cert=pki["client"], verify=pki["ca"], allow_redirects=False,
                          timeout=5)
    code = parse_qs(urlparse(answer.headers["Location"]).query)["code"][0]
    tokens = ponto.PontoOAuth(settings).exchange_code(code, pkce.verifier)
    accounts = ponto.PontoClient(settings, tokens, on_tokens=lambda _: None).accounts()
    # then everything went over mutual TLS
    assert {a.iban for a in accounts} == {"BE68539007547034", "BE62510007547061"}
    with pytest.raises(TokenRevoked):
        ponto.PontoOAuth(settings).refresh("unknown-refresh-token")


def test_without_a_client_certificate_there_is_no_connection(sim, pki):
    settings = _settings(sim, verify=pki["ca"])
    with pytest.raises(ProviderUnavailable):
        ponto.PontoOAuth(settings).refresh("unknown-refresh-token")


def test_a_server_we_do_not_trust_is_refused(sim, pki):
    settings = _settings(sim, client_cert=pki["client"])  # the system CAs, not ours
    with pytest.raises(ProviderUnavailable):
        ponto.PontoOAuth(settings).refresh("unknown-refresh-token")
