"""The HTTP POST of one delivery, over a connection pinned to a vetted address.

http.client is used directly: it never follows redirects, and connecting to the address
chosen by ssrf.resolve_target (while TLS still verifies the certificate for the URL's host
name via SNI) closes the gap between checking an address and connecting to it. The
deadline covers connect, send and reading the answer; at most 64 KiB of the answer is
kept (only for the delivery log).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass, field

from smbfinance.webhooks.ssrf import Target

MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "smbfinance-webhooks/1"


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class DeliveryFailed(Exception):
    """No HTTP answer: timeout, refused connection, TLS failure, unsafe target."""


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self._address = target.address
        self._context = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


def post(target: Target, body: bytes, headers: dict[str, str], *, timeout: float) -> Response:
    """POST `body`; raise DeliveryFailed when no HTTP status came back in time."""
    deadline = time.monotonic() + timeout
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = _PinnedHTTPSConnection(target, timeout, ssl.create_default_context())
    else:
        connection = _PinnedHTTPConnection(target, timeout)
    try:
        connection.request("POST", target.path, body=body, headers={
            **headers, "Content-Type": "application/json", "User-Agent": USER_AGENT,
            "Content-Length": str(len(body)), "Connection": "close"})
        _shrink_timeout(connection, deadline)
        answer = connection.getresponse()
        chunks: list[bytes] = []
        size = 0
        while size < MAX_RESPONSE_BYTES:
            _shrink_timeout(connection, deadline)
            chunk = answer.read1(MAX_RESPONSE_BYTES - size) if hasattr(answer, "read1") else b""
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return Response(status=answer.status,
                         headers={k.lower(): v for k, v in answer.getheaders()},
                         body=b"".join(chunks))
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        raise DeliveryFailed(_describe(exc)) from None
    finally:
        connection.close()


def _shrink_timeout(connection: http.client.HTTPConnection, deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("the receiver did not answer in time")
    if connection.sock is not None:
        connection.sock.settimeout(remaining)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timeout: the receiver did not answer in time"
    return f"{type(exc).__name__}: {exc}"[:300]
