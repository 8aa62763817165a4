"""Credentials at rest: AES-256-GCM with key ids for rotation and the row's context bound
as associated data; ciphertext holds no plaintext; tampering and misplacement fail."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smbfinance.integrations.secrets import (
    KeyConfigError,
    SecretBox,
    SecretError,
    generate_key,
    parse_keys,
)

OLD, NEW = generate_key(), generate_key()
CONTEXT = "integration:tenant-a:int-1:refresh_token"
TOKEN = "rt_3f9a1c-very-secret-refresh-token-value"


@pytest.fixture
def box():
    return SecretBox.from_config(f"k2:{NEW},k1:{OLD}")


def test_a_value_round_trips_and_its_ciphertext_holds_no_plaintext(box):
    # given a refresh token
    # when it is encrypted
    sealed = box.encrypt(TOKEN, context=CONTEXT)
    # then neither the token nor any long part of it, nor its base64, is in the ciphertext
    assert sealed.startswith("v1.k2.")
    for fragment in (TOKEN, TOKEN[5:25], base64.b64encode(TOKEN.encode()).decode()[:16],
                     base64.urlsafe_b64encode(TOKEN.encode()).decode()[:16]):
        assert fragment not in sealed
    assert box.decrypt(sealed, context=CONTEXT) == TOKEN
    # and encrypting twice gives different ciphertexts (random nonces)
    assert box.encrypt(TOKEN, context=CONTEXT) != sealed


@settings(max_examples=60)
@given(st.text(min_size=1, max_size=300))
def test_any_text_round_trips(text):
    box = SecretBox.from_config(f"k2:{NEW}")
    sealed = box.encrypt(text, context=CONTEXT)
    assert box.decrypt(sealed, context=CONTEXT) == text
    if len(text) >= 12:  # shorter strings can occur in random base64 by chance
        assert text not in sealed


def test_a_value_moved_to_another_row_or_field_does_not_decrypt(box):
    sealed = box.encrypt(TOKEN, context=CONTEXT)
    with pytest.raises(SecretError):
        box.decrypt(sealed, context="integration:tenant-b:int-1:refresh_token")
    with pytest.raises(SecretError):
        box.decrypt(sealed, context="integration:tenant-a:int-1:access_token")


@pytest.mark.parametrize("damage", [
    lambda s: s[:-2] + ("A" if s[-2] != "A" else "B") + s[-1],
    lambda s: s.replace("v1.", "v2.", 1),
    lambda s: s.rsplit(".", 1)[0] + ".",
    lambda s: "garbage",
    lambda s: s.replace(".k2.", ".k9.", 1),
])
def test_tampered_or_foreign_values_fail_without_leaking(box, damage):
    sealed = box.encrypt(TOKEN, context=CONTEXT)
    with pytest.raises(SecretError) as caught:
        box.decrypt(damage(sealed), context=CONTEXT)
    assert TOKEN not in str(caught.value)


def test_rotation_reads_old_keys_and_writes_the_primary():
    # given a value written under the old key
    old_box = SecretBox.from_config(f"k1:{OLD}")
    sealed = old_box.encrypt(TOKEN, context=CONTEXT)
    # when a new key is put in front and the value rotated
    box = SecretBox.from_config(f"k2:{NEW},k1:{OLD}")
    assert box.needs_rotation(sealed)
    rotated = box.rotate(sealed, context=CONTEXT)
    # then it is under the new key, readable without the old one
    assert not box.needs_rotation(rotated)
    assert SecretBox.from_config(f"k2:{NEW}").decrypt(rotated, context=CONTEXT) == TOKEN
    # and without the old key the old value is unreadable
    with pytest.raises(SecretError, match="not configured"):
        SecretBox.from_config(f"k2:{NEW}").decrypt(sealed, context=CONTEXT)


@pytest.mark.parametrize("config", [
    "", "nokeyid", f":{NEW}", f"bad id:{NEW}", "k1:not-base64!!",
    "k1:" + base64.urlsafe_b64encode(b"short").decode(), f"k1:{NEW},k1:{OLD}",
], ids=["empty", "no-key-id", "empty-key-id", "space-in-id", "not-base64", "short-key",
        "duplicate-id"])
def test_bad_key_configuration_is_refused(config):
    with pytest.raises(KeyConfigError):
        parse_keys(config)


def test_keys_do_not_show_in_reprs(box):
    assert NEW not in repr(parse_keys(f"k2:{NEW}"))
    assert NEW not in repr(box.primary)
