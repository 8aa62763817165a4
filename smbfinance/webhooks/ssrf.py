"""Where a webhook may be delivered: SSRF rules, pure (the resolver is passed in).

Two moments matter. When an endpoint is saved, `check_url` refuses URLs that can never be
safe (wrong scheme, credentials, a literal private address in any notation, names like
`localhost`). At delivery time `resolve_target` resolves the host again, refuses the whole
delivery if any answer is not public, and returns the address the connection must be pinned
to, so a DNS answer that changes between the check and the connect (rebinding) cannot reach
the inside. Redirects are never followed (the client does not implement them).

An allow-list of networks from configuration (`WEBHOOK_ALLOWED_NETWORKS`) admits loopback
for tests and local development; it is empty in production.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]

MAX_URL_LENGTH = 2048

# Refused whatever is_global says: Python counts multicast as global, and these ranges
# either reach infrastructure or embed an IPv4 address we check separately.
_DENIED: tuple[Network, ...] = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8",          # "this network"; 0.0.0.0 reaches the local host on Linux
    "100.64.0.0/10",      # carrier-grade NAT (RFC 6598)
    "169.254.0.0/16",     # link-local, incl. the cloud metadata service 169.254.169.254
    "224.0.0.0/4",        # multicast
    "240.0.0.0/4",        # reserved, incl. broadcast
    "::/128", "::1/128",
    "fc00::/7",           # unique local, incl. the AWS metadata service fd00:ec2::254
    "fe80::/10",          # link-local
    "fec0::/10",          # site-local (deprecated, still routed by some stacks)
    "ff00::/8",           # multicast
    "2001::/32",          # Teredo: tunnels to an IPv4 address we cannot vet
))
_DENIED_NAMES = re.compile(
    r"(^|\.)(localhost|localdomain|internal|local|home\.arpa|intranet|corp|lan)$"
)
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class UnsafeTarget(ValueError):
    """A URL or an address that webhooks must not reach."""


@dataclass(frozen=True)
class Target:
    """Where to connect: the URL's host (for TLS SNI and the Host header) and the vetted
    address the socket must use."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


@dataclass(frozen=True)
class Policy:
    require_https: bool = True
    allowed_networks: tuple[Network, ...] = ()

    @classmethod
    def from_config(cls, *, require_https: bool, allowed_networks: Sequence[str]) -> Policy:
        return cls(require_https=require_https,
                   allowed_networks=tuple(ipaddress.ip_network(n) for n in allowed_networks))

    def allows(self, address: IPAddress) -> bool:
        return any(address in network for network in self.allowed_networks
                   if network.version == address.version)


