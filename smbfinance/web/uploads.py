"""Multipart file uploads: one `file` part, read whole (bounded by MAX_CONTENT_LENGTH)."""

from __future__ import annotations

from typing import Any

from flask_smorest.fields import Upload
from marshmallow import Schema

from smbfinance.errors import Invalid


class FileUpload(Schema):
    file = Upload(required=True, metadata={"description": "The file to import"})


def uploaded_bytes(files: dict[str, Any]) -> bytes:
    data = files["file"].read()
    if not data:
        raise Invalid.field("file", "the file is empty")
    return data
