"""Ponto Connect adapter: OAuth2 (authorization code + PKCE, rotating refresh tokens,
revoke), JSON:API reads with cursor paging until known data, and synchronizations.

The same code talks to https://api.ibanity.com/ponto-connect (mutual TLS: `client_cert`)
and to our simulator; only `PontoSettings` differ (docs/integrations.md).

Tokens: `PontoClient` refreshes the access token shortly before it expires and once after a
401, and hands every new `TokenSet` to `on_tokens` *before* using it, because Ponto rotates
refresh tokens: the old one is dead the moment the new one is issued, so losing the new one
would disconnect the integration. A refresh is never retried blindly for the same reason.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from smbfinance.integrations.providers import ponto_transform as transform
from smbfinance.integrations.providers.base import (
    Account,
    Balance,
    Consent,
    SynchronizationState,
    Transaction,
    TransactionBatch,
)
from smbfinance.integrations.providers.errors import (
    AuthorizationFailed,
    ConsentExpired,
    MalformedResponse,
    ProviderError,
    ProviderFault,
    QuotaExhausted,
    TokenRevoked,
)
from smbfinance.integrations.providers.http import HttpClient, HttpPolicy, HttpResponse

PROVIDER = "ponto"
PRODUCTION_API = "https://api.ibanity.com/ponto-connect"
PRODUCTION_AUTHORIZE = "https://authorization.myponto.com/oauth2/auth"
SANDBOX_AUTHORIZE = "https://sandbox-authorization.myponto.com/oauth2/auth"
REFRESH_MARGIN = timedelta(seconds=60)
CURSOR_DAYS = timedelta(days=3)
MAX_PAGES = 500
PAGE_LIMIT = 100
# Synchronization error codes we act on (unverified at Ponto; our simulator uses them).
CONSENT_ERRORS = {"authorizationExpired", "authorizationInvalid", "reauthorizationRequired"}
RATION_ERRORS = {"accountRateLimitExceeded", "tooManySynchronizations"}


@dataclass(frozen=True)
class PontoSettings:
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    api_url: str = PRODUCTION_API
    authorization_url: str = PRODUCTION_AUTHORIZE
    scope: str = "ai pi name offline_access"
    client_cert: tuple[str, str] | None = None  # (certificate, private key) paths for mTLS
    verify: bool | str = True
    policy: HttpPolicy = field(default_factory=HttpPolicy)


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    scope: str = ""


@dataclass(frozen=True)
class Pkce:
    verifier: str = field(repr=False)
    challenge: str


def new_pkce() -> Pkce:
    """RFC 7636 S256: a 64-character verifier and its SHA-256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return Pkce(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))


def authorization_url(settings: PontoSettings, *, state: str, pkce: Pkce,
                      extra: dict[str, str] | None = None) -> str:
    """Where to send the user's browser to connect their bank accounts."""
    query = {"client_id": settings.client_id, "redirect_uri": settings.redirect_uri,
             "response_type": "code", "scope": settings.scope, "state": state,
             "code_challenge": pkce.challenge, "code_challenge_method": "S256",
             **(extra or {})}
    return f"{settings.authorization_url}?{urlencode(query)}"


