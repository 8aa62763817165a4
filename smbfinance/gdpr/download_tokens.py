"""Signed, expiring download tokens for exports: the link works in a browser or a script
without a bearer token, names one export of one company, and stops working when the export
expires. Pure: the secret is passed in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALT = "smbfinance.gdpr.export-download"


class TokenRefused(Exception):
    """Forged, altered or expired."""


@dataclass(frozen=True)
class DownloadGrant:
    tenant_id: uuid.UUID
    export_id: uuid.UUID


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=SALT)


def sign(secret: str, *, tenant_id: uuid.UUID, export_id: uuid.UUID) -> str:
    return _serializer(secret).dumps({"t": str(tenant_id), "e": str(export_id)})


def read(secret: str, token: str, *, max_age: int) -> DownloadGrant:
    try:
        payload = _serializer(secret).loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise TokenRefused("the download link has expired") from error
    except BadSignature as error:
        raise TokenRefused("the download link is not valid") from error
    try:
        return DownloadGrant(tenant_id=uuid.UUID(payload["t"]),
                             export_id=uuid.UUID(payload["e"]))
    except (TypeError, KeyError, ValueError) as error:
        raise TokenRefused("the download link is not valid") from error
