"""Standard Webhooks signing and verification, against the specification's published
vector and the reference library (standardwebhooks, a test-only dependency)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
import standardwebhooks
from hypothesis import given
from hypothesis import strategies as st

from smbfinance.webhooks import signing
from smbfinance.webhooks.signing import SignatureError

# The vector published with the Standard Webhooks specification (and its libraries' tests).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def vector_headers(signature: str = VECTOR_SIGNATURE, timestamp: int = VECTOR_TIMESTAMP,
                   msg_id: str = VECTOR_ID) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature}


def test_signing_reproduces_the_specification_vector() -> None:
    # given the published secret, id, timestamp and body / when signed / then the vector
    assert signing.sign([VECTOR_SECRET], msg_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP,
                        body=VECTOR_BODY) == VECTOR_SIGNATURE


def test_the_prefix_is_optional_in_secrets() -> None:
    bare = VECTOR_SECRET.removeprefix("whsec_")
    assert signing.sign([bare], msg_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP,
                        body=VECTOR_BODY) == VECTOR_SIGNATURE


def test_the_vector_verifies_at_its_own_time() -> None:
    signing.verify([VECTOR_SECRET], headers=vector_headers(), body=VECTOR_BODY,
                   now=VECTOR_TIMESTAMP)


@pytest.mark.parametrize("mutate", [
    pytest.param(lambda h, b: (h, b'{"test": 2432232315}'), id="body changed"),
    pytest.param(lambda h, b: ({**h, "webhook-id": "msg_other"}, b), id="id changed"),
    pytest.param(lambda h, b: ({**h, "webhook-timestamp": str(VECTOR_TIMESTAMP + 1)}, b),
                 id="timestamp changed"),
    pytest.param(lambda h, b: ({**h, "webhook-signature": "v2," + VECTOR_SIGNATURE[3:]}, b),
                 id="unknown version only"),
    pytest.param(lambda h, b: ({**h, "webhook-signature": "v1,AAAA"}, b), id="wrong signature"),
    pytest.param(lambda h, b: ({**h, "webhook-signature": "v1,***"}, b), id="not base64"),
    pytest.param(lambda h, b: ({**h, "webhook-signature": ""}, b), id="empty signature"),
    pytest.param(lambda h, b: ({k: v for k, v in h.items() if k != "webhook-id"}, b),
                 id="no id"),
    pytest.param(lambda h, b: ({k: v for k, v in h.items() if k != "webhook-timestamp"}, b),
                 id="no timestamp"),
    pytest.param(lambda h, b: ({**h, "webhook-timestamp": "1614265330.5"}, b),
                 id="fractional timestamp"),
    pytest.param(lambda h, b: ({**h, "webhook-timestamp": "-1"}, b), id="negative timestamp"),
])
def test_any_tampering_is_refused(mutate) -> None:  # type: ignore[no-untyped-def]
    headers, body = mutate(vector_headers(), VECTOR_BODY)
    with pytest.raises(SignatureError):
        signing.verify([VECTOR_SECRET], headers=headers, body=body, now=VECTOR_TIMESTAMP)


def test_a_signature_from_another_secret_is_refused() -> None:
    with pytest.raises(SignatureError):
        signing.verify([signing.generate_secret()], headers=vector_headers(),
                       body=VECTOR_BODY, now=VECTOR_TIMESTAMP)


@pytest.mark.parametrize(("offset", "ok"), [
    (0, True), (300, True), (-300, True), (301, False), (-301, False), (86_400, False),
])
def test_tolerance_window_is_five_minutes_either_side(offset: int, ok: bool) -> None:
    # given the vector / when verified `offset` seconds after its timestamp
    def check() -> None:
        signing.verify([VECTOR_SECRET], headers=vector_headers(), body=VECTOR_BODY,
                       now=VECTOR_TIMESTAMP + offset)
    if ok:
        check()
    else:
        with pytest.raises(SignatureError, match="tolerance"):
            check()


def test_header_names_are_case_insensitive() -> None:
    headers = {key.title(): value for key, value in vector_headers().items()}
    signing.verify([VECTOR_SECRET], headers=headers, body=VECTOR_BODY, now=VECTOR_TIMESTAMP)


def test_rotation_signs_with_every_secret_and_either_verifies() -> None:
    # given a new secret and the previous one during an overlap
    new, old = signing.generate_secret(), VECTOR_SECRET
    value = signing.sign([new, old], msg_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP,
                         body=VECTOR_BODY)
    # then the header holds two space-separated v1 entries, the old one unchanged
    entries = value.split(" ")
    assert len(entries) == 2 and entries[1] == VECTOR_SIGNATURE
    # and a receiver holding only one of the secrets verifies it
    for secret in (new, old):
        signing.verify([secret], headers=vector_headers(signature=value), body=VECTOR_BODY,
                       now=VECTOR_TIMESTAMP)


def test_unknown_versions_beside_v1_are_ignored() -> None:
    header = "v1a,c29tZXRoaW5n " + VECTOR_SIGNATURE
    signing.verify([VECTOR_SECRET], headers=vector_headers(signature=header),
                   body=VECTOR_BODY, now=VECTOR_TIMESTAMP)


def test_generated_secrets_are_prefixed_32_random_bytes() -> None:
    first, second = signing.generate_secret(), signing.generate_secret()
    assert first.startswith("whsec_") and first != second
    assert len(signing.decode_secret(first)) == 32


@pytest.mark.parametrize("secret", [
    "whsec_", "whsec_not base64!", "whsec_" + base64.b64encode(b"short").decode(),
    "whsec_" + base64.b64encode(b"x" * 65).decode(),
])
def test_bad_secrets_are_refused(secret: str) -> None:
    with pytest.raises(ValueError):
        signing.decode_secret(secret)


def test_signing_needs_a_secret() -> None:
    with pytest.raises(ValueError):
        signing.sign([], msg_id="m", timestamp=1, body=b"")


def test_headers_carry_all_three_values() -> None:
    headers = signing.headers([VECTOR_SECRET], msg_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP,
                              body=VECTOR_BODY)
    assert headers == vector_headers()


@given(body=st.binary(max_size=2000), msg_id=st.text(min_size=1, max_size=40).filter(
    lambda s: s.isprintable() and " " not in s and s.isascii()),
    timestamp=st.integers(min_value=1_000_000_000, max_value=4_000_000_000))
def test_the_reference_library_verifies_what_we_sign(body: bytes, msg_id: str,
                                                     timestamp: int) -> None:
    # given any body, id and time / when we sign / then standardwebhooks computes the same
    secret = signing.generate_secret()
    ours = signing.sign([secret], msg_id=msg_id, timestamp=timestamp, body=body)
    theirs = standardwebhooks.Webhook(secret).sign(
        msg_id, datetime.fromtimestamp(timestamp, UTC), body.decode("latin-1"))
    if body.isascii():  # the library signs str; identical bytes only for ASCII bodies
        assert ours == theirs
    signing.verify([secret], headers=vector_headers(ours, timestamp, msg_id), body=body,
                   now=timestamp)


def test_the_reference_library_accepts_a_live_delivery() -> None:
    # given a delivery signed now / then the reference verifier (wall clock) accepts it
    secret = signing.generate_secret()
    now = int(datetime.now(UTC).timestamp())
    body = b'{"type": "invoice.created"}'
    headers = signing.headers([secret], msg_id="msg_1", timestamp=now, body=body)
    assert standardwebhooks.Webhook(secret).verify(body, headers) == {"type": "invoice.created"}
