"""Replacing a person's strings by a pseudonym: in plain text, in JSON documents (walked,
never edited as serialised text), and as the PostgreSQL regular expression that finds the
rows to touch. Pure: no database, no Flask.

A personal string matches case-insensitively and only as a whole word (not inside a
longer word), so erasing "Jan" leaves "January" alone."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MIN_LENGTH = 3  # shorter strings would hit unrelated text everywhere


def pseudonym_for(subject_id: uuid.UUID) -> str:
    """`erased-<8 hex>`: the id's last 8 hex digits, its random part (the first 8 of a
    UUIDv7 are a timestamp shared by everything created in the same minute)."""
    return f"erased-{subject_id.hex[-8:]}"


def erased_email(subject_id: uuid.UUID) -> str:
    return f"{pseudonym_for(subject_id)}@erased.invalid"


def iban_forms(iban: str) -> list[str]:
    """An IBAN as stored (compact) and as printed in groups of four."""
    compact = re.sub(r"\s+", "", iban).upper()
    grouped = " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))
    return [compact, grouped] if grouped != compact else [compact]


@dataclass(frozen=True)
class Terms:
    """The personal strings of one person, longest first (a longer string that contains a
    shorter one is replaced whole)."""

    strings: tuple[str, ...]

    @classmethod
    def of(cls, values: Iterable[str | None]) -> Terms:
        seen: dict[str, str] = {}
        for value in values:
            if value is None:
                continue
            value = value.strip()
            if len(value) >= MIN_LENGTH:
                seen.setdefault(value.casefold(), value)
        return cls(tuple(sorted(seen.values(), key=lambda s: (-len(s), s))))

    def __bool__(self) -> bool:
        return bool(self.strings)

    # ------------------------------------------------------------------ Python side

    @property
    def _python(self) -> re.Pattern[str]:
        alternatives = "|".join(re.escape(s) for s in self.strings)
        return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    def replace(self, value: str, pseudonym: str, max_length: int | None = None) -> str:
        if not self.strings:
            return value
        replaced = self._python.sub(lambda _m: pseudonym, value)
        return replaced[:max_length] if max_length is not None else replaced

    def found_in(self, value: str) -> bool:
        return bool(self.strings) and self._python.search(value) is not None

    def walk(self, document: Any, pseudonym: str) -> Any:
        """A copy of a JSON value with the strings replaced in every string value and
        every object key."""
        if isinstance(document, str):
            return self.replace(document, pseudonym)
        if isinstance(document, list):
            return [self.walk(item, pseudonym) for item in document]
        if isinstance(document, dict):
            return {self.replace(key, pseudonym): self.walk(item, pseudonym)
                    for key, item in document.items()}
        return document

    # ------------------------------------------------------------------ PostgreSQL side

    @property
    def postgres_pattern(self) -> str:
        """For `~*` and `regexp_replace(..., 'gi')` (PostgreSQL ARE): each character that
        is not a letter or digit is escaped, which ARE reads as the literal character."""
        alternatives = "|".join(_are_escape(s) for s in self.strings)
        return f"(?<![[:alnum:]_])(?:{alternatives})(?![[:alnum:]_])"

    @property
    def postgres_json_pattern(self) -> str:
        """Finds the strings in a jsonb column's text, where quotes, backslashes and
        control characters are escaped (only to choose rows: the rewrite walks)."""
        forms = set(self.strings) | {json.dumps(s, ensure_ascii=False)[1:-1] for s in self.strings}
        return "|".join(_are_escape(s) for s in sorted(forms, key=lambda s: (-len(s), s)))


def _are_escape(value: str) -> str:
    return "".join(c if c.isalnum() else "\\" + c for c in value)
