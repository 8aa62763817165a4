"""Bank-statement importers: format detection from content, one parser per format.

`detect_format(head)` looks at the first bytes of an upload (give it at least 4 KiB: a ZIP's
first member and an XML root element must fit) and never at the file name, because users
rename files and banks give camt.053 exports a `.txt` or no extension at all.

`parser_for(format)` returns a parser whose `parse(stream)` yields the events of `model`.
The CODA and MT940 parsers live in their own modules and are imported only when asked for,
so this package works whichever of them exists yet.

The small helpers below (IBAN compaction, reference normalisation, amount tidying) are
shared by every parser so that the same text gives the same value whatever the format.
"""

from __future__ import annotations

import re
import zlib
from decimal import Decimal
from typing import TYPE_CHECKING

from smbfinance.invoices import ogm
from smbfinance.transactions.importers.model import (
    Entry,
    Event,
    Format,
    ImportFormatError,
    ImportWarning,
    Parser,
    StatementEnd,
    StatementStart,
)

if TYPE_CHECKING:
    from smbfinance.transactions.importers.csv_mapping import CsvMapping

__all__ = [
    "Entry",
    "Event",
    "Format",
    "ImportFormatError",
    "ImportWarning",
    "Parser",
    "StatementEnd",
    "StatementStart",
    "compact_iban",
    "detect_format",
    "is_iban",
    "normalise_reference",
    "parser_for",
    "tidy_amount",
]

# ---------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------

_IBAN_SHAPE = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", re.ASCII)
_RF_SHAPE = re.compile(r"RF\d{2}[A-Z0-9]{1,21}", re.ASCII)
_CENT = Decimal("0.01")


def compact_iban(value: str) -> str:
    """An account number without spaces, upper case (IBANs are written in groups of 4)."""
    return "".join(value.split()).upper()


def _mod97(text: str) -> int:
    # ISO 7064 MOD 97-10 over the letters-as-numbers expansion used by IBAN and ISO 11649.
    digits = "".join(str(int(ch, 36)) for ch in text)
    return int(digits) % 97


def is_iban(value: str) -> bool:
    """True when `value` (compact or grouped) has the shape and check digits of an IBAN."""
    compact = compact_iban(value)
    if not _IBAN_SHAPE.fullmatch(compact):
        return False
    return _mod97(compact[4:] + compact[:4]) == 1


def normalise_reference(value: str | None) -> str | None:
    """A creditor reference as the model stores it.

    A valid Belgian structured communication (+++123/4567/89002+++ or 12 digits) becomes its
    12 digits; a valid ISO 11649 reference becomes compact upper-case `RF…`; anything else is
    kept as written (stripped), because a foreign creditor reference is still what the
    payer typed and reconciliation can match on it."""
    if value is None:
        return None
    stripped = value.strip()
    if not stripped:
        return None
    if ogm.is_valid(stripped):
        return ogm.normalise(stripped)
    compact = "".join(stripped.split()).upper()
    if _RF_SHAPE.fullmatch(compact) and _mod97(compact[4:] + compact[:4]) == 1:
        return compact
    return stripped


def tidy_amount(amount: Decimal) -> Decimal:
    """Drop trailing zeros past the cent ("8.850" → 8.85) but never round a real digit."""
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        quantized = amount.quantize(_CENT)
        if quantized == amount:
            return quantized
    return amount


# ---------------------------------------------------------------------------------------
# Detection
# ---------------------------------------------------------------------------------------

_ZIP_LOCAL_HEADER = b"PK\x03\x04"
_CAMT053_NAMESPACE = re.compile(rb"urn:iso:std:iso:20022:tech:xsd:camt\.053\.\d{3}\.\d{2}")
_ROOT_ELEMENT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Document\b([^>]*)>")
_MT940_ENVELOPE = re.compile(rb"\{1:[^}]*\}\s*\{2:[IO]940", re.ASCII)
_MT940_FIELD = re.compile(rb"(?m)^:20:")


def _strip_bom(head: bytes) -> bytes:
    # SOH/STX frame SWIFT files from some banks (PostFinance); a UTF-8 BOM prefixes exports
    # saved by Windows tools.
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return head.lstrip(b"\x01\x02 \t\r\n")


def _xml_head_text(head: bytes) -> bytes:
    # UTF-16 XML is rare but valid; turn it into ASCII-compatible bytes for the regexes.
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            usable = len(head[2:]) // 2 * 2
            return head[2 : 2 + usable].decode(codec, errors="replace").encode("utf-8", "replace")
    return _strip_bom(head)


def _looks_like_camt053(head: bytes) -> bool:
    text = _xml_head_text(head)
    if not text.startswith(b"<"):
        return False
    root = _ROOT_ELEMENT.search(text)
    return bool(root and _CAMT053_NAMESPACE.search(root.group(1)))


