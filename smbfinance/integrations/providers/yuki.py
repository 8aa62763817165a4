"""Yuki adapter over SOAP (zeep): `Authenticate`, `Administrations`,
`OutstandingDebtorItems` / `OutstandingCreditorItems` (our receivables and payables) and
`GLAccountBalance`, on the AccountingInfo service.

- The WSDL is the bundled copy (the one the simulator serves), pointed at the configured
  service URL, so loading it costs no call and no network; `wsdl_url` can load the host's.
- Every SOAP call goes through our `HttpClient` (timeouts, size cap, same-origin only,
  secret-free logs; zeep's own debug logging of envelopes, which would print the access
  key, is bypassed). A 500 carrying a SOAP fault is a fault, not an outage.
- Yuki counts every call against a daily quota (1,000 per domain on the free tier), so
  `calls` counts what we spent and only outages (502/503/504, timeouts) are retried, once.
- The session id from `Authenticate` is cached (in the client, or a shared `SessionCache`)
  for 23 hours and renewed once when Yuki says it is no longer valid.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import zeep
import zeep.exceptions
import zeep.wsdl
from lxml import etree

from smbfinance.integrations.providers import yuki_transform as transform
from smbfinance.integrations.providers.base import Administration, OpenItem
from smbfinance.integrations.providers.errors import (
    AuthorizationFailed,
    MalformedResponse,
    ProviderError,
    ProviderFault,
    ProviderUnavailable,
    QuotaExhausted,
)
from smbfinance.integrations.providers.http import HttpClient, HttpPolicy, HttpResponse

PROVIDER = "yuki"
PRODUCTION_SERVICE = "https://api.yukiworks.be/ws/AccountingInfo.asmx"
BUNDLED_WSDL = Path(__file__).resolve().parents[1] / "sandbox" / "yuki_accountinginfo.wsdl"
BINDING = "{http://www.theyukicompany.com/}AccountingInfoSoap"
SESSION_LIFETIME = timedelta(hours=23)  # Yuki's is about 24 h (unverified): renew early
OUTAGE_STATUSES = frozenset({502, 503, 504})
# Phrases by which Yuki's fault texts are recognised (unverified; see sandbox/yuki.py).
QUOTA_PHRASES = ("maximum number", "quota")
ACCESS_KEY_PHRASES = ("access key", "authentication failed", "accesskey")
SESSION_PHRASES = ("sessionid", "session")
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


@dataclass(frozen=True)
class YukiSettings:
    access_key: str = field(repr=False)
    service_url: str = PRODUCTION_SERVICE
    wsdl_url: str | None = None
    currency: str = "EUR"
    policy: HttpPolicy = field(default_factory=lambda: HttpPolicy(max_attempts=2))


class SessionCache(Protocol):
    def get(self) -> tuple[str, datetime] | None: ...

    def set(self, session_id: str, expires_at: datetime) -> None: ...

    def clear(self) -> None: ...


class MemorySessionCache:
    def __init__(self) -> None:
        self._value: tuple[str, datetime] | None = None

    def get(self) -> tuple[str, datetime] | None:
        return self._value

    def set(self, session_id: str, expires_at: datetime) -> None:
        self._value = (session_id, expires_at)

    def clear(self) -> None:
        self._value = None


class _SessionInvalid(Exception):
    pass


@dataclass
class _Reply:
    """What zeep reads from a transport's response."""

    status_code: int
    content: bytes
    headers: dict[str, str]
    encoding: str | None = None


class _Transport(zeep.Transport):
    def __init__(self, http: HttpClient) -> None:
        super().__init__(session=http.session, timeout=http.policy.read_timeout,
                         operation_timeout=http.policy.read_timeout)
        self.http = http
        self.calls = 0

    def post(self, address: str, message: bytes | str, headers: dict[str, str]) -> _Reply:
        def parse(response: HttpResponse) -> _Reply:
            is_xml = "xml" in response.headers.get("Content-Type", "")
            if response.status >= 400 and not (response.status == 500 and is_xml):
                raise self.http.status_error(response)
            return _Reply(response.status, response.body, dict(response.headers))

        sent_before = self.http.attempts
        try:
            return self.http.send("POST", address, parse=parse, data=message,
                                  headers=headers, idempotent=True,
                                  retry_statuses=OUTAGE_STATUSES)
        finally:
            # Every request that reached Yuki counts against the quota, retries included.
            self.calls += self.http.attempts - sent_before

    def load(self, url: str) -> bytes:
        if "://" not in url or url.startswith("file://"):
            return super().load(url)

        def parse(response: HttpResponse) -> bytes:
            if response.status != 200:
                raise self.http.status_error(response)
            return response.body

        return self.http.send("GET", url, parse=parse)


def _now() -> datetime:
    return datetime.now(UTC)


# Parsing the WSDL costs more than a sync's SOAP calls; the parsed document is read-only
# and the transport that sends calls is the client's own, so one per process serves all.
_DOCUMENTS: dict[str, zeep.wsdl.Document] = {}
_DOCUMENTS_LOCK = threading.Lock()


def _document(location: str, transport: zeep.Transport) -> zeep.wsdl.Document:
    with _DOCUMENTS_LOCK:
        found = _DOCUMENTS.get(location)
        if found is None:
            if len(_DOCUMENTS) >= 8:
                _DOCUMENTS.clear()
            found = _DOCUMENTS[location] = zeep.wsdl.Document(location, transport,
                                                             settings=zeep.Settings())
        return found


