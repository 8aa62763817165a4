"""SSRF rules for webhook URLs: every notation of a private or metadata address refused,
resolution at delivery time vetted and pinned, loopback only through the allow-list."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smbfinance.webhooks.ssrf import (
    Policy,
    UnsafeTarget,
    check_url,
    loose_ipv4,
    refusal,
    resolve_target,
)

PROD = Policy(require_https=True)
DEV = Policy.from_config(require_https=False, allowed_networks=["127.0.0.0/8", "::1/128"])


def resolver_of(*answers: str):  # type: ignore[no-untyped-def]
    return lambda host, port: list(answers)


# --- notations of IPv4 ---------------------------------------------------------------

@pytest.mark.parametrize(("host", "address"), [
    ("127.0.0.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),          # decimal
    ("0x7f000001", "127.0.0.1"),          # hex
    ("0X7F000001", "127.0.0.1"),
    ("017700000001", "127.0.0.1"),        # octal
    ("0177.0.0.1", "127.0.0.1"),          # octal first octet
    ("0x7f.0.0.1", "127.0.0.1"),          # hex first octet
    ("0x7f.0x0.0x0.0x1", "127.0.0.1"),
    ("127.1", "127.0.0.1"),               # short forms
    ("127.0.1", "127.0.0.1"),
    ("0", "0.0.0.0"),
    ("127.0.0.1.", "127.0.0.1"),          # trailing dot
    ("2852039166", "169.254.169.254"),    # metadata, decimal
    ("0xa9fea9fe", "169.254.169.254"),
    ("0251.0376.0251.0376", "169.254.169.254"),
    ("169.254.43518", "169.254.169.254"),
    ("10.1", "10.0.0.1"),
    ("8.8.8.8", "8.8.8.8"),
])
def test_loose_ipv4_reads_every_notation(host: str, address: str) -> None:
    assert loose_ipv4(host) == ipaddress.IPv4Address(address)


@pytest.mark.parametrize("host", ["example.com", "a.b.c.d.e", "1.2.3.com", "0xg", "08", ""])
def test_names_are_not_addresses(host: str) -> None:
    assert loose_ipv4(host) is None


@pytest.mark.parametrize("host", ["256.0.0.1", "1.2.3.256", "1.16777216", "4294967296"])
def test_out_of_range_addresses_are_refused(host: str) -> None:
    with pytest.raises(UnsafeTarget):
        loose_ipv4(host)


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_decimal_and_hex_forms_agree_with_dotted(value: int) -> None:
    address = ipaddress.IPv4Address(value)
    assert loose_ipv4(str(value)) == address
    assert loose_ipv4(hex(value)) == address
    assert loose_ipv4(str(address)) == address


# --- which addresses are public --------------------------------------------------------

@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.255.255.254", "10.0.0.1", "172.16.0.1", "172.31.255.255",
    "192.168.1.1", "169.254.169.254", "169.254.0.1", "100.64.0.1", "100.127.255.255",
    "0.0.0.0", "0.1.2.3", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
    "192.0.0.1", "192.0.2.1", "198.18.0.1", "198.51.100.1", "203.0.113.1",
    "::", "::1", "fe80::1", "fc00::1", "fd00:ec2::254", "fec0::1", "ff02::1", "ff0e::1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "::ffff:7f00:1",
    "::127.0.0.1", "::10.0.0.1",
    "2002:7f00:1::", "2002:a9fe:a9fe::1",     # 6to4 wrapping loopback / metadata
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe",  # NAT64 wrapping loopback / metadata
    "2001::1", "2001:db8::1", "100::1",
])
def test_non_public_addresses_have_a_reason(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", [
    "8.8.8.8", "1.1.1.1", "93.184.215.14", "100.63.255.255", "100.128.0.0",
    "172.15.255.255", "172.32.0.0", "2606:4700:4700::1111", "2a00:1450:4007:80f::200e",
    "::ffff:8.8.8.8", "2002:808:808::1", "64:ff9b::808:808",
])
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


# --- URLs when an endpoint is saved ----------------------------------------------------

@pytest.mark.parametrize("url", [
    "https://127.0.0.1/hook", "https://2130706433/hook", "https://0x7f000001/hook",
    "https://0177.0.0.1/hook", "https://127.1/hook", "https://0/hook",
    "https://169.254.169.254/latest/meta-data/", "https://2852039166/", "https://0xa9fea9fe/",
    "https://[::1]/hook", "https://[::ffff:127.0.0.1]/hook", "https://[::ffff:a9fe:a9fe]/",
    "https://[fd00:ec2::254]/", "https://[fe80::1%25eth0]/", "https://10.0.0.1/",
    "https://100.64.0.1/", "https://224.0.0.1/", "https://localhost/hook",
    "https://LOCALHOST./hook", "https://foo.localhost/", "https://metadata.google.internal/",
    "https://printer.local/", "https://router.lan/", "https://intranet/",
    "http://example.com/hook",                     # https required in production
    "ftp://example.com/", "file:///etc/passwd", "gopher://example.com/", "//example.com/",
    "https://user:pass@example.com/", "https://user@example.com/",
    "https://example.com/#fragment", "https://example.com:0/", "https://example.com:99999/",
    "https://exa mple.com/", "https://example.com/\r\nX: y", "https:\\\\example.com\\",
    "https://", "", "https://" + "a" * 2050 + ".com/", "https://ex_ample.com/",
    "https://éxample.com/", "https://1.2.3.08/", "https://example.0x10/",
    "https://8.8.8.08/", "https://0x08.8.8.8/",   # non-canonical public addresses too
    "https://[::1/", "https://[zz]/", "https://[v1.fe]/",  # malformed brackets, IPvFuture
    "https://[2606:4700:4700::1111]x/",
])
def test_unsafe_urls_are_refused_when_saved(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        check_url(url, PROD)


@pytest.mark.parametrize("url", [
    "https://example.com/hook", "https://hooks.example.com:8443/a/b?x=1",
    "https://8.8.8.8/hook", "https://[2606:4700:4700::1111]/hook", "https://xn--xmple-rqa.com/",
    "HTTPS://Example.COM/hook",
])
def test_public_https_urls_are_accepted(url: str) -> None:
    assert check_url(url, PROD) == url


def test_the_allow_list_admits_loopback_and_http_for_development() -> None:
    assert check_url("http://127.0.0.1:8080/hook", DEV)
    assert check_url("http://[::1]:8080/hook", DEV)
    # but only the listed networks: private and metadata stay refused
    for url in ("http://10.0.0.1/", "http://169.254.169.254/", "http://localhost:8080/"):
        with pytest.raises(UnsafeTarget):
            check_url(url, DEV)


# --- resolution at delivery time -------------------------------------------------------

def test_delivery_pins_the_connection_to_the_vetted_address() -> None:
    target = resolve_target("https://hooks.example.com/in?x=1", PROD,
                            resolver_of("93.184.215.14"))
    assert (target.host, target.port, target.path, target.address) == (
        "hooks.example.com", 443, "/in?x=1", "93.184.215.14")


@pytest.mark.parametrize("answer", [
    "127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "::ffff:127.0.0.1", "fd00:ec2::254",
    "100.100.100.200", "0.0.0.0", "fe80::1%eth0", "not-an-address",
])
def test_a_name_resolving_inside_is_refused(answer: str) -> None:
    with pytest.raises(UnsafeTarget):
        resolve_target("https://hooks.example.com/", PROD, resolver_of(answer))


def test_a_resolver_that_changes_its_answer_is_caught_at_delivery() -> None:
    # given a name that resolved to a public address when the endpoint was saved
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])

    def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    assert check_url("https://rebind.example.com/", PROD)
    assert resolve_target("https://rebind.example.com/", PROD, rebinding).address == (
        "93.184.215.14")
    # when it answers loopback at the next delivery / then that delivery is refused
    with pytest.raises(UnsafeTarget, match=r"127\.0\.0\.1"):
        resolve_target("https://rebind.example.com/", PROD, rebinding)


def test_one_private_answer_among_public_ones_refuses_the_delivery() -> None:
    with pytest.raises(UnsafeTarget):
        resolve_target("https://mixed.example.com/", PROD,
                       resolver_of("93.184.215.14", "10.0.0.5"))


def test_resolution_failures_and_empty_answers_are_refused() -> None:
    def failing(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(UnsafeTarget, match="does not resolve"):
        resolve_target("https://nowhere.example.com/", PROD, failing)
    with pytest.raises(UnsafeTarget, match="no address"):
        resolve_target("https://empty.example.com/", PROD, resolver_of())


def test_literal_addresses_are_not_resolved() -> None:
    def explode(host: str, port: int) -> list[str]:
        raise AssertionError("a literal address must not be looked up")

    assert resolve_target("https://8.8.8.8:8443/", PROD, explode).address == "8.8.8.8"
    with pytest.raises(UnsafeTarget):
        resolve_target("https://0x7f000001/", PROD, explode)


def test_loopback_delivery_in_tests_goes_through_the_allow_list() -> None:
    target = resolve_target("http://127.0.0.1:5000/hook", DEV, resolver_of())
    assert (target.scheme, target.address, target.port) == ("http", "127.0.0.1", 5000)
