"""Request and response shapes of the auth, tenant and member endpoints (marshmallow)."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, post_dump, validate

from smbfinance.auth import tenant_settings
from smbfinance.auth.identifiers import format_enterprise_number
from smbfinance.auth.models import ROLE_VALUES
from smbfinance.auth.tokens import TokenPair


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class RegisterIn(StrictSchema):
    company_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, load_only=True,
                             metadata={"description": "At least 10 characters"})
    full_name = fields.String(validate=validate.Length(max=200), allow_none=True)


class LoginIn(StrictSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))
    tenant_id = fields.UUID(allow_none=True, metadata={
        "description": "Required when the user belongs to several companies"})


class SwitchTenantIn(StrictSchema):
    tenant_id = fields.UUID(required=True)


class TokensOut(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={
        "description": "Seconds until the access token expires"})
    access_token_expires_at = fields.DateTime(required=True)
    refresh_token_expires_at = fields.DateTime(required=True)


class UserOut(Schema):
    id = fields.UUID(required=True)
    email = fields.String(required=True)
    full_name = fields.String(allow_none=True)
    last_login_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime(required=True)


class UrgencyThresholds(Schema):
    class Meta:
        unknown = RAISE

    critical_days = fields.Integer(metadata={"example": 3})
    high_days = fields.Integer(metadata={"example": 7})
    medium_days = fields.Integer(metadata={"example": 30})


class TenantSettingsSchema(Schema):
    class Meta:
        unknown = RAISE

    urgency_thresholds = fields.Nested(UrgencyThresholds)
    low_cash_threshold = fields.String(metadata={
        "description": "Decimal amount in the base currency", "example": "5000.00"})
    forecast_horizon_days = fields.Integer(metadata={"example": 90})
    auto_match_threshold = fields.String(metadata={
        "description": "Reconciliation score (0-1) from which a match applies itself",
        "example": "0.90"})


class TenantOut(Schema):
    id = fields.UUID(required=True)
    legal_name = fields.String(required=True)
    vat_number = fields.String(allow_none=True, metadata={"example": "BE0123456749"})
    enterprise_number = fields.String(allow_none=True, metadata={"example": "0123.456.749"})
    peppol_id = fields.String(allow_none=True, metadata={
        "example": "0208:0123456749",
        "description": "Peppol participant id; default 0208:<enterprise number>"})
    base_currency = fields.String(required=True, metadata={"example": "EUR"})
    time_zone = fields.String(required=True, metadata={"example": "Europe/Brussels"})
    settings = fields.Nested(TenantSettingsSchema, required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)

    @post_dump(pass_original=True)
    def _present(self, data: dict[str, Any], original: Any, **_: Any) -> dict[str, Any]:
        if original.enterprise_number:
            data["enterprise_number"] = format_enterprise_number(original.enterprise_number)
        data["settings"] = TenantSettingsSchema().dump(
            tenant_settings.effective(original.settings))
        return data


class TenantPatch(StrictSchema):
    legal_name = fields.String(validate=validate.Length(min=1, max=200))
    vat_number = fields.String(allow_none=True, validate=validate.Length(max=30))
    enterprise_number = fields.String(allow_none=True, validate=validate.Length(max=30))
    peppol_id = fields.String(allow_none=True, validate=validate.Length(max=100))
    base_currency = fields.String(validate=validate.Length(equal=3))
    time_zone = fields.String(validate=validate.Length(max=64))
    settings = fields.Nested(TenantSettingsSchema)


class TenantChoiceOut(Schema):
    tenant_id = fields.UUID(required=True)
    legal_name = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLE_VALUES))


class RegisterOut(TokensOut):
    tenant = fields.Nested(TenantOut, required=True)
    user = fields.Nested(UserOut, required=True)
    role = fields.String(required=True)


class LoginOut(TokensOut):
    tenant = fields.Nested(TenantOut, required=True)
    user = fields.Nested(UserOut, required=True)
    role = fields.String(required=True)


class MeOut(Schema):
    user = fields.Nested(UserOut, required=True)
    tenant = fields.Nested(TenantOut, required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLE_VALUES))
    memberships = fields.List(fields.Nested(TenantChoiceOut), required=True)


class MemberIn(StrictSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    role = fields.String(required=True, validate=validate.OneOf(ROLE_VALUES))
    password = fields.String(load_only=True, allow_none=True, metadata={
        "description": "Initial password, required only when the person has no account"})
    full_name = fields.String(validate=validate.Length(max=200), allow_none=True)


class MemberPatch(StrictSchema):
    role = fields.String(required=True, validate=validate.OneOf(ROLE_VALUES))


class MemberOut(Schema):
    user_id = fields.UUID(required=True)
    email = fields.String(required=True)
    full_name = fields.String(allow_none=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLE_VALUES))
    joined_at = fields.DateTime(required=True)


class MemberList(Schema):
    data = fields.List(fields.Nested(MemberOut), required=True)
    has_more = fields.Boolean(required=True)


def tokens_body(pair: TokenPair) -> dict[str, Any]:
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "token_type": pair.token_type,
        "expires_in": pair.expires_in,
        "access_token_expires_at": pair.access_expires_at,
        "refresh_token_expires_at": pair.refresh_expires_at,
    }
