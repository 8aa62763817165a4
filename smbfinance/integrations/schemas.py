"""Response shapes for integrations. Credentials have no field here on purpose."""

from __future__ import annotations

from datetime import UTC, datetime

from marshmallow import Schema, fields, validate

from smbfinance.integrations.health import effective_health
from smbfinance.web.schemas import ListArgs

PROVIDERS = ["ponto", "yuki"]
HEALTH = ["ok", "degraded", "failing", "consent_expiring", "disconnected"]


class IntegrationOut(Schema):
    id = fields.UUID(required=True)
    object = fields.Constant("integration", dump_only=True)
    provider = fields.String(required=True, metadata={"enum": PROVIDERS})
    status = fields.String(required=True, metadata={
        "enum": ["pending", "connected", "disconnected"]})
    health = fields.Function(lambda i: effective_health(i, now=datetime.now(UTC)), metadata={
        "type": "string",
        "enum": HEALTH, "description": "ok, degraded (recent errors), failing, "
                                       "consent_expiring (within 14 days), disconnected"})
    display_name = fields.String(allow_none=True)
    external_id = fields.String(allow_none=True, metadata={
        "description": "Ponto organization or Yuki administration id"})
    consent_expires_at = fields.DateTime(allow_none=True)
    synchronized_at = fields.DateTime(allow_none=True, attribute="last_success_at", metadata={
        "description": "End of the last successful sync: how fresh the data is"})
    next_sync_at = fields.DateTime(allow_none=True)
    last_error_code = fields.String(allow_none=True)
    last_error = fields.String(allow_none=True)
    consecutive_failures = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class IntegrationList(Schema):
    object = fields.Constant("list", dump_only=True)
    data = fields.List(fields.Nested(IntegrationOut), required=True)
    has_more = fields.Boolean(required=True)


class IntegrationListArgs(ListArgs):
    provider = fields.String(validate=validate.OneOf(PROVIDERS))


class SyncLogOut(Schema):
    id = fields.UUID(required=True)
    object = fields.Constant("sync_log", dump_only=True)
    integration_id = fields.UUID(required=True)
    trigger = fields.String(required=True, metadata={
        "enum": ["tick", "manual", "webhook", "connect"]})
    status = fields.String(required=True, metadata={
        "enum": ["running", "success", "partial", "failed", "skipped"]})
    started_at = fields.DateTime(required=True)
    finished_at = fields.DateTime(allow_none=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                         metadata={"description": "Records read, created, updated per kind"})
    calls = fields.Integer(required=True, metadata={
        "description": "Provider calls the run spent (Yuki's quota, Ponto's requests)"})
    error_code = fields.String(allow_none=True)
    error = fields.String(allow_none=True)


class SyncLogList(Schema):
    object = fields.Constant("list", dump_only=True)
    data = fields.List(fields.Nested(SyncLogOut), required=True)
    has_more = fields.Boolean(required=True)


class SyncRequestedOut(Schema):
    object = fields.Constant("sync_request", dump_only=True)
    integration_id = fields.UUID(required=True)
    status = fields.Constant("queued", dump_only=True)
    attended = fields.Boolean(required=True, metadata={
        "description": "A user is present: Ponto gets their IP as customerIpAddress"})
    bank_synchronizations = fields.Integer(required=True, metadata={
        "description": "Ponto accounts the bank will be asked about (0: read only)"})
    requested_at = fields.DateTime(required=True)


class ConnectStartOut(Schema):
    object = fields.Constant("ponto_authorization", dump_only=True)
    authorization_url = fields.String(required=True, metadata={
        "description": "Send the user's browser here to choose their bank accounts"})
    state = fields.String(required=True, metadata={
        "description": "Bound to you and this company; comes back on the callback"})
    expires_at = fields.DateTime(required=True)


class ConnectCallbackArgs(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=2048))
    state = fields.String(required=True, validate=validate.Length(min=1, max=200))
    scope = fields.String(validate=validate.Length(max=500))


class WebhookReceiptOut(Schema):
    object = fields.Constant("webhook_receipt", dump_only=True)
    event_id = fields.String(required=True)
    event_type = fields.String(required=True)
    scheduled = fields.Function(lambda r: len(r.scheduled), required=True, metadata={
        "type": "integer", "description": "Integrations whose sync is now due"})


class YukiConnectIn(Schema):
    access_key = fields.String(required=True, validate=validate.Length(min=1, max=200),
                               load_only=True, metadata={
        "description": "Yuki's web-service access key (Settings → Web service access); "
                       "stored encrypted, never returned"})
    administration_id = fields.String(validate=validate.Length(min=1, max=100), metadata={
        "description": "The Yuki administration to read (needed when the key opens several)"})
    administration_name = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "description": "Or its exact name"})