def loose_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Read `host` the way inet_aton and browsers (WHATWG URL) do: decimal (2130706433),
    hex (0x7f000001), octal (0177.0.0.1), short (127.1, 127.0.1) and mixed forms all name
    an IPv4 address. None when `host` is not numeric at all (a domain name)."""
    parts = host.split(".")
    if parts and parts[-1] == "" and len(parts) > 1:
        parts = parts[:-1]  # a trailing dot is still an address
    if not parts or len(parts) > 4:
        return None
    numbers = []
    for part in parts:
        number = _ipv4_number(part)
        if number is None:
            return None
        numbers.append(number)
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise UnsafeTarget(f"{host!r} is an out-of-range IPv4 address")
    value = last
    for index, number in enumerate(head):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _ipv4_number(part: str) -> int | None:
    lowered = part.lower()
    try:
        if lowered.startswith("0x"):
            return int(lowered[2:] or "0", 16)
        if len(lowered) > 1 and lowered.startswith("0"):
            return int(lowered, 8)
        if lowered.isdigit():
            return int(lowered, 10)
    except ValueError:
        return None
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for: mapped, compatible, 6to4 or NAT64."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    packed = int(address)
    if packed >> 32 == 0 and packed > 1:  # ::a.b.c.d (deprecated "compatible" form)
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    if address in ipaddress.ip_network("64:ff9b::/96") or address in ipaddress.ip_network(
            "64:ff9b:1::/48"):
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    return None


def refusal(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast address, or None if it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = refusal(embedded)
            return f"embeds {embedded}, which {inner}" if inner else None
    if address.is_loopback:
        return "is a loopback address"
    for network in _DENIED:
        if network.version == address.version and address in network:
            return f"is in the non-public range {network}"
    if address.is_private or address.is_reserved or address.is_multicast:
        return "is a private or reserved address"
    if not address.is_global:
        return "is not a public address"
    return None


def _vet(address: IPAddress, policy: Policy) -> None:
    if policy.allows(address):
        return
    reason = refusal(address)
    if reason:
        raise UnsafeTarget(f"{address} {reason}")


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    address = loose_ipv4(host)
    if address is not None and str(address) != host:
        raise UnsafeTarget(f"{host!r} is a non-canonical IPv4 address: write {address}")
    return address


@dataclass(frozen=True)
class _Parsed:
    scheme: str
    host: str
    port: int
    path: str


def _parse(url: str, policy: Policy) -> _Parsed:
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget(f"the URL must be 1 to {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 or ch == "\\" for ch in url):
        raise UnsafeTarget("the URL contains whitespace, control characters or backslashes")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        raise UnsafeTarget("the URL's host is not valid") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise UnsafeTarget("the URL must use https")
    if scheme == "http" and policy.require_https:
        raise UnsafeTarget("the URL must use https")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeTarget("the URL must not carry credentials")
    if parts.fragment:
        raise UnsafeTarget("the URL must not have a fragment")
    host = (hostname or "").rstrip(".")
    if not host:
        raise UnsafeTarget("the URL has no host")
    if parts.netloc.startswith("["):
        # Brackets hold an IPv6 literal and nothing else (not IPvFuture, not a name).
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise UnsafeTarget("the URL's bracketed host is not an IPv6 address") from None
        after = parts.netloc.partition("]")[2]
        if after and not after.startswith(":"):
            raise UnsafeTarget("the URL's host is not valid")
    try:
        explicit = parts.port
    except ValueError:
        raise UnsafeTarget("the URL's port is not valid") from None
    port = (443 if scheme == "https" else 80) if explicit is None else explicit
    if port == 0:
        raise UnsafeTarget("the URL's port is not valid")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return _Parsed(scheme=scheme, host=host.lower(), port=port, path=path)


def _check_name(host: str) -> None:
    if not host.isascii():
        raise UnsafeTarget("write an internationalised host name in its xn-- (punycode) form")
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise UnsafeTarget(f"{host!r} is not a public host name")
    if labels[-1].isdigit() or labels[-1].startswith("0x"):
        # A numeric last label is how resolvers recognise an address: refuse what our
        # parser could not read rather than let the system's parser decide.
        raise UnsafeTarget(f"{host!r} is not a valid IPv4 address or host name")
    if _DENIED_NAMES.search(host):
        raise UnsafeTarget(f"{host!r} names a local or internal host")


def check_url(url: str, policy: Policy) -> str:
    """Refuse URLs that can never be delivered to; return the URL unchanged otherwise.
    Host names are only checked for shape here: their addresses are vetted at delivery."""
    parsed = _parse(url, policy)
    literal = _literal(parsed.host)
    if literal is not None:
        _vet(literal, policy)
    else:
        _check_name(parsed.host)
    return url


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def resolve_target(url: str, policy: Policy, resolver: Resolver = system_resolver) -> Target:
    """Resolve the URL's host now and choose the address to pin the connection to.

    Every answer must be acceptable: if a name resolves to one public and one private
    address, an attacker controls which one a client would pick, so we refuse."""
    parsed = _parse(url, policy)
    literal = _literal(parsed.host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        _check_name(parsed.host)
        try:
            answers = resolver(parsed.host, parsed.port)
        except OSError as exc:
            raise UnsafeTarget(f"{parsed.host!r} does not resolve ({exc})") from None
        addresses = []
        for answer in answers:
            try:
                addresses.append(ipaddress.ip_address(answer.split("%", 1)[0]))
            except ValueError:
                raise UnsafeTarget(f"{parsed.host!r} resolved to {answer!r}") from None
        if not addresses:
            raise UnsafeTarget(f"{parsed.host!r} has no address")
    for address in addresses:
        _vet(address, policy)
    return Target(scheme=parsed.scheme, host=parsed.host, port=parsed.port, path=parsed.path,
                  address=str(addresses[0]))