def _looks_like_coda(head: bytes) -> bool:
    # Record 0 (header) is 128 characters: "00000", creation date, bank id, then application
    # code "05" at positions 15-16. What follows is a line break or, in files written
    # without line breaks, the record 1 of the next 128 characters.
    head = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    if len(head) < 128 or not head.startswith(b"00000") or head[14:16] != b"05":
        return False
    if b"\n" in head[:128] or b"\r" in head[:128]:
        return False
    return len(head) == 128 or head[128:129] in (b"\r", b"\n", b"1")


def _looks_like_ofx(head: bytes) -> bool:
    text = _strip_bom(head)
    if text.startswith(b"OFXHEADER"):
        return True
    upper = text[:8192].upper()
    return b"<OFX>" in upper or b"<?OFX " in upper


def _looks_like_mt940(head: bytes) -> bool:
    text = _strip_bom(head)
    if text.startswith(b"{1:"):
        # The application header {2:} names the message type: only 940 is a statement.
        if b"{2:" in text[:256]:
            return bool(_MT940_ENVELOPE.search(text))
        return bool(_MT940_FIELD.search(text))
    if text.startswith(b":940:"):
        return True
    # Exports that start with a bank header (ABN AMRO: "ABNANL2A / 940 / ABNANL2A") or with
    # ":20:" directly: the transaction reference field must open a line near the top, next
    # to the account field ":25:".
    window = text[:2048]
    return bool(_MT940_FIELD.search(window)) and b"\n:25:" in window.replace(b"\r\n", b"\n")


def _zip_first_member_head(head: bytes) -> bytes | None:
    """The first bytes of the first file in a ZIP, decompressed from the head alone."""
    offset = 0
    for _ in range(8):  # skip a few directory entries ("folder/") before the first file
        header = head[offset : offset + 30]
        if len(header) < 30 or not header.startswith(_ZIP_LOCAL_HEADER):
            return None
        flags = int.from_bytes(header[6:8], "little")
        method = int.from_bytes(header[8:10], "little")
        compressed_size = int.from_bytes(header[18:22], "little")
        name_length = int.from_bytes(header[26:28], "little")
        extra_length = int.from_bytes(header[28:30], "little")
        name = head[offset + 30 : offset + 30 + name_length]
        data_start = offset + 30 + name_length + extra_length
        if flags & 0x1:  # encrypted: cannot look inside
            return None
        if name.endswith(b"/") or name.startswith(b"__MACOSX/"):
            if flags & 0x8:  # sizes only in a trailing descriptor: cannot find the next header
                return None
            offset = data_start + compressed_size
            continue
        data = head[data_start:]
        if method == 0:
            return data
        if method == 8:
            try:
                return zlib.decompressobj(-15).decompress(data, 65536)
            except zlib.error:
                return None
        return None
    return None


def detect_format(head: bytes, *, csv_mapping: CsvMapping | None = None) -> Format | None:
    """The statement format of a file, judged from its first bytes (≥ 4 KiB recommended).

    CSV has no signature: it is returned only when the caller supplies a column mapping and
    the head looks like text. None means "not a bank-statement format we read"."""
    if head.startswith(_ZIP_LOCAL_HEADER):
        member = _zip_first_member_head(head)
        return "camt053" if member is not None and _looks_like_camt053(member) else None
    if _looks_like_coda(head):
        return "coda"
    if _looks_like_camt053(head):
        return "camt053"
    if _looks_like_ofx(head):
        return "ofx"
    if _looks_like_mt940(head):
        return "mt940"
    if csv_mapping is not None and head.strip() and b"\x00" not in head:
        return "csv"
    return None


def parser_for(format: Format, csv_mapping: CsvMapping | None = None) -> Parser:
    """The parser for `format`; CSV needs the column mapping."""
    if format == "camt053":
        from smbfinance.transactions.importers.camt053 import Camt053Parser

        return Camt053Parser()
    if format == "ofx":
        from smbfinance.transactions.importers.ofx import OfxParser

        return OfxParser()
    if format == "csv":
        if csv_mapping is None:
            raise ValueError("a CSV import needs a column mapping")
        from smbfinance.transactions.importers.csv_mapping import CsvParser

        return CsvParser(csv_mapping)
    if format == "coda":
        from smbfinance.transactions.importers.coda import CodaParser  # type: ignore[import-not-found]

        return CodaParser()
    if format == "mt940":
        from smbfinance.transactions.importers.mt940 import Mt940Parser  # type: ignore[import-not-found]

        return Mt940Parser()
    raise ValueError(f"unknown statement format {format!r}")
