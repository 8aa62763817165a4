"""Optimistic concurrency over HTTP: `ETag` on reads, `If-Match` on writes → 412 if stale.

The tag is the resource's version number; the service compares it inside the
transaction that writes, so two concurrent writers cannot both win."""

from __future__ import annotations

import re

from flask import request

from smbfinance.errors import Invalid

_TAG = re.compile(r'^\s*(?:W/)?"(?P<version>\d{1,9})"\s*$')


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version() -> int | None:
    """The version the caller last saw, from If-Match (None when not sent or `*`)."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    match = _TAG.match(header)
    if match is None:
        raise Invalid.field("If-Match", 'must be an ETag from a previous response, e.g. "3"')
    return int(match.group("version"))


def with_etag(body: object, version: int, status: int = 200) -> tuple[object, int, dict[str, str]]:
    return body, status, {"ETag": etag(version)}
