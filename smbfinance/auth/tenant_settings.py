"""A tenant's settings: defaults, validation and partial updates (pure)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from smbfinance.errors import ErrorList

DEFAULTS: dict[str, Any] = {
    # Days until due at or below which an invoice is critical / high / medium (else low).
    "urgency_thresholds": {"critical_days": 3, "high_days": 7, "medium_days": 30},
    # Alert when the forecast closing balance falls below this amount (base currency).
    "low_cash_threshold": "0.00",
    "forecast_horizon_days": 90,
    # Reconciliation applies a candidate automatically at or above this score (0..1).
    "auto_match_threshold": "0.90",
}


def effective(stored: dict[str, Any] | None) -> dict[str, Any]:
    """Stored values over defaults, nested dicts merged one level deep."""
    result: dict[str, Any] = {}
    stored = stored or {}
    for key, default in DEFAULTS.items():
        value = stored.get(key, default)
        if isinstance(default, dict):
            value = {**default, **(value if isinstance(value, dict) else {})}
        result[key] = value
    return result


def merge(stored: dict[str, Any] | None, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply a partial update and validate the result; raises Invalid naming the field."""
    errors = ErrorList()
    for key in changes:
        if key not in DEFAULTS:
            errors.add(f"settings.{key}", "unknown setting", "unknown_field")
    errors.raise_if_any()
    merged = effective(stored)
    for key, value in changes.items():
        if isinstance(DEFAULTS[key], dict) and isinstance(value, dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    _validate(merged, errors)
    errors.raise_if_any()
    return merged


def _validate(values: dict[str, Any], errors: ErrorList) -> None:
    thresholds = values["urgency_thresholds"]
    if not isinstance(thresholds, dict):
        errors.add("settings.urgency_thresholds",
                   "must be an object of critical_days, high_days and medium_days")
        thresholds = DEFAULTS["urgency_thresholds"]  # report this one error, not three more
    names = ("critical_days", "high_days", "medium_days")
    for name in thresholds:
        if name not in names:
            errors.add(f"settings.urgency_thresholds.{name}", "unknown threshold", "unknown_field")
    numbers = [thresholds.get(name) for name in names]
    for name, number in zip(names, numbers, strict=True):
        if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number <= 3650:
            errors.add(f"settings.urgency_thresholds.{name}",
                       "must be a whole number of days, 0-3650")
    if not errors.errors and not numbers[0] < numbers[1] < numbers[2]:
        errors.add(
            "settings.urgency_thresholds",
            "critical_days < high_days < medium_days must hold",
        )
    _decimal(values, "low_cash_threshold", errors, places=2)
    threshold = _decimal(values, "auto_match_threshold", errors, places=2)
    if threshold is not None and not Decimal("0") <= threshold <= Decimal("1"):
        errors.add("settings.auto_match_threshold", "must be between 0 and 1")
    horizon = values["forecast_horizon_days"]
    if not isinstance(horizon, int) or isinstance(horizon, bool) or not 7 <= horizon <= 730:
        errors.add("settings.forecast_horizon_days", "must be a whole number of days, 7-730")


def _decimal(values: dict[str, Any], key: str, errors: ErrorList, *, places: int) -> Decimal | None:
    raw = values[key]
    if not isinstance(raw, str):
        errors.add(f"settings.{key}", "must be a decimal string such as \"1500.00\"")
        return None
    try:
        number = Decimal(raw)
    except InvalidOperation:
        errors.add(f"settings.{key}", "must be a decimal string such as \"1500.00\"")
        return None
    if not number.is_finite():
        errors.add(f"settings.{key}", "must be a finite number")
        return None
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        errors.add(f"settings.{key}", f"at most {places} decimal places")
        return None
    values[key] = str(number)
    return number
