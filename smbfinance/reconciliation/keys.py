"""Lookup keys read from invoices and bank payments, so both sides meet in a dictionary.

Every function here turns the many ways people write a name, an IBAN, a reference or an
invoice number into one comparable key. Equal keys are the only way the engine finds a
candidate, which is what keeps matching linear: no pair is compared by fuzzy similarity.
"""

from __future__ import annotations

import re
import unicodedata

from smbfinance.invoices import ogm

# Belgian (and neighbouring) legal forms: bank statements write "ACME NV", the contact
# record says "Acme", and the French and Dutch forms of one company must meet too.
LEGAL_FORMS = frozenset({
    "nv", "sa", "bv", "srl", "bvba", "sprl", "sprlu", "ebvba", "cv", "cvba", "sc", "scrl",
    "vzw", "asbl", "vof", "snc", "commv", "gcv", "scs", "sarl", "sas", "gmbh", "ltd",
})

# An OGM in free text: 3/4/5 digits with optional slashes or spaces, not part of a longer
# number. ASCII only, as in ogm.py: banks accept no other digits.
_OGM_IN_TEXT = re.compile(r"(?<!\d)(\d{3})[ /]*(\d{4})[ /]*(\d{5})(?!\d)", re.ASCII)
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]+", re.ASCII)
_NAME_SEPARATORS = re.compile(r"[\W_]+")
# Invoice numbers keep their own separators ("INV-2025/0001"), so text splits on the rest.
_TEXT_SEPARATORS = re.compile(r"[^\w/.\-]+")
_TOKEN_EDGES = "./-_"

MIN_NUMBER_KEY = 4  # "12" in a remittance is a quantity as often as an invoice number
MIN_DIGITS_KEY = 5  # digits alone ("20250001") identify only when long enough
MAX_TEXT_TOKENS = 64  # a remittance is 140 characters; more is noise and would cost time
MAX_WINDOW = 3  # "INV 2025 0001" is one number written with spaces


def name_key(name: str | None) -> str | None:
    """Case-, accent-, punctuation-, legal-form- and word-order-insensitive name key."""
    if not name:
        return None
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    plain = plain.replace(".", "")  # "N.V." is "NV", not "N" and "V"
    tokens = {t for t in _NAME_SEPARATORS.split(plain) if t and t not in LEGAL_FORMS}
    return " ".join(sorted(tokens)) or None


def iban_key(iban: str | None) -> str | None:
    if not iban:
        return None
    return "".join(iban.split()).upper() or None


def reference_key(reference: str | None) -> str | None:
    """A structured communication's 12 digits however written; other references compact."""
    if not reference or not reference.strip():
        return None
    if ogm.is_valid(reference):
        return ogm.normalise(reference)
    return _NOT_ALNUM.sub("", reference).upper() or None


def ogms_in_text(text: str | None) -> frozenset[str]:
    """Valid structured communications written anywhere in free text, as 12 digits."""
    if not text:
        return frozenset()
    found = set()
    for match in _OGM_IN_TEXT.finditer(text):
        digits = "".join(match.groups())
        # Check digits separate a real OGM from any other 12-digit run (an account, a date).
        if ogm.check_digits(int(digits[:10])) == int(digits[10:]):
            found.add(digits)
    return frozenset(found)


def number_keys(number: str | None) -> frozenset[str]:
    """Keys of an invoice number: its compact form, and its digits when they are many."""
    if not number:
        return frozenset()
    return _keys_of(number)


def text_number_keys(text: str | None) -> frozenset[str]:
    """Every key an invoice number could have if written in `text`, alone or spread over up
    to three adjacent words."""
    if not text:
        return frozenset()
    tokens = [t.strip(_TOKEN_EDGES) for t in _TEXT_SEPARATORS.split(text)]
    tokens = [t for t in tokens if t][:MAX_TEXT_TOKENS]
    keys: set[str] = set()
    for start in range(len(tokens)):
        for width in range(1, MAX_WINDOW + 1):
            if start + width <= len(tokens):
                keys |= _keys_of("".join(tokens[start:start + width]))
    return frozenset(keys)


def _keys_of(written: str) -> frozenset[str]:
    compact = _NOT_ALNUM.sub("", written).upper()
    digits = "".join(ch for ch in compact if ch.isdigit())
    keys = set()
    if len(compact) >= MIN_NUMBER_KEY and digits:
        keys.add(compact)
    if len(digits) >= MIN_DIGITS_KEY:
        keys.add(digits)
    return frozenset(keys)
