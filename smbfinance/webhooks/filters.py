"""Which events an endpoint receives: its event types and its optional field filter. Pure.

A filter is an object of dotted field paths into the event's object and the value (or any
of a list of values) it must have, all conditions together:
`{"direction": "receivable", "status": ["open", "paid"], "contact.id": "0193..."}`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from smbfinance.errors import ErrorList
from smbfinance.events.catalogue import EVENT_TYPES

ALL = "*"
MAX_CONDITIONS = 20
MAX_VALUES = 50
_PATH = re.compile(r"^[a-z_][a-z0-9_]{0,49}(\.[a-z_][a-z0-9_]{0,49}){0,4}$")
_SCALARS = (str, int, bool, type(None))


def check_event_types(raw: Any, errors: ErrorList, field: str = "event_types") -> list[str]:
    if not isinstance(raw, list) or not raw:
        errors.add(field, f'list the event types to receive, or ["{ALL}"] for all')
        return []
    types: list[str] = []
    for index, value in enumerate(raw):
        if value != ALL and value not in EVENT_TYPES:
            errors.add(f"{field}.{index}", f"unknown event type {value!r}")
        elif value not in types:
            types.append(value)
    return [ALL] if ALL in types else sorted(types)


def check_filter(raw: Any, errors: ErrorList, field: str = "filter") -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        errors.add(field, "must be an object of field paths and values")
        return {}
    if len(raw) > MAX_CONDITIONS:
        errors.add(field, f"at most {MAX_CONDITIONS} conditions")
    for path, expected in raw.items():
        name = f"{field}.{path}"
        if not isinstance(path, str) or not _PATH.match(path):
            errors.add(field, f"{path!r} is not a field path like contact.id")
        elif isinstance(expected, list):
            if not expected or len(expected) > MAX_VALUES or not all(
                    isinstance(v, _SCALARS) and not isinstance(v, float) for v in expected):
                errors.add(name, f"a list of 1 to {MAX_VALUES} strings, integers or booleans")
        elif not isinstance(expected, _SCALARS) or isinstance(expected, float):
            errors.add(name, "a string, integer, boolean, null or a list of them")
    return dict(raw)


def subscribed(event_types: Sequence[str], event_type: str) -> bool:
    return ALL in event_types or event_type in event_types


def _lookup(data: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    current: Any = data
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return False, None
        current = current[part]
    return True, current


def _same(actual: Any, expected: Any) -> bool:
    # bool is an int in Python: True must not match 1.
    return type(actual) is type(expected) and actual == expected


def matches(conditions: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    for path, expected in conditions.items():
        found, actual = _lookup(data, path)
        if not found:
            return False
        options = expected if isinstance(expected, list) else [expected]
        if not any(_same(actual, option) for option in options):
            return False
    return True


def wants(event_types: Sequence[str], conditions: Mapping[str, Any], event_type: str,
          data: Mapping[str, Any]) -> bool:
    return subscribed(event_types, event_type) and matches(conditions, data)