def read_json(response: HttpResponse, provider: str = PROVIDER) -> Any:
    """Decimal for every JSON number with a fraction: amounts never touch a float."""
    try:
        return json.loads(response.body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise MalformedResponse(f"{provider} sent a body that is not JSON", provider=provider,
                                request_id=response.request_id) from None


def _now() -> datetime:
    return datetime.now(UTC)


class PontoOAuth:
    def __init__(self, settings: PontoSettings, *, http: HttpClient | None = None,
                 clock: Callable[[], datetime] = _now) -> None:
        self.settings = settings
        self.http = http or _http(settings)
        self.clock = clock

    def _token_call(self, form: dict[str, str]) -> TokenSet:
        def parse(response: HttpResponse) -> TokenSet:
            body = read_json(response)
            if response.status != 200:
                error = body.get("error") if isinstance(body, dict) else None
                if error == "invalid_grant":
                    raise TokenRevoked("Ponto refused the grant (revoked, rotated or expired)",
                                       provider=PROVIDER, request_id=response.request_id)
                if error in ("invalid_client", "unauthorized_client") or response.status == 401:
                    raise AuthorizationFailed("Ponto refused our client credentials",
                                              provider=PROVIDER,
                                              request_id=response.request_id)
                raise ProviderFault(f"Ponto token endpoint: {str(error)[:60]}",
                                    provider=PROVIDER, code=error, status=response.status,
                                    request_id=response.request_id)
            try:
                return TokenSet(
                    access_token=body["access_token"], refresh_token=body["refresh_token"],
                    expires_at=self.clock() + timedelta(seconds=int(body["expires_in"])),
                    scope=body.get("scope", ""))
            except (KeyError, TypeError, ValueError):
                raise MalformedResponse("Ponto token response without tokens",
                                        provider=PROVIDER,
                                        request_id=response.request_id) from None

        return self.http.send("POST", "/oauth2/token", parse=parse, data=form,
                              auth=(self.settings.client_id, self.settings.client_secret),
                              headers={"Accept": "application/json"}, idempotent=False)

    def exchange_code(self, code: str, verifier: str) -> TokenSet:
        return self._token_call({"grant_type": "authorization_code", "code": code,
                                 "code_verifier": verifier,
                                 "redirect_uri": self.settings.redirect_uri,
                                 "client_id": self.settings.client_id})

    def refresh(self, refresh_token: str) -> TokenSet:
        return self._token_call({"grant_type": "refresh_token",
                                 "refresh_token": refresh_token,
                                 "client_id": self.settings.client_id})

    def revoke(self, token: str) -> None:
        def parse(response: HttpResponse) -> None:
            if response.status >= 400:
                raise ProviderFault(f"Ponto revoke answered {response.status}",
                                    provider=PROVIDER, status=response.status,
                                    request_id=response.request_id)

        # RFC 7009 revocation is idempotent: retrying it is harmless.
        self.http.send("POST", "/oauth2/revoke", parse=parse, data={"token": token},
                       auth=(self.settings.client_id, self.settings.client_secret),
                       idempotent=True)


def _http(settings: PontoSettings, **kwargs: Any) -> HttpClient:
    return HttpClient(provider=PROVIDER, base_url=settings.api_url, policy=settings.policy,
                      cert=settings.client_cert, verify=settings.verify, **kwargs)


def _api_error(response: HttpResponse) -> ProviderError:
    try:
        errors = json.loads(response.body).get("errors") or [{}]
        code = str(errors[0].get("code") or "")[:60]
    except (ValueError, AttributeError, TypeError, IndexError):
        code = ""
    if response.status == 401:
        return AuthorizationFailed("Ponto refused the access token", provider=PROVIDER,
                                   request_id=response.request_id)
    if code in CONSENT_ERRORS:
        return ConsentExpired("The bank consent expired; the user must reauthorize in Ponto",
                              provider=PROVIDER, request_id=response.request_id)
    return ProviderFault(f"Ponto answered {response.status} {code}".strip(),
                         provider=PROVIDER, code=code or None, status=response.status,
                         request_id=response.request_id)


def encode_cursor(seen: dict[str, date], known: set[str], watermark: date | None) -> str | None:
    """`<watermark date>|<ids on or after it>`. The watermark trails the newest date seen by
    `CURSOR_DAYS`, so a movement Ponto books a little late, still dated inside the window,
    is not mistaken for one we already have."""
    if not seen:
        return f"{watermark.isoformat()}|{','.join(sorted(known))}" if watermark else None
    new_mark = max(seen.values()) - CURSOR_DAYS
    if watermark and watermark > new_mark:
        new_mark = watermark
    ids = {i for i, d in seen.items() if d >= new_mark}
    if watermark == new_mark:
        ids |= known
    return f"{new_mark.isoformat()}|{','.join(sorted(ids))}"


def decode_cursor(cursor: str | None) -> tuple[date | None, set[str]]:
    if not cursor:
        return None, set()
    try:
        mark, _, ids = cursor.partition("|")
        return date.fromisoformat(mark), {i for i in ids.split(",") if i}
    except ValueError:
        return None, set()  # an unreadable cursor means a full walk; upserts dedupe


class PontoClient:
    """A `BankProvider` over Ponto Connect for one integration's tokens."""

    name = PROVIDER

    def __init__(self, settings: PontoSettings, tokens: TokenSet, *,
                 on_tokens: Callable[[TokenSet], None],
                 clock: Callable[[], datetime] = _now,
                 http: HttpClient | None = None) -> None:
        self.settings = settings
        self.tokens = tokens
        self.on_tokens = on_tokens
        self.clock = clock
        self.http = http or _http(settings)
        self.oauth = PontoOAuth(settings, http=self.http, clock=clock)
        self.pages_read = 0

    # -- tokens and calls ----------------------------------------------------------------

    def _refresh(self) -> None:
        fresh = self.oauth.refresh(self.tokens.refresh_token)
        self.on_tokens(fresh)  # persist first: the old refresh token is already dead
        self.tokens = fresh

    def _call(self, method: str, path_or_url: str, *, body: Any = None,
              headers: dict[str, str] | None = None, idempotent: bool | None = None) -> Any:
        if self.tokens.expires_at - REFRESH_MARGIN <= self.clock():
            self._refresh()
        for attempt in (1, 2):
            def parse(response: HttpResponse) -> Any:
                if response.status >= 400:
                    raise _api_error(response)
                return read_json(response)

            try:
                return self.http.send(
                    method, path_or_url, parse=parse, idempotent=idempotent,
                    data=json.dumps(body) if body is not None else None,
                    headers={"Authorization": f"Bearer {self.tokens.access_token}",
                             "Accept": "application/vnd.api+json",
                             **({"Content-Type": "application/vnd.api+json"}
                                if body is not None else {}),
                             **(headers or {})})
            except AuthorizationFailed:
                if attempt == 2:
                    raise
                self._refresh()  # expired early or revoked: a refresh tells which
        raise AssertionError("unreachable")  # pragma: no cover

    def _pages(self, path: str) -> Iterator[tuple[list[dict[str, Any]], dict[str, Any]]]:
        """Each page's resources and meta, following `links.next`; a `next` that points
        back to a page already read is a paging loop, not an endless walk."""
        url: str | None = f"{path}?{urlencode({'page[limit]': PAGE_LIMIT})}"
        seen: set[str] = set()
        while url:
            if url in seen or len(seen) >= MAX_PAGES:
                raise MalformedResponse("Ponto paging loops or never ends", provider=PROVIDER)
            seen.add(url)
            body = self._call("GET", url)
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise MalformedResponse("Ponto list without data", provider=PROVIDER)
            self.pages_read += 1
            yield body["data"], body.get("meta") or {}
            url = (body.get("links") or {}).get("next")

    # -- BankProvider ---------------------------------------------------------------------

    def accounts(self) -> list[Account]:
        found: dict[str, Account] = {}
        for resources, _meta in self._pages("/accounts"):
            for resource in resources:
                synced = transform.parse_timestamp((resource.get("meta") or {})
                                                   .get("synchronizedAt"))
                account = transform.account_from_resource(resource, now=self.clock(),
                                                          synchronized_at=synced)
                found.setdefault(account.provider_id, account)
        return list(found.values())

    def account(self, account_id: str) -> Account:
        body = self._call("GET", f"/accounts/{account_id}")
        resource = body.get("data") if isinstance(body, dict) else None
        synced = transform.parse_timestamp(((resource or {}).get("meta") or {})
                                           .get("synchronizedAt"))
        return transform.account_from_resource(resource or {}, now=self.clock(),
                                               synchronized_at=synced)

    def balances(self, account_id: str) -> list[Balance]:
        account = self.account(account_id)
        return [b for b in (account.current_balance, account.available_balance) if b]

    def consent(self, account_id: str) -> Consent:
        return self.account(account_id).consent

    def transactions_since(self, account_id: str, cursor: str | None) -> TransactionBatch:
        """New booked transactions, walking newest first until a page reaches below the
        cursor's watermark date (Ponto has no date filter). The cursor holds that date and
        the ids seen on or after it, so items out of order within a page, or repeated on
        the next page, change nothing: results are keyed by id and judged by date."""
        watermark, known = decode_cursor(cursor)
        found: dict[str, Transaction] = {}
        seen_dates: dict[str, date] = {}
        order: dict[str, int] = {}
        synchronized_at = None
        pages = 0
        for resources, meta in self._pages(f"/accounts/{account_id}/transactions"):
            pages += 1
            synchronized_at = synchronized_at or transform.parse_timestamp(
                meta.get("synchronizedAt"))
            reached_known_ground = False
            for resource in resources:
                tx = transform.transaction_from_resource(resource, account_id=account_id)
                seen_dates[tx.provider_id] = tx.booking_date
                order.setdefault(tx.provider_id, len(order))
                if watermark and tx.booking_date < watermark:
                    reached_known_ground = True
                elif tx.provider_id not in known:
                    found.setdefault(tx.provider_id, tx)
            if reached_known_ground:
                break
        # Oldest first: by date, then against the walk (the walk runs newest first).
        ordered = sorted(found.values(), key=lambda t: (t.booking_date, -order[t.provider_id]))
        return TransactionBatch(transactions=tuple(ordered),
                                cursor=encode_cursor(seen_dates, known, watermark),
                                pages_read=pages, synchronized_at=synchronized_at)

    def pending_transactions(self, account_id: str) -> list[Transaction]:
        found: dict[str, Transaction] = {}
        for resources, _meta in self._pages(f"/accounts/{account_id}/pending-transactions"):
            for resource in resources:
                tx = transform.transaction_from_resource(resource, account_id=account_id)
                found.setdefault(tx.provider_id, tx)
        return list(found.values())

    # -- synchronizations -----------------------------------------------------------------

    def create_synchronization(self, account_id: str, *, subtype: str = "accountTransactions",
                               customer_ip: str | None = None,
                               idempotency_key: str | None = None) -> SynchronizationState:
        """Ask Ponto to fetch fresh data from the bank. This is the rationed bank access;
        the idempotency key makes a retried POST create one synchronization, not two."""
        attributes = {"resourceType": "account", "resourceId": account_id, "subtype": subtype}
        if customer_ip:
            attributes["customerIpAddress"] = customer_ip
        body = self._call(
            "POST", "/synchronizations",
            body={"data": {"type": "synchronization", "attributes": attributes}},
            headers={"Ibanity-Idempotency-Key": idempotency_key or str(uuid.uuid4())},
            idempotent=True)
        return self._sync_state(body)

    def synchronization(self, sync_id: str) -> SynchronizationState:
        return self._sync_state(self._call("GET", f"/synchronizations/{sync_id}"))

    def wait_for_synchronization(self, sync_id: str, *, polls: int = 10,
                                 sleep: Callable[[float], None] | None = None,
                                 interval: float = 1.0) -> SynchronizationState:
        """Poll until the synchronization ends; its errors become typed errors."""
        state = self.synchronization(sync_id)
        for _ in range(polls):
            if state.finished:
                break
            (sleep or self.http.sleep)(interval)
            state = self.synchronization(sync_id)
        raise_for_synchronization(state)
        return state

    def updated_transactions(self, sync_id: str) -> list[Transaction]:
        found: dict[str, Transaction] = {}
        for resources, _meta in self._pages(f"/synchronizations/{sync_id}/updated-transactions"):
            for resource in resources:
                tx = transform.transaction_from_resource(resource)
                found.setdefault(tx.provider_id, tx)
        return list(found.values())

    @staticmethod
    def _sync_state(body: Any) -> SynchronizationState:
        try:
            resource = body["data"]
            attributes = resource["attributes"]
            return SynchronizationState(
                provider_id=resource["id"], status=attributes["status"],
                subtype=attributes.get("subtype", ""),
                account_provider_id=attributes.get("resourceId", ""),
                errors=tuple(str(e.get("code") or e.get("detail") or "")[:60]
                             for e in attributes.get("errors") or []))
        except (KeyError, TypeError, AttributeError):
            raise MalformedResponse("Ponto synchronization without status",
                                    provider=PROVIDER) from None

    # -- disconnect ------------------------------------------------------------------------

    def revoke(self) -> None:
        self.oauth.revoke(self.tokens.refresh_token)


def raise_for_synchronization(state: SynchronizationState) -> None:
    if state.status != "error":
        return
    codes = set(state.errors)
    if codes & CONSENT_ERRORS:
        raise ConsentExpired("The bank consent expired; the user must reauthorize in Ponto",
                             provider=PROVIDER)
    if codes & RATION_ERRORS:
        raise QuotaExhausted("No bank synchronization left for this account today",
                             provider=PROVIDER)
    raise ProviderFault(f"Ponto synchronization failed: {', '.join(sorted(codes))[:120]}",
                        provider=PROVIDER, code=next(iter(sorted(codes)), None))
