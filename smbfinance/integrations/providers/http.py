"""The one outbound HTTP path of the integrations (requests; zeep uses the same session
type). What every call gets, whatever the adapter:

- connect and read timeouts on every request;
- no redirect is followed to another origin (scheme, host, port); same-origin redirects of
  a GET are followed at most three times, by hand;
- a response-size cap, enforced while streaming (a lying Content-Length cannot pass it);
- retries only where repeating is harmless (GETs, and POSTs the caller marks idempotent),
  on 429/500/502/503/504, timeouts and dropped connections, with exponential backoff and
  full jitter, never waiting less than `Retry-After`; a `Retry-After` longer than
  `max_retry_after` is handed back as `RateLimited` so the sync engine reschedules instead
  of holding a worker;
- logs carry provider, method, path, status, duration and the provider's request id: never
  headers, query strings or bodies (tokens, codes and keys travel there).
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import requests

from smbfinance.integrations.providers.errors import (
    MalformedResponse,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    RedirectRefused,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRYABLE_STATUS = {429, 500, 502, 503, 504}
MAX_REDIRECTS = 3


@dataclass(frozen=True)
class HttpPolicy:
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_bytes: int = 8 * 1024 * 1024
    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    max_retry_after: float = 60.0


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes
    request_id: str | None


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


class HttpClient:
    def __init__(self, *, provider: str, base_url: str, policy: HttpPolicy | None = None,
                 session: requests.Session | None = None,
                 cert: tuple[str, str] | None = None, verify: bool | str = True,
                 sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[], float] = random.random) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.policy = policy or HttpPolicy()
        self.session = session or requests.Session()
        self.session.trust_env = False  # no proxy or netrc credentials from the environment
        if cert:
            self.session.cert = cert  # mutual TLS (Ponto production)
        self.session.verify = verify
        self.sleep = sleep
        self._jitter = jitter
        self._origin = origin(self.base_url)
        self.waits: list[float] = []  # every backoff slept, for tests and sync logs
        self.attempts = 0  # HTTP requests actually sent (budget accounting)

    def url(self, path_or_url: str) -> str:
        """An absolute URL on our provider's origin; links from bodies are checked too."""
        url = path_or_url if "://" in path_or_url else self.base_url + path_or_url
        if origin(url) != self._origin:
            raise RedirectRefused(f"refusing a URL outside {self._origin[1]}",
                                  provider=self.provider)
        return url

    def send(self, method: str, path_or_url: str, *, parse: Callable[[HttpResponse], T],
             headers: Mapping[str, str] | None = None, data: Any = None,
             auth: tuple[str, str] | None = None, idempotent: bool | None = None,
             retry_statuses: frozenset[int] | set[int] = RETRYABLE_STATUS) -> T:
        """Send, retrying as the module says, and return `parse(response)`. `parse` raises
        a ProviderError for an error answer; a MalformedResponse from it is retried too.
        `retry_statuses` lets SOAP callers read a 500 that carries a fault themselves."""
        url = self.url(path_or_url)
        idempotent = method.upper() == "GET" if idempotent is None else idempotent
        attempts = self.policy.max_attempts if idempotent else 1
        for attempt in range(1, attempts + 1):
            try:
                response = self.exchange(method, url, headers=headers, data=data, auth=auth)
                if response.status in retry_statuses:
                    raise self.status_error(response)
                return parse(response)
            except ProviderError as error:
                if not error.retryable or attempt >= attempts:
                    raise
                wait = self._backoff(attempt)
                if isinstance(error, RateLimited) and error.retry_after is not None:
                    if error.retry_after > self.policy.max_retry_after:
                        raise
                    wait = max(wait, error.retry_after)
                self.waits.append(wait)
                self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.policy.backoff_cap, self.policy.backoff_base * 2 ** (attempt - 1))
        return ceiling * (0.5 + self._jitter() / 2)

    def status_error(self, response: HttpResponse) -> ProviderError:
        if response.status == 429:
            return RateLimited(f"{self.provider} asked us to slow down (429)",
                               provider=self.provider, request_id=response.request_id,
                               retry_after=parse_retry_after(response.headers.get("Retry-After")))
        return ProviderUnavailable(f"{self.provider} answered {response.status}",
                                   provider=self.provider, status=response.status,
                                   request_id=response.request_id)

    def exchange(self, method: str, url: str, *, headers: Mapping[str, str] | None = None,
                 data: Any = None, auth: tuple[str, str] | None = None) -> HttpResponse:
        """One request (and its same-origin redirects), no retry."""
        url = self.url(url)
        started = time.monotonic()
        for _ in range(MAX_REDIRECTS + 1):
            self.attempts += 1
            try:
                raw = self.session.request(
                    method, url, headers=dict(headers or {}), data=data, auth=auth,
                    timeout=(self.policy.connect_timeout, self.policy.read_timeout),
                    allow_redirects=False, stream=True)
            except requests.Timeout:
                raise ProviderTimeout(f"{self.provider} did not answer in time",
                                      provider=self.provider) from None
            except requests.RequestException as exc:
                raise ProviderUnavailable(f"{self.provider} unreachable ({type(exc).__name__})",
                                          provider=self.provider) from None
            with raw:
                request_id = raw.headers.get("ibanity-request-id") or raw.headers.get(
                    "x-request-id")
                if raw.is_redirect and method.upper() == "GET":
                    target = urljoin(url, raw.headers.get("Location", ""))
                    if origin(target) != self._origin:
                        raise RedirectRefused(
                            f"{self.provider} redirected to another host; not followed",
                            provider=self.provider, request_id=request_id)
                    url = target
                    continue
                body = self._read(raw, request_id)
                fields = {"provider": self.provider, "method": method.upper(),
                          "path": urlsplit(url).path, "status": raw.status_code,
                          "duration_ms": round((time.monotonic() - started) * 1000),
                          "provider_request_id": request_id}
                log.info("provider call: %(provider)s %(method)s %(path)s -> %(status)s in "
                         "%(duration_ms)s ms (request id %(provider_request_id)s)", fields,
                         extra=fields)
                return HttpResponse(raw.status_code, dict(raw.headers), body, request_id)
        raise RedirectRefused(f"{self.provider} redirected too often", provider=self.provider)

    def _read(self, raw: requests.Response, request_id: str | None) -> bytes:
        limit = self.policy.max_bytes
        declared = raw.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise MalformedResponse(f"{self.provider} response larger than {limit} bytes",
                                    provider=self.provider, request_id=request_id)
        chunks, size = [], 0
        try:
            for chunk in raw.iter_content(chunk_size=65536):
                size += len(chunk)
                if size > limit:
                    raise MalformedResponse(
                        f"{self.provider} response larger than {limit} bytes",
                        provider=self.provider, request_id=request_id)
                chunks.append(chunk)
        except requests.Timeout:
            raise ProviderTimeout(f"{self.provider} stopped sending the body in time",
                                  provider=self.provider, request_id=request_id) from None
        except requests.RequestException as exc:
            raise MalformedResponse(f"{self.provider} body cut short ({type(exc).__name__})",
                                    provider=self.provider, request_id=request_id) from None
        return b"".join(chunks)
