"""JWT issuing and decoding: round trip, pinned algorithm, type, issuer, audience, expiry."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from smbfinance.auth import tokens
from smbfinance.errors import Unauthenticated

SETTINGS = tokens.TokenSettings(
    secret="unit-test-secret-of-a-decent-length-0123456789", algorithm="HS256",
    issuer="smbfinance", audience="smbfinance-api",
    access_ttl=timedelta(minutes=15), refresh_ttl=timedelta(days=7),
)
IDS = {"user_id": uuid.uuid4(), "tenant_id": uuid.uuid4(), "family_id": uuid.uuid4(),
       "refresh_jti": uuid.uuid4()}


def issue(now=None, settings=SETTINGS):
    return tokens.issue_pair(settings, now=now or datetime.now(UTC), **IDS)


def test_an_access_token_round_trips():
    # given a freshly issued pair
    pair = issue()
    # when the access token is decoded as an access token
    claims = tokens.decode(SETTINGS, pair.access_token, expected_type="access")
    # then it carries the user, tenant and family
    assert claims["sub"] == str(IDS["user_id"])
    assert claims["tid"] == str(IDS["tenant_id"])
    assert claims["fam"] == str(IDS["family_id"])
    assert pair.expires_in == 900 and pair.token_type == "Bearer"


def test_a_refresh_token_round_trips_to_its_ids():
    # given a freshly issued pair
    pair = issue()
    # when the refresh token is decoded and parsed
    ids = tokens.parse_ids(tokens.decode(SETTINGS, pair.refresh_token, expected_type="refresh"))
    # then the ids are the ones it was issued with
    assert ids == tokens.RefreshClaims(user_id=IDS["user_id"], tenant_id=IDS["tenant_id"],
                                       family_id=IDS["family_id"], jti=IDS["refresh_jti"])


def test_the_token_type_is_enforced_both_ways():
    # given a pair
    pair = issue()
    # when each token is decoded as the other type
    # then both are refused
    with pytest.raises(Unauthenticated, match="refresh token is required"):
        tokens.decode(SETTINGS, pair.access_token, expected_type="refresh")
    with pytest.raises(Unauthenticated, match="access token is required"):
        tokens.decode(SETTINGS, pair.refresh_token, expected_type="access")


def test_an_expired_access_token_is_refused():
    # given a pair issued 16 minutes ago (access tokens live 15)
    pair = issue(now=datetime.now(UTC) - timedelta(minutes=16))
    # when the access token is decoded
    # then it has expired, while the refresh token has not
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.decode(SETTINGS, pair.access_token, expected_type="access")
    assert tokens.decode(SETTINGS, pair.refresh_token, expected_type="refresh")


@pytest.mark.parametrize("change", [
    {"secret": "another-secret-of-a-decent-length-0123456789"},
    {"issuer": "someone-else"},
    {"audience": "another-api"},
])
def test_a_token_from_other_settings_is_refused(change):
    # given a token issued under different settings
    pair = issue(settings=replace(SETTINGS, **change))
    # when it is decoded under ours
    # then it is invalid
    with pytest.raises(Unauthenticated, match="invalid"):
        tokens.decode(SETTINGS, pair.access_token, expected_type="access")


def test_an_unsigned_token_is_refused():
    # given a token re-encoded with algorithm "none"
    claims = jwt.decode(issue().access_token, options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none")
    # when it is decoded
    # then the pinned algorithm refuses it
    with pytest.raises(Unauthenticated):
        tokens.decode(SETTINGS, unsigned, expected_type="access")


def test_a_token_missing_a_required_claim_is_refused():
    # given a correctly signed token without the tenant claim
    claims = jwt.decode(issue().access_token, options={"verify_signature": False})
    del claims["tid"]
    token = jwt.encode(claims, SETTINGS.secret, algorithm="HS256")
    # when it is decoded
    # then it is refused
    with pytest.raises(Unauthenticated, match="tid"):
        tokens.decode(SETTINGS, token, expected_type="access")


def test_malformed_ids_are_refused():
    # given claims whose ids are not UUIDs
    # when they are parsed
    # then the refusal is an authentication error, not a crash
    with pytest.raises(Unauthenticated):
        tokens.parse_ids({"sub": "1", "tid": "x", "fam": "y", "jti": "z"})
    with pytest.raises(Unauthenticated):
        tokens.parse_ids({})
