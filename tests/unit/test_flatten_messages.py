"""Validation messages from marshmallow/webargs become [{field, message}] with paths."""

from __future__ import annotations

from smbfinance.web.problems import flatten_messages


def test_the_json_location_is_dropped():
    # given webargs messages for the body
    messages = {"json": {"email": ["Missing data for required field."]}}
    # when flattened
    # then the field is named without its location
    assert flatten_messages(messages) == [
        {"field": "email", "message": "Missing data for required field."}]


def test_query_and_header_locations_are_kept():
    # given messages for the query string and a header
    messages = {"query": {"limit": ["Not a valid integer."]},
                "headers": {"If-Match": ["Missing."]}}
    # when flattened
    fields = [e["field"] for e in flatten_messages(messages)]
    # then the location prefixes the field
    assert fields == ["query:limit", "headers:If-Match"]


def test_nested_fields_get_dotted_paths():
    # given a nested schema's messages
    messages = {"json": {"settings": {"urgency_thresholds": {
        "high_days": ["Not a valid integer."]}}}}
    # when flattened
    # then the path is dotted
    assert flatten_messages(messages) == [
        {"field": "settings.urgency_thresholds.high_days", "message": "Not a valid integer."}]


def test_list_items_are_named_by_index():
    # given messages for the second item of a list
    messages = {"json": {"lines": {1: {"amount": ["Not a valid number."]}}}}
    # when flattened
    # then the index is part of the path
    assert flatten_messages(messages)[0]["field"] == "lines.1.amount"


def test_schema_level_errors_name_the_body():
    # given a schema-level message and a bare message
    # when flattened
    # then both are attributed to the body
    assert flatten_messages({"json": {"_schema": ["Invalid JSON body."]}}) == [
        {"field": "(body)", "message": "Invalid JSON body."}]
    assert flatten_messages("Invalid input.") == [{"field": "(body)", "message": "Invalid input."}]


def test_several_messages_for_one_field_stay_separate():
    # given two messages for one field
    messages = {"password": ["Too short.", "Too common."]}
    # when flattened
    # then each is its own entry
    assert flatten_messages(messages) == [
        {"field": "password", "message": "Too short."},
        {"field": "password", "message": "Too common."},
    ]


def test_a_list_of_dicts_is_flattened_under_the_same_prefix():
    # given a list of message dicts
    messages = {"items": [{"name": ["Required."]}, {"code": ["Bad."]}]}
    # when flattened
    # then each inner field is under the list's name
    assert [e["field"] for e in flatten_messages(messages)] == ["items.name", "items.code"]
