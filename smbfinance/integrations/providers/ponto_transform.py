"""Ponto Connect JSON:API resources → our provider-neutral shapes. Pure.

Bodies must be parsed with `parse_float=Decimal` (see `http.read_json`) so that an amount
such as 0.1 never passes through a binary float; an amount that still arrives as a float
(a caller's mistake) is converted through its shortest repr, never its binary value.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from smbfinance.integrations.providers.base import (
    Account,
    Balance,
    Consent,
    ConsentStatus,
    Transaction,
)
from smbfinance.integrations.providers.errors import MalformedResponse

PROVIDER = "ponto"
CONSENT_WARNING = timedelta(days=14)
_CENT = Decimal("0.01")


def _bad(message: str) -> MalformedResponse:
    return MalformedResponse(message, provider=PROVIDER)


def parse_timestamp(value: Any) -> datetime | None:
    """`2020-06-19T00:00:00.000Z` (and other ISO 8601 forms) → an aware UTC datetime."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise _bad(f"timestamp expected, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(f"unreadable timestamp {value[:40]!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_date(value: Any) -> date | None:
    """Ponto dates are timestamps at midnight UTC; the calendar date is what counts."""
    moment = parse_timestamp(value)
    return moment.date() if moment else None


def to_amount(value: Any) -> Decimal:
    """A signed amount with at most two decimals, exact."""
    if isinstance(value, bool) or value is None:
        raise _bad("amount missing")
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(value) if not isinstance(value, Decimal) else value
    except (InvalidOperation, TypeError, ValueError):
        raise _bad("amount is not a number") from None
    if not amount.is_finite():
        raise _bad("amount is not finite")
    quantised = amount.quantize(_CENT)
    if quantised != amount:
        raise _bad("amount has more than two decimals")
    return quantised


def _attributes(resource: Mapping[str, Any], expected_type: str | tuple[str, ...]) -> dict:
    if not isinstance(resource, Mapping):
        raise _bad("resource is not an object")
    types = (expected_type,) if isinstance(expected_type, str) else expected_type
    if resource.get("type") not in types:
        raise _bad(f"resource type {str(resource.get('type'))[:40]!r}, expected {types[0]}")
    if not isinstance(resource.get("id"), str) or not resource["id"]:
        raise _bad("resource without id")
    attributes = resource.get("attributes")
    if not isinstance(attributes, Mapping):
        raise _bad("resource without attributes")
    return dict(attributes)


def _text(value: Any, limit: int) -> str | None:
    if value in (None, ""):
        return None
    return str(value).strip()[:limit] or None


def consent_from_attributes(attributes: Mapping[str, Any], *, now: datetime,
                            warning: timedelta = CONSENT_WARNING) -> Consent:
    """Consent state from `authorizedAt` / `authorizationExpirationExpectedAt`."""
    authorized_at = parse_timestamp(attributes.get("authorizedAt"))
    expires_at = parse_timestamp(attributes.get("authorizationExpirationExpectedAt"))
    if expires_at is None:
        status = ConsentStatus.ACTIVE
    elif expires_at <= now:
        status = ConsentStatus.EXPIRED
    elif expires_at - now <= warning:
        status = ConsentStatus.EXPIRING
    else:
        status = ConsentStatus.ACTIVE
    return Consent(status=status, authorized_at=authorized_at, expires_at=expires_at)


def account_from_resource(resource: Mapping[str, Any], *, now: datetime,
                          synchronized_at: datetime | None = None) -> Account:
    attributes = _attributes(resource, "account")
    currency = _text(attributes.get("currency"), 3)
    if not currency or len(currency) != 3:
        raise _bad("account without an ISO currency")

    def balance(kind: str) -> Balance | None:
        raw = attributes.get(f"{kind}Balance")
        if raw is None:
            return None
        return Balance(
            amount=to_amount(raw), currency=currency, kind=kind,
            changed_at=parse_timestamp(attributes.get(f"{kind}BalanceChangedAt")),
            reference_date=parse_date(attributes.get(f"{kind}BalanceReferenceDate")),
        )

    reference = _text(attributes.get("reference"), 64)
    is_iban = attributes.get("referenceType") == "IBAN"
    return Account(
        provider=PROVIDER,
        provider_id=resource["id"],
        currency=currency,
        iban=reference.replace(" ", "").upper() if reference and is_iban else None,
        reference=reference,
        holder_name=_text(attributes.get("holderName"), 200),
        name=_text(attributes.get("description") or attributes.get("product"), 200),
        current_balance=balance("current"),
        available_balance=balance("available"),
        consent=consent_from_attributes(attributes, now=now),
        synchronized_at=synchronized_at,
        deprecated=bool(attributes.get("deprecated", False)),
    )


def transaction_from_resource(resource: Mapping[str, Any], *,
                              account_id: str | None = None) -> Transaction:
    """A `transaction` or `pendingTransaction` resource. The account comes from the
    relationship when present, else from the URL the caller read it from."""
    attributes = _attributes(resource, ("transaction", "pendingTransaction"))
    pending = resource["type"] == "pendingTransaction"
    related = (resource.get("relationships") or {}).get("account") or {}
    account = ((related.get("data") or {}).get("id")) or account_id
    if not account:
        raise _bad("transaction without an account")
    booking = parse_date(attributes.get("executionDate")) or parse_date(
        attributes.get("valueDate"))
    if booking is None:
        raise _bad("transaction without a date")
    currency = _text(attributes.get("currency"), 3)
    if not currency or len(currency) != 3:
        raise _bad("transaction without an ISO currency")
    structured = attributes.get("remittanceInformationType") == "structured"
    remittance = _text(attributes.get("remittanceInformation"), 1000)
    details = {
        key: str(attributes[key])[:200]
        for key in ("digest", "purposeCode", "mandateId", "creditorId", "cardReference",
                    "proprietaryBankTransactionCode", "additionalInformation",
                    "internalReference")
        if attributes.get(key) not in (None, "")
    }
    counterpart = _text(attributes.get("counterpartReference"), 64)
    return Transaction(
        provider=PROVIDER,
        provider_id=resource["id"],
        account_provider_id=account,
        amount=to_amount(attributes.get("amount")),
        currency=currency,
        booking_date=booking,
        value_date=parse_date(attributes.get("valueDate")),
        counterparty_name=_text(attributes.get("counterpartName"), 200),
        counterparty_iban=counterpart.replace(" ", "").upper() if counterpart else None,
        remittance=None if structured else remittance,
        structured_reference=remittance[:35] if structured and remittance else None,
        end_to_end_id=_text(attributes.get("endToEndId"), 100),
        transaction_code=_text(attributes.get("bankTransactionCode"), 50),
        bank_reference=_text(attributes.get("internalReference"), 100),
        status="pending" if pending else "booked",
        # Pending and booked ids differ at Ponto (a pending movement books under a new id),
        # so the prefix keeps them apart and the pending row is dropped when it vanishes.
        dedupe_key=f"{PROVIDER}:{'pending:' if pending else ''}{resource['id']}",
        details=details,
    )
