"""Typed provider errors. An adapter turns every transport, HTTP, OAuth, JSON:API and SOAP
failure into one of these, so that the sync engine decides on the type (retry later, ask the
user to reconnect, wait until tomorrow) and never on a message text.

Messages never carry tokens, keys or response bodies: they may end up in sync logs.
"""

from __future__ import annotations


class ProviderError(Exception):
    """Base class. `retryable` tells the engine whether trying again later may succeed."""

    retryable = False

    def __init__(self, message: str, *, provider: str, request_id: str | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.request_id = request_id


class ProviderUnavailable(ProviderError):
    """5xx, connection refused or reset: the provider is down for now."""

    retryable = True

    def __init__(self, message: str, *, provider: str, status: int | None = None,
                 request_id: str | None = None) -> None:
        super().__init__(message, provider=provider, request_id=request_id)
        self.status = status


class ProviderTimeout(ProviderUnavailable):
    """No answer within the configured connect or read timeout."""


class RateLimited(ProviderError):
    """429: wait `retry_after` seconds (None when the provider gave no hint)."""

    retryable = True

    def __init__(self, message: str, *, provider: str, retry_after: float | None,
                 request_id: str | None = None) -> None:
        super().__init__(message, provider=provider, request_id=request_id)
        self.retry_after = retry_after


class QuotaExhausted(ProviderError):
    """The provider's daily allowance is spent (Yuki's calls per domain, Ponto's bank
    accesses per account): nothing succeeds before the next day."""


class MalformedResponse(ProviderError):
    """A body we cannot read: not JSON/XML, truncated, wrong shape, too large, or a paging
    loop. Retrying may help (a truncated body), so the engine backs off."""

    retryable = True


class AuthorizationFailed(ProviderError):
    """Our own credentials are refused (client id/secret, Yuki access key): a person must
    fix the configuration; retrying does not help."""


class TokenRevoked(AuthorizationFailed):
    """The refresh token was revoked, rotated away or expired (`invalid_grant`): the user
    must connect the integration again."""


class ConsentExpired(ProviderError):
    """The bank consent behind the account expired; the user must re-authorize at Ponto."""


class RedirectRefused(ProviderError):
    """The provider answered with a redirect to another host; we never follow those."""


class ProviderFault(ProviderError):
    """A business error reported by the provider (a JSON:API error or a SOAP fault) that
    none of the classes above describes; `code` is the provider's own code."""

    def __init__(self, message: str, *, provider: str, code: str | None = None,
                 status: int | None = None, request_id: str | None = None) -> None:
        super().__init__(message, provider=provider, request_id=request_id)
        self.code = code
        self.status = status