class YukiClient:
    """An `AccountingProvider` over Yuki for one access key (one domain)."""

    name = PROVIDER

    def __init__(self, settings: YukiSettings, *, clock: Callable[[], datetime] = _now,
                 http: HttpClient | None = None,
                 session_cache: SessionCache | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.http = http or HttpClient(provider=PROVIDER, base_url=settings.service_url,
                                       policy=settings.policy)
        self.sessions = session_cache or MemorySessionCache()
        self._transport = _Transport(self.http)
        wsdl = settings.wsdl_url or str(BUNDLED_WSDL)
        try:
            client = zeep.Client(wsdl=_document(wsdl, self._transport),
                                 transport=self._transport)
        except (zeep.exceptions.Error, etree.XMLSyntaxError):
            raise MalformedResponse("Yuki WSDL could not be read", provider=PROVIDER) from None
        self._service = client.create_service(BINDING, settings.service_url)
        self._lock = threading.Lock()

    @property
    def calls(self) -> int:
        """SOAP calls sent (retries included): what this client spent of the daily quota."""
        return self._transport.calls

    # -- calls ---------------------------------------------------------------------------

    def _raw(self, operation: str, **params: Any) -> Any:
        try:
            return getattr(self._service, operation)(**params)
        except zeep.exceptions.Fault as fault:
            raise _fault_error(fault) from None
        except (zeep.exceptions.XMLSyntaxError, etree.XMLSyntaxError,
                zeep.exceptions.XMLParseError, zeep.exceptions.ValidationError):
            raise MalformedResponse(f"Yuki {operation}: unreadable SOAP body",
                                    provider=PROVIDER) from None
        except zeep.exceptions.TransportError as error:
            if error.status_code == 200:  # zeep's word for a body that is not XML
                raise MalformedResponse(f"Yuki {operation}: unreadable SOAP body",
                                        provider=PROVIDER) from None
            raise ProviderUnavailable(f"Yuki {operation}: HTTP {error.status_code}",
                                      provider=PROVIDER, status=error.status_code) from None

    def session_id(self) -> str:
        with self._lock:
            cached = self.sessions.get()
            if cached and cached[1] > self.clock():
                return cached[0]
            session = self._raw("Authenticate", accessKey=self.settings.access_key)
            if not session:
                raise AuthorizationFailed("Yuki returned no session for the access key",
                                          provider=PROVIDER)
            self.sessions.set(str(session), self.clock() + SESSION_LIFETIME)
            return str(session)

    def _call(self, operation: str, **params: Any) -> Any:
        for attempt in (1, 2):
            try:
                return self._raw(operation, sessionID=self.session_id(), **params)
            except _SessionInvalid:
                self.sessions.clear()
                if attempt == 2:
                    raise AuthorizationFailed("Yuki refused a fresh session",
                                              provider=PROVIDER) from None
        raise AssertionError("unreachable")  # pragma: no cover

    # -- AccountingProvider ---------------------------------------------------------------

    def administrations(self) -> list[Administration]:
        return transform.administrations(_element(self._call("Administrations")))

    def open_receivables(self, administration_id: str) -> list[OpenItem]:
        return self._items("OutstandingDebtorItems", administration_id, "receivable")

    def open_payables(self, administration_id: str) -> list[OpenItem]:
        return self._items("OutstandingCreditorItems", administration_id, "payable")

    def _items(self, operation: str, administration_id: str, direction: str) -> list[OpenItem]:
        result = self._call(operation, administrationID=administration_id,
                            includeBankTransactions=False, sortOrder="DateAsc")
        items = transform.open_items(_element(result), administration_id=administration_id,
                                     direction=direction, currency=self.settings.currency)
        unique: dict[str, OpenItem] = {}
        for item in items:
            unique.setdefault(item.provider_id, item)
        return list(unique.values())

    def gl_balances(self, administration_id: str, on: date) -> dict[str, Decimal]:
        result = self._call("GLAccountBalance", administrationID=administration_id,
                            transactionDate=datetime.combine(on, time()))
        return transform.gl_balances(_element(result))


def _element(result: Any) -> etree._Element:
    """A result is an lxml element (`<s:any>` content), a list of them, or XML text."""
    if isinstance(result, etree._Element):
        return result
    if isinstance(result, list) and result and isinstance(result[0], etree._Element):
        wrapper = etree.Element("Result")
        wrapper.extend(result)
        return wrapper
    if isinstance(result, str) and result.strip():
        try:
            return etree.fromstring(result.encode(), _SAFE_PARSER)
        except etree.XMLSyntaxError:
            raise MalformedResponse("Yuki result is not XML", provider=PROVIDER) from None
    if result is None or result == "":
        return etree.Element("Result")
    value = getattr(result, "_value_1", None)
    if value is not None:
        return _element(value)
    raise MalformedResponse("Yuki result has an unexpected shape", provider=PROVIDER)


def _fault_error(fault: zeep.exceptions.Fault) -> ProviderError | _SessionInvalid:
    text = (fault.message or "").strip()
    lowered = text.lower()
    if any(p in lowered for p in QUOTA_PHRASES):
        return QuotaExhausted("Yuki's daily web-service quota is spent", provider=PROVIDER)
    if any(p in lowered for p in ACCESS_KEY_PHRASES):
        return AuthorizationFailed("Yuki refused the access key", provider=PROVIDER)
    if any(p in lowered for p in SESSION_PHRASES):
        return _SessionInvalid()
    return ProviderFault(f"Yuki SOAP fault: {text[:160]}", provider=PROVIDER,
                         code=str(fault.code or "")[:40] or None)
