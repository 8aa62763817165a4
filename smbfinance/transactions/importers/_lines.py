"""Numbered text lines from a statement file, whatever its encoding. Pure.

Shared by the line-oriented parsers (CODA, MT940). Belgian and Dutch banks write these
files in windows-1252 / ISO-8859-1, but a file that went through a modern editor or a
web export is UTF-8, so the encoding is decided per file: UTF-8 until a line proves
otherwise, then cp1252 for that line and every later one. An earlier line that decoded as
UTF-8 is either plain ASCII (identical in both) or a valid UTF-8 multi-byte sequence,
which cp1252 text practically never forms (it would need "Ã©"-like pairs), so deciding
late gives the same text as reading the whole file twice, with flat memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from smbfinance.transactions.importers.model import ImportFormatError

# Generous for any statement line (CODA 128, MT940 65), small enough that a binary file
# without newlines cannot make us read it into memory as one line.
MAX_LINE_BYTES = 64 * 1024

_UTF8_BOM = b"\xef\xbb\xbf"
# DOS tools append ^Z at the end of a file; it carries no data.
_EOF_MARK = b"\x1a"


class _Decoder:
    """UTF-8 first, cp1252 for the rest of the file once a line is not UTF-8."""

    def __init__(self) -> None:
        self.utf8 = True

    def decode(self, raw: bytes) -> str:
        if self.utf8:
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                self.utf8 = False
        return _cp1252(raw)


def _cp1252(raw: bytes) -> str:
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        # cp1252 leaves 0x81, 0x8D, 0x8F, 0x90 and 0x9D undefined; read those as
        # ISO-8859-1 does rather than fail on one odd byte.
        return "".join(_cp1252_byte(byte) for byte in raw)


def _cp1252_byte(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)


def _checked(raw: bytes, number: int) -> bytes:
    if b"\x00" in raw:
        raise ImportFormatError(
            "NUL byte in the file: a binary or UTF-16 file, not a text statement",
            line=number,
        )
    return raw


def _read_line(stream: BinaryIO, head: bytearray) -> bytes:
    """The next raw line, taken first from `head` (bytes the caller already read)."""
    if not head:
        return stream.readline(MAX_LINE_BYTES + 1)
    end = head.find(b"\n")
    if end >= 0:
        line = bytes(head[:end + 1])
        del head[:end + 1]
        return line
    line = bytes(head)
    head.clear()
    return line + stream.readline(MAX_LINE_BYTES + 1 - len(line))


def decoded_lines(stream: BinaryIO, *, head: bytes = b"") -> Iterator[tuple[int, str]]:
    """Yield `(line number, text)` with the line ending (LF or CRLF) removed.

    `head` holds bytes the caller already read from the start of `stream` to look at the
    file. A missing final newline is fine. NUL bytes are refused: no bank writes them in
    a text statement, they mean a binary or UTF-16 file, and the database cannot store
    them in text columns anyway.
    """
    decoder = _Decoder()
    pending = bytearray(head)
    number = 0
    while True:
        raw = _read_line(stream, pending)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            raise ImportFormatError(
                f"line longer than {MAX_LINE_BYTES} bytes: not a text statement", line=number
            )
        if number == 1 and raw.startswith(_UTF8_BOM):
            raw = raw[len(_UTF8_BOM):]
        raw = raw.rstrip(b"\n").rstrip(b"\r").rstrip(_EOF_MARK)
        yield number, decoder.decode(_checked(raw, number))


def decoded_records(
    stream: BinaryIO, size: int, *, head: bytes = b""
) -> Iterator[tuple[int, str]]:
    """Yield `(record number, text)` for a file of fixed-size records without line
    breaks (some banks deliver CODA that way). A last record cut short is yielded as it
    is, for the caller to reject; trailing line breaks and ^Z are ignored."""
    decoder = _Decoder()
    buffer = bytearray(head.removeprefix(_UTF8_BOM))
    number = 0
    while True:
        while len(buffer) < size:
            chunk = stream.read(size * 64)
            if not chunk:
                break
            buffer += chunk
        if not buffer.strip(b" \r\n" + _EOF_MARK):
            return
        number += 1
        raw = bytes(buffer[:size])
        del buffer[:size]
        yield number, decoder.decode(_checked(raw.rstrip(b"\r\n" + _EOF_MARK), number))
