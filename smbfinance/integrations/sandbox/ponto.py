"""A Ponto Connect simulator: the paths, JSON:API shapes, OAuth2 (authorization code with
PKCE, rotating refresh tokens, revoke), cursor paging, synchronizations and signed webhooks
of the real service (docs/integrations.md; /work/shared/design/PROVIDERS.md), over data that
grows with an injectable clock (`demo_data`), with fault knobs (`faults`).

    sim = PontoSimulator(clock=ManualClock(...))
    with sim.serve() as server:          # http://127.0.0.1:<port>
        ...                               # point PontoSettings.api_url at server.url

What the simulator decides where the real service is undocumented (marked "unverified" in
PROVIDERS.md): synchronization error codes `authorizationExpired` and
`accountRateLimitExceeded`, the webhook header name `Signature`, and the `iss` claim.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import ssl
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from smbfinance.integrations.sandbox import demo_data
from smbfinance.integrations.sandbox.clock import Clock
from smbfinance.integrations.sandbox.faults import Fault, FaultPlan
from smbfinance.integrations.sandbox.server import LoopbackServer

JSONAPI = "application/vnd.api+json"
PREFIX = "/ponto-connect"
CODE_TTL = timedelta(minutes=2)
SYNC_SUBTYPES = {"accountDetails", "accountTransactions", "accountTransactionsWithUnsettled"}
WEBHOOK_HEADER = "Signature"


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _day(day: Any) -> str:
    return f"{day.isoformat()}T00:00:00.000Z"


# Ponto sends amounts as JSON numbers, not strings. The simulator writes them from the
# Decimal's own digits, never through a float: `_number` marks the amount and `_dumps`
# turns each marked string into the bare number.
_NUMBER = "\x00number:"
_MARKED = re.compile(r'"\\u0000number:(-?[0-9]+(?:\.[0-9]+)?)"')


def _number(amount: Decimal) -> str:
    return f"{_NUMBER}{amount}"


def _dumps(payload: Any) -> str:
    return _MARKED.sub(r"\1", json.dumps(payload))


@dataclass
class AccountState:
    id: str
    demo: demo_data.DemoAccount
    seed: int
    authorized_at: datetime
    expires_at: datetime
    visible_at: datetime  # the moment of the last successful synchronization
    synchronizations: list[datetime] = field(default_factory=list)


@dataclass
class Organization:
    id: str
    company: demo_data.DemoCompany
    accounts: dict[str, AccountState]
    revoked: bool = False


@dataclass
class Synchronization:
    id: str
    organization: str
    account: str
    subtype: str
    customer_ip: str | None
    created_at: datetime
    status: str = "pending"
    errors: list[dict[str, Any]] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


@dataclass
class Grant:
    organization: str
    expires_at: datetime
    refresh: str | None = None


class PontoSimulator:
    def __init__(self, *, clock: Clock, client_id: str = "sandbox-client-id",
                 client_secret: str = "sandbox-client-secret",  # noqa: S107 - a sandbox
                 history_days: int = 30,
                 page_size: int = 10, max_page_size: int = 100,
                 access_token_ttl: int = 1799, consent_days: int = 90,
                 sync_limit_per_day: int = 4,
                 companies: Iterable[demo_data.DemoCompany] = demo_data.DEMO_COMPANIES) -> None:
        self.clock = clock
        self.client_id = client_id
        self.client_secret = client_secret
        self.page_size = page_size
        self.max_page_size = max_page_size
        self.access_token_ttl = access_token_ttl
        self.consent_days = consent_days
        self.sync_limit_per_day = sync_limit_per_day
        self.companies = {c.key: c for c in companies}
        self.history_start = clock.now().date() - timedelta(days=history_days)
        self.faults = FaultPlan()
        self.base_url = "http://127.0.0.1"
        self.issuer = "https://api.ibanity.com/ponto-connect"
        self.webhook_kid = "sandbox-webhook-key-1"
        self._webhook_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self.organizations: dict[str, Organization] = {}
        self._codes: dict[str, dict[str, Any]] = {}
        self._access: dict[str, Grant] = {}
        self._refresh: dict[str, Grant] = {}
        self._retired_refresh: dict[str, str] = {}  # rotated token → organization
        self.synchronizations: dict[str, Synchronization] = {}
        self._idempotency: dict[tuple[str, str], str] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) served, for assertions
        self._urls = Map([
            Rule("/oauth2/auth", endpoint="authorize", methods=["GET"]),
            Rule(PREFIX, endpoint="root", methods=["GET"]),
            Rule(f"{PREFIX}/oauth2/token", endpoint="token", methods=["POST"]),
            Rule(f"{PREFIX}/oauth2/revoke", endpoint="revoke", methods=["POST"]),
            Rule(f"{PREFIX}/userinfo", endpoint="userinfo", methods=["GET"]),
            Rule(f"{PREFIX}/webhooks/keys", endpoint="jwks", methods=["GET"]),
            Rule(f"{PREFIX}/accounts", endpoint="accounts", methods=["GET"]),
            Rule(f"{PREFIX}/accounts/<account_id>", endpoint="account", methods=["GET"]),
            Rule(f"{PREFIX}/accounts/<account_id>/transactions", endpoint="transactions",
                 methods=["GET"]),
            Rule(f"{PREFIX}/accounts/<account_id>/pending-transactions",
                 endpoint="pending_transactions", methods=["GET"]),
            Rule(f"{PREFIX}/synchronizations", endpoint="create_sync", methods=["POST"]),
            Rule(f"{PREFIX}/synchronizations/<sync_id>", endpoint="sync", methods=["GET"]),
            Rule(f"{PREFIX}/synchronizations/<sync_id>/updated-transactions",
                 endpoint="updated_transactions", methods=["GET"]),
        ], strict_slashes=False)

    # -- running -------------------------------------------------------------------------

    def serve(self, *, port: int = 0, ssl_context: ssl.SSLContext | None = None
              ) -> LoopbackServer:
        server = LoopbackServer(self, port=port, ssl_context=ssl_context)
        self.base_url = server.url
        return server

    @property
    def api_url(self) -> str:
        return self.base_url + PREFIX

    @property
    def authorization_url(self) -> str:
        return self.base_url + "/oauth2/auth"

    def stop_waiting(self) -> None:
        """Release requests held by `timeout`/`latency` faults (before a server stops)."""
        self._stopping.set()

    # -- test helpers (the "user" and the bank) -----------------------------------------

    def connect(self, company_key: str) -> Organization:
        """The user links their bank accounts in Ponto: an organization whose accounts
        Ponto synchronized at this moment."""
        with self._lock:
            now = self.clock.now()
            company = self.companies[company_key]
            org_id = demo_data.stable_id("organization", company.key)
            if org_id not in self.organizations or self.organizations[org_id].revoked:
                accounts = {}
                for demo in company.accounts:
                    account_id = demo_data.stable_id("account", demo.key)
                    accounts[account_id] = AccountState(
                        account_id, demo, company.seed, authorized_at=now,
                        expires_at=now + timedelta(days=self.consent_days), visible_at=now)
                self.organizations[org_id] = Organization(org_id, company, accounts)
            return self.organizations[org_id]

    def expire_consent(self, company_key: str | None = None) -> None:
        """Consent expiry knob: every account (of one company) passes its expiry now."""
        with self._lock:
            for org in self.organizations.values():
                if company_key in (None, org.company.key):
                    for account in org.accounts.values():
                        account.expires_at = self.clock.now() - timedelta(seconds=1)

    def revoke_all_tokens(self, company_key: str | None = None) -> None:
        """The user revoked our access in Ponto: access and refresh tokens die."""
        with self._lock:
            for store in (self._access, self._refresh):
                for token, grant in list(store.items()):
                    if company_key in (None, self.organizations[grant.organization].company.key):
                        del store[token]

    def expire_access_tokens(self) -> None:
        with self._lock:
            for grant in self._access.values():
                grant.expires_at = self.clock.now() - timedelta(seconds=1)

    def account_id(self, demo_account_key: str) -> str:
        return demo_data.stable_id("account", demo_account_key)

    def movements(self, account_id: str, until: datetime | None = None
                  ) -> list[demo_data.Movement]:
        account = self._find_account(account_id)
        return demo_data.movements(account.seed, account.demo.key, self.history_start,
                                   until or account.visible_at)

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._webhook_key.public_key()))
        public.update({"kid": self.webhook_kid, "use": "sig", "alg": "RS512"})
        return {"keys": [public]}

    def webhook(self, event_type: str, *, account_id: str | None = None,
                attributes: dict[str, Any] | None = None, audience: str | None = None,
                issued_at: datetime | None = None, body: bytes | None = None,
                key: rsa.RSAPrivateKey | None = None) -> tuple[bytes, dict[str, str]]:
        """A webhook delivery as Ponto would POST it: the JSON body and its headers, with a
        JWT (RS512) over the body's SHA-512 digest. Overrides forge the bad cases."""
        now = issued_at or self.clock.now()
        org = next((o for o in self.organizations.values()
                    if account_id is None or account_id in o.accounts), None)
        payload = {"data": {
            "type": event_type, "id": str(uuid.uuid4()),
            "attributes": {"createdAt": _ts(now), **(attributes or {})},
            "relationships": {
                **({"account": {"data": {"type": "account", "id": account_id}}}
                   if account_id else {}),
                **({"organization": {"data": {"type": "organization", "id": org.id}}}
                   if org else {}),
            },
        }}
        raw = body if body is not None else _dumps(payload).encode()
        claims = {
            "aud": audience or self.client_id, "iss": self.issuer,
            "iat": int(now.timestamp()), "exp": int((now + timedelta(seconds=30)).timestamp()),
            "jti": str(uuid.uuid4()),
            "digest": base64.b64encode(hashlib.sha512(raw).digest()).decode(),
        }
        token = jwt.encode(claims, key or self._webhook_key, algorithm="RS512",
                           headers={"kid": self.webhook_kid})
        return raw, {WEBHOOK_HEADER: token, "Content-Type": "application/json"}

    # -- WSGI ----------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        request_id = str(uuid.uuid4())
        with self._lock:
            self.requests.append((request.method, request.path))
        fault = self.faults.take(request.method, request.path)
        response = self._respond(request, fault)
        response.headers["ibanity-request-id"] = request_id
        return response(environ, start_response)

    def _respond(self, request: Request, fault: Fault | None) -> Response:
        if fault and fault.kind in ("latency", "timeout"):
            self._stopping.wait(float(fault.params.get("seconds", 1.0)))
            fault = None
        if fault and fault.kind == "status":
            status = int(fault.params.get("status", 500))
            response = _errors(status, "serverError" if status >= 500 else "tooManyRequests",
                               "Injected failure")
            if "retry_after" in fault.params:
                response.headers["Retry-After"] = str(fault.params["retry_after"])
            return response
        if fault and fault.kind == "quota":
            return _errors(429, "tooManyRequests", "Daily request quota exceeded")
        if fault and fault.kind == "expired_token":
            return _errors(401, "unauthorized", "The access token expired")
        if fault and fault.kind == "malformed":
            return Response(b'{"data": [{"type": "transaction", "id": ', 200,
                            content_type=JSONAPI)
        try:
            endpoint, args = self._urls.bind_to_environ(request.environ).match()
            response = getattr(self, f"_{endpoint}")(request, fault=fault, **args)
        except NotFound:
            response = _errors(404, "resourceNotFound", "The requested resource was not found")
        except HTTPException as exc:
            response = _errors(exc.code or 400, "invalidRequest", exc.description or "")
        if fault and fault.kind == "truncated":
            body = response.get_data()
            response.set_data(body[: len(body) // 2])
        return response

    # -- OAuth2 --------------------------------------------------------------------------

    def _authorize(self, request: Request, **_: Any) -> Response:
        args = request.args
        if args.get("client_id") != self.client_id or args.get("response_type") != "code":
            return _oauth_error(400, "invalid_request", "unknown client or response type")
        if args.get("code_challenge_method") != "S256" or not args.get("code_challenge"):
            return _oauth_error(400, "invalid_request", "PKCE with S256 is required")
        redirect_uri = args.get("redirect_uri", "")
        company = args.get("company") or next(iter(self.companies))
        org = self.connect(company)
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = {"org": org.id, "redirect_uri": redirect_uri,
                                 "challenge": args["code_challenge"],
                                 "expires_at": self.clock.now() + CODE_TTL}
        query = {"code": code, "scope": args.get("scope", ""), "state": args.get("state", "")}
        separator = "&" if "?" in redirect_uri else "?"
        return Response(status=302, headers={"Location": redirect_uri + separator
                                             + urlencode(query)})

    def _client_ok(self, request: Request) -> bool:
        auth = request.authorization
        return bool(auth and auth.type == "basic" and auth.username == self.client_id
                    and auth.password == self.client_secret)

    def _issue(self, org: str) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = self.clock.now() + timedelta(seconds=self.access_token_ttl)
        self._access[access] = Grant(org, expires, refresh)
        self._refresh[refresh] = Grant(org, self.clock.now() + timedelta(days=90))
        return {"access_token": access, "expires_in": self.access_token_ttl,
                "refresh_token": refresh, "scope": "ai pi name offline_access",
                "token_type": "bearer"}

    def _token(self, request: Request, **_: Any) -> Response:
        if not self._client_ok(request):
            return _oauth_error(401, "invalid_client", "client authentication failed")
        form = request.form
        with self._lock:
            if form.get("grant_type") == "authorization_code":
                grant = self._codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                challenge = base64.urlsafe_b64encode(
                    hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if (grant is None or grant["expires_at"] < self.clock.now()
                        or grant["redirect_uri"] != form.get("redirect_uri")
                        or not secrets.compare_digest(challenge, grant["challenge"])):
                    return _oauth_error(400, "invalid_grant",
                                        "The authorization code is invalid or expired")
                return _json(self._issue(grant["org"]))
            if form.get("grant_type") == "refresh_token":
                token = form.get("refresh_token", "")
                old = self._refresh.pop(token, None)
                if old is None or old.expires_at < self.clock.now():
                    if token in self._retired_refresh:
                        # A rotated token came back: someone holds a copy. Kill the family.
                        self._revoke_org_tokens(self._retired_refresh[token])
                    return _oauth_error(400, "invalid_grant",
                                        "The refresh token is invalid, revoked or rotated")
                self._retired_refresh[token] = old.organization
                return _json(self._issue(old.organization))
        return _oauth_error(400, "unsupported_grant_type", "grant_type not supported")

    def _revoke_org_tokens(self, org: str | None) -> None:
        if org is None:
            return
        for store in (self._access, self._refresh):
            for token, grant in list(store.items()):
                if grant.organization == org:
                    del store[token]

    def _revoke(self, request: Request, **_: Any) -> Response:
        if not self._client_ok(request):
            return _oauth_error(401, "invalid_client", "client authentication failed")
        token = request.form.get("token", "")
        with self._lock:
            grant = self._refresh.pop(token, None) or self._access.pop(token, None)
            if grant:
                self._revoke_org_tokens(grant.organization)
        return _json({})  # RFC 7009: unknown tokens are not an error

    def _organization(self, request: Request) -> Organization | Response:
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        with self._lock:
            grant = self._access.get(token)
            if grant is None:
                return _errors(401, "unauthorized", "The access token is invalid or revoked")
            if grant.expires_at <= self.clock.now():
                return _errors(401, "unauthorized", "The access token expired")
            return self.organizations[grant.organization]

    # -- API -----------------------------------------------------------------------------

    def _root(self, request: Request, **_: Any) -> Response:
        api = self.api_url
        return _json({"links": {
            "accounts": f"{api}/accounts",
            "account": {"transactions": f"{api}/accounts/{{accountId}}/transactions",
                        "pendingTransactions":
                            f"{api}/accounts/{{accountId}}/pending-transactions"},
            "synchronizations": f"{api}/synchronizations",
            "synchronization": {"updatedTransactions":
                                f"{api}/synchronizations/{{synchronizationId}}"
                                "/updated-transactions"},
            "financialInstitutions": f"{api}/financial-institutions",
            "userinfo": f"{api}/userinfo",
            "oauth2": {"token": f"{api}/oauth2/token", "revoke": f"{api}/oauth2/revoke"},
        }})

    def _userinfo(self, request: Request, **_: Any) -> Response:
        org = self._organization(request)
        if isinstance(org, Response):
            return org
        return _json({"sub": org.id, "name": org.company.name,
                      "paymentsActivated": False, "onboardingComplete": True})

    def _jwks(self, request: Request, **_: Any) -> Response:
        return _json(self.jwks())

    def _find_account(self, account_id: str, org: Organization | None = None) -> AccountState:
        orgs = [org] if org else list(self.organizations.values())
        for candidate in orgs:
            if account_id in candidate.accounts:
                return candidate.accounts[account_id]
        raise NotFound()

    def _account_resource(self, account: AccountState) -> dict[str, Any]:
        booked = [m for m in self.movements(account.id) if m.booked_at <= account.visible_at]
        pending = [m for m in self.movements(account.id) if m.booked_at > account.visible_at]
        current = account.demo.opening_balance + sum((m.amount for m in booked), Decimal(0))
        available = current + sum((m.amount for m in pending if m.amount < 0), Decimal(0))
        api = self.api_url
        latest = [s for s in self.synchronizations.values() if s.account == account.id]
        return {
            "type": "account", "id": account.id,
            "attributes": {
                "subtype": "checking", "referenceType": "IBAN",
                "reference": account.demo.iban, "product": "Business account",
                "holderName": self._org_of(account).company.name,
                "description": account.demo.description, "currency": account.demo.currency,
                "currentBalance": _number(current), "availableBalance": _number(available),
                "currentBalanceChangedAt": _ts(account.visible_at),
                "currentBalanceReferenceDate": _day(account.visible_at.date()),
                "availableBalanceChangedAt": _ts(account.visible_at),
                "availableBalanceReferenceDate": _day(account.visible_at.date()),
                "authorizedAt": _ts(account.authorized_at),
                "authorizationExpirationExpectedAt": _ts(account.expires_at),
                "deprecated": False, "internalReference": account.demo.key,
            },
            "meta": {"synchronizedAt": _ts(account.visible_at),
                     **({"latestSynchronization": self._sync_resource(latest[-1])}
                        if latest else {})},
            "relationships": {"transactions": {"links": {
                "related": f"{api}/accounts/{account.id}/transactions"}}},
            "links": {"self": f"{api}/accounts/{account.id}"},
        }

    def _org_of(self, account: AccountState) -> Organization:
        return next(o for o in self.organizations.values() if account.id in o.accounts)

    def _accounts(self, request: Request, fault: Fault | None = None, **_: Any) -> Response:
        org = self._organization(request)
        if isinstance(org, Response):
            return org
        with self._lock:
            resources = [self._account_resource(a) for a in org.accounts.values()]
        return self._page(request, resources, f"{self.api_url}/accounts", fault)

    def _account(self, request: Request, account_id: str, **_: Any) -> Response:
        org = self._organization(request)
        if isinstance(org, Response):
            return org
        with self._lock:
            return _json({"data": self._account_resource(self._find_account(account_id, org))})

    def _transaction_resource(self, movement: demo_data.Movement, *, account_id: str,
                              pending: bool) -> dict[str, Any]:
        api = self.api_url
        identifier = movement.pending_id if pending else movement.booked_id
        return {
            "type": "pendingTransaction" if pending else "transaction", "id": identifier,
            "attributes": {
                "amount": _number(movement.amount), "currency": "EUR",
                "valueDate": _day(movement.day), "executionDate": _day(movement.day),
                "description": "SEPA credit transfer" if movement.amount > 0
                else "SEPA transfer",
                "remittanceInformation": movement.remittance,
                "remittanceInformationType": "structured" if movement.structured
                else "unstructured",
                "counterpartName": movement.counterparty,
                "counterpartReference": movement.counterparty_iban,
                "bankTransactionCode": "PMNT-RCDT-ESCT" if movement.amount > 0
                else "PMNT-ICDT-ESCT",
                "proprietaryBankTransactionCode": "0150", "endToEndId": "NOTPROVIDED",
                "purposeCode": None, "mandateId": None, "creditorId": None,
                "additionalInformation": None, "internalReference": identifier[:8],
                "digest": hashlib.sha256(
                    f"{movement.day}{movement.amount}".encode()).hexdigest()[:16],
                "fee": None, "cardReference": None, "cardReferenceType": None,
            },
            "relationships": {"account": {
                "links": {"related": f"{api}/accounts/{account_id}"},
                "data": {"type": "account", "id": account_id},
            }},
        }

    def _transactions(self, request: Request, account_id: str, fault: Fault | None = None,
                      pending: bool = False, **_: Any) -> Response:
        org = self._organization(request)
        if isinstance(org, Response):
            return org
        with self._lock:
            account = self._find_account(account_id, org)
            chosen = [m for m in self.movements(account.id)
                      if (m.booked_at > account.visible_at) == pending]
            # Newest first, as Ponto lists them.
            chosen.sort(key=lambda m: (m.day, m.index), reverse=True)
            resources = [self._transaction_resource(m, account_id=account.id, pending=pending)
                         for m in chosen]
            kind = "pending-transactions" if pending else "transactions"
            return self._page(request, resources,
                              f"{self.api_url}/accounts/{account.id}/{kind}", fault,
                              synchronized_at=account.visible_at)

    def _pending_transactions(self, request: Request, account_id: str,
                              fault: Fault | None = None, **_: Any) -> Response:
        return self._transactions(request, account_id, fault=fault, pending=True)

    def _page(self, request: Request, resources: list[dict[str, Any]], url: str,
              fault: Fault | None, synchronized_at: datetime | None = None) -> Response:
        """Cursor paging: `page[after]=<id>` gives what follows that id, `page[before]`
        what precedes it; `links.next` is absent on the last page."""
        try:
            limit = int(request.args.get("page[limit]", self.page_size))
        except ValueError:
            return _errors(400, "invalidPageLimit", "page[limit] must be a number")
        if not 1 <= limit <= self.max_page_size:
            return _errors(400, "invalidPageLimit",
                           f"page[limit] must be between 1 and {self.max_page_size}")
        ids = [r["id"] for r in resources]
        after, before = request.args.get("page[after]"), request.args.get("page[before]")
        start, stop = 0, len(resources)
        if after:
            if after not in ids:
                return _errors(400, "invalidPageCursor", "page[after] is not a known id")
            start = ids.index(after) + 1
            stop = min(start + limit, len(resources))
        elif before:
            if before not in ids:
                return _errors(400, "invalidPageCursor", "page[before] is not a known id")
            stop = ids.index(before)
            start = max(0, stop - limit)
        else:
            stop = min(limit, len(resources))
        page = resources[start:stop]
        served = list(page)
        if fault and fault.kind == "duplicate_page" and start > 0:
            # The previous page's items again, as a list that shifted under the reader.
            served = resources[max(0, start - limit):start] + served
        if fault and fault.kind == "reorder":
            served = list(reversed(served))
        meta: dict[str, Any] = {"paging": {"limit": limit}}
        if after:
            meta["paging"]["after"] = after
        if before:
            meta["paging"]["before"] = before
        if synchronized_at:
            meta["synchronizedAt"] = _ts(synchronized_at)
        links = {"first": f"{url}?{urlencode({'page[limit]': limit})}"}
        if page and stop < len(resources):
            links["next"] = f"{url}?" + urlencode({"page[limit]": limit,
                                                   "page[after]": page[-1]["id"]})
        if page and start > 0:
            links["prev"] = f"{url}?" + urlencode({"page[limit]": limit,
                                                   "page[before]": page[0]["id"]})
        return _json({"data": served, "meta": meta, "links": links})

    # -- synchronizations ----------------------------------------------------------------

    def _sync_resource(self, sync: Synchronization) -> dict[str, Any]:
        return {
            "type": "synchronization", "id": sync.id,
            "attributes": {"resourceType": "account", "resourceId": sync.account,
                           "subtype": sync.subtype, "status": sync.status,
                           "errors": sync.errors, "customerIpAddress": sync.customer_ip,
                           "createdAt": _ts(sync.created_at),
                           "updatedAt": _ts(self.clock.now())},
            "links": {"self": f"{self.api_url}/synchronizations/{sync.id}"},
        }

    def _create_sync(self, request: Request, **_: Any) -> Response:
        org = self._organization(request)
        if isinstance(org, Response):
            return org
        try:
            body = json.loads(request.get_data() or b"null")
            attributes = body["data"]["attributes"]
            account_id = attributes["resourceId"]
            subtype = attributes["subtype"]
        except (ValueError, KeyError, TypeError):
            return _errors(400, "invalidRequest", "data.attributes.resourceId and subtype "
                           "are required")
        if attributes.get("resourceType") != "account" or subtype not in SYNC_SUBTYPES:
            return _errors(400, "invalidRequest", "unsupported resourceType or subtype")
        with self._lock:
            key = request.headers.get("Ibanity-Idempotency-Key")
            if key and (org.id, key) in self._idempotency:
                return _json({"data": self._sync_resource(
                    self.synchronizations[self._idempotency[(org.id, key)]])}, status=201)
            account = self._find_account(account_id, org)
            now = self.clock.now()
            sync = Synchronization(str(uuid.uuid4()), org.id, account.id, subtype,
                                   attributes.get("customerIpAddress"), now)
            recent = [t for t in account.synchronizations if now - t < timedelta(days=1)]
            if account.expires_at <= now:
                sync.status = "error"
                sync.errors = [{"code": "authorizationExpired",
                                "detail": "The bank authorization expired; reauthorize."}]
            elif len(recent) >= self.sync_limit_per_day:
                sync.status = "error"
                sync.errors = [{"code": "accountRateLimitExceeded",
                                "detail": "Too many synchronizations for this account today."}]
            else:
                account.synchronizations.append(now)
            self.synchronizations[sync.id] = sync
            if key:
                self._idempotency[(org.id, key)] = sync.id
            return _json({"data": self._sync_resource(sync)}, status=201)

    def _sync(self, request: Request, sync_id: str, **_: Any) -> Response:
        org = self._organization(request)
        if isinstance(org, Response):
            return org
        with self._lock:
            sync = self.synchronizations.get(sync_id)
            if sync is None or sync.organization != org.id:
                raise NotFound()
            self._advance(sync)
            return _json({"data": self._sync_resource(sync)})

    def _advance(self, sync: Synchronization) -> None:
        """Each poll moves a synchronization one step: pending → running → success."""
        if sync.status == "pending":
            sync.status = "running"
        elif sync.status == "running":
            account = self._find_account(sync.account)
            before = {m.booked_id for m in self.movements(account.id)
                      if m.booked_at <= account.visible_at}
            account.visible_at = self.clock.now()
            sync.updated = [m.booked_id for m in self.movements(account.id)
                            if m.booked_at <= account.visible_at
                            and m.booked_id not in before]
            sync.status = "success"

    def _updated_transactions(self, request: Request, sync_id: str,
                              fault: Fault | None = None, **_: Any) -> Response:
        org = self._organization(request)
        if isinstance(org, Response):
            return org
        with self._lock:
            sync = self.synchronizations.get(sync_id)
            if sync is None or sync.organization != org.id:
                raise NotFound()
            wanted = set(sync.updated)
            movements = [m for m in self.movements(sync.account) if m.booked_id in wanted]
            movements.sort(key=lambda m: (m.day, m.index), reverse=True)
            resources = [self._transaction_resource(m, account_id=sync.account, pending=False)
                         for m in movements]
            return self._page(request, resources,
                              f"{self.api_url}/synchronizations/{sync.id}/updated-transactions",
                              fault)


def _json(payload: Any, status: int = 200) -> Response:
    return Response(_dumps(payload), status=status, content_type=JSONAPI)


def _errors(status: int, code: str, detail: str) -> Response:
    return _json({"errors": [{"code": code, "detail": detail, "meta": {}}]}, status=status)


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response(json.dumps({"error": error, "error_description": description,
                                "error_hint": ""}), status=status,
                    content_type="application/json")
