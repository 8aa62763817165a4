"""A tenant's settings: defaults, partial updates and validation (pure functions)."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smbfinance.auth import tenant_settings
from smbfinance.errors import Invalid

days = st.integers(min_value=0, max_value=3650)


def fields_of(error):
    return [e.field for e in error.errors]


def test_effective_fills_every_default():
    # given nothing stored
    # when the effective settings are computed
    settings = tenant_settings.effective(None)
    # then they equal the defaults
    assert settings == tenant_settings.DEFAULTS


def test_a_partial_nested_update_keeps_the_other_thresholds():
    # given stored settings with one threshold changed
    stored = {"urgency_thresholds": {"medium_days": 45}}
    # when another threshold is changed
    merged = tenant_settings.merge(stored, {"urgency_thresholds": {"high_days": 10}})
    # then both changes and the remaining default survive
    assert merged["urgency_thresholds"] == {"critical_days": 3, "high_days": 10,
                                            "medium_days": 45}
    assert merged["forecast_horizon_days"] == 90


def test_merge_does_not_mutate_its_inputs():
    # given stored settings and a change
    stored = {"urgency_thresholds": {"high_days": 8}, "low_cash_threshold": "10"}
    changes = {"urgency_thresholds": {"medium_days": 40}}
    before = copy.deepcopy((stored, changes))
    # when they are merged
    tenant_settings.merge(stored, changes)
    # then neither input changed
    assert (stored, changes) == before


def test_decimal_settings_are_normalised_strings():
    # given a low-cash threshold with one decimal
    # when it is merged
    merged = tenant_settings.merge({}, {"low_cash_threshold": "1500.5"})
    # then it is kept as a decimal string
    assert merged["low_cash_threshold"] == "1500.5"


@pytest.mark.parametrize(("change", "field"), [
    ({"colour": "red"}, "settings.colour"),
    ({"urgency_thresholds": {"soon_days": 2}}, "settings.urgency_thresholds.soon_days"),
    ({"urgency_thresholds": {"high_days": -1}}, "settings.urgency_thresholds.high_days"),
    ({"urgency_thresholds": {"high_days": True}}, "settings.urgency_thresholds.high_days"),
    ({"urgency_thresholds": {"high_days": "7"}}, "settings.urgency_thresholds.high_days"),
    ({"urgency_thresholds": 5}, "settings.urgency_thresholds"),
    ({"urgency_thresholds": None}, "settings.urgency_thresholds"),
    ({"low_cash_threshold": "1.005"}, "settings.low_cash_threshold"),
    ({"low_cash_threshold": 100}, "settings.low_cash_threshold"),
    ({"low_cash_threshold": "NaN"}, "settings.low_cash_threshold"),
    ({"low_cash_threshold": "lots"}, "settings.low_cash_threshold"),
    ({"auto_match_threshold": "1.01"}, "settings.auto_match_threshold"),
    ({"auto_match_threshold": "-0.1"}, "settings.auto_match_threshold"),
    ({"forecast_horizon_days": 6}, "settings.forecast_horizon_days"),
    ({"forecast_horizon_days": 731}, "settings.forecast_horizon_days"),
    ({"forecast_horizon_days": False}, "settings.forecast_horizon_days"),
])
def test_an_invalid_change_names_its_field(change, field):
    # given one invalid change
    # when it is merged
    with pytest.raises(Invalid) as error:
        tenant_settings.merge({}, change)
    # then the error names the field at fault
    assert field in fields_of(error.value)


@given(critical=days, high=days, medium=days)
def test_thresholds_are_accepted_exactly_when_strictly_increasing(critical, high, medium):
    # given any three thresholds within range
    change = {"urgency_thresholds": {"critical_days": critical, "high_days": high,
                                     "medium_days": medium}}
    # when they are merged
    try:
        merged = tenant_settings.merge({}, change)
    except Invalid as error:
        # then a refusal happens only for a broken order, and names the thresholds
        assert not critical < high < medium
        assert fields_of(error) == ["settings.urgency_thresholds"]
    else:
        # and an acceptance only for critical < high < medium, stored as given
        assert critical < high < medium
        assert merged["urgency_thresholds"] == change["urgency_thresholds"]


@given(high=days)
def test_changing_one_threshold_is_judged_against_the_stored_others(high):
    # given stored thresholds 5 < 20 < 60
    stored = {"urgency_thresholds": {"critical_days": 5, "high_days": 20, "medium_days": 60}}
    # when only high_days changes
    try:
        tenant_settings.merge(stored, {"urgency_thresholds": {"high_days": high}})
        accepted = True
    except Invalid:
        accepted = False
    # then it is accepted exactly when it still sits between the other two
    assert accepted == (5 < high < 60)


@given(horizon=st.integers(min_value=-1000, max_value=2000))
def test_the_forecast_horizon_range(horizon):
    # given any whole number of days
    # when it is set as the horizon
    try:
        tenant_settings.merge({}, {"forecast_horizon_days": horizon})
        accepted = True
    except Invalid:
        accepted = False
    # then 7 to 730 days are accepted, nothing else
    assert accepted == (7 <= horizon <= 730)
