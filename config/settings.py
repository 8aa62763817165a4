"""Configuration classes. Every value can be set from the environment.

Production refuses to start when a secret is missing or left at its development
default, or when DATABASE_URL / REDIS_URL are absent; the error names the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

DEV_SECRET = "dev-only-insecure-secret-change-me-0123456789abcdef"
# AES-256 key (id:base64) for integration credentials in development and tests only.
DEV_INTEGRATION_KEYS = "dev:ZGV2LW9ubHktaW5zZWN1cmUtaW50ZWdyYXRpb24tayE="


class ConfigError(RuntimeError):
    """The environment does not describe a configuration we can run with."""


def normalise_database_url(url: str) -> str:
    """Use the psycopg2 driver (pinned) whatever scheme the URL was written with."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def _env_list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


class BaseConfig:
    ENV_NAME = "base"
    DEBUG = False
    TESTING = False

    # Databases: the application connects as a role that owns nothing and cannot bypass RLS.
    SQLALCHEMY_DATABASE_URI: str | None = None
    MIGRATION_DATABASE_URL: str | None = None  # owner role, used by `smbfinance db upgrade`
    # Connections idle longer than DB_PING_IDLE_SECONDS are pinged before use (smbfinance/
    # pool.py), not every checkout; None falls back to no check at all.
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": False}
    DB_PING_IDLE_SECONDS: float | None = 10.0
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    DB_OWNER_ROLE = "smbfinance_owner"
    DB_APP_ROLE = "smbfinance_app"

    REDIS_URL: str | None = None

    SECRET_KEY: str | None = None
    JWT_SECRET_KEY: str | None = None
    JWT_ALGORITHM = "HS256"
    JWT_DECODE_ALGORITHMS = ["HS256"]
    JWT_ISSUER = "smbfinance"
    JWT_AUDIENCE = "smbfinance-api"
    JWT_DECODE_ISSUER = "smbfinance"
    JWT_DECODE_AUDIENCE = "smbfinance-api"
    JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=15)
    JWT_REFRESH_TOKEN_EXPIRES = timedelta(days=7)
    JWT_TOKEN_LOCATION = ["headers"]
    JWT_ERROR_MESSAGE_KEY = "detail"
    JWT_DECODE_LEEWAY = 0

    # REST / OpenAPI (flask-smorest)
    API_TITLE = "SMB Finance OS API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    OPENAPI_SWAGGER_UI_URL = "/api/v1/docs-assets/"
    MAX_CONTENT_LENGTH = 10 * 1024 * 1024

    CORS_ORIGINS: list[str] = []
    GRAPHIQL = False
    GRAPHQL_MAX_DEPTH = 10
    GRAPHQL_MAX_ALIASES = 15
    GRAPHQL_MAX_TOKENS = 2000
    GRAPHQL_MASK_ERRORS = True

    # Rate limits (flask-limiter, Redis storage)
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT_PER_IP = "20 per minute"
    LOGIN_RATE_LIMIT_PER_ACCOUNT = "5 per minute"
    REGISTER_RATE_LIMIT_PER_IP = "10 per minute"

    # How many reverse proxies sit in front of the app (X-Forwarded-For hops to trust);
    # per-IP rate limits see the real client only when this is right.
    TRUSTED_PROXIES = 0

    LOG_LEVEL = "INFO"
    LOG_JSON = True

    CELERY_TASK_ALWAYS_EAGER = False
    SCHEDULER_TICK_SECONDS = 60.0
    CELERY_VISIBILITY_TIMEOUT = 3600  # s before a dead worker's task is redelivered

    # Integrations (Ponto, Yuki): keys encrypting stored credentials, "id:base64key,..."
    # (first encrypts, all decrypt); see docs/integrations.md.
    INTEGRATION_ENCRYPTION_KEYS: str | None = DEV_INTEGRATION_KEYS
    # Provider hosts and our Ponto application (docs/integrations.md); unset = not offered.
    PONTO_CLIENT_ID: str | None = None
    PONTO_CLIENT_SECRET: str | None = None
    PONTO_API_URL = "https://api.ibanity.com/ponto-connect"
    PONTO_AUTHORIZATION_URL = "https://authorization.myponto.com/oauth2/auth"
    PONTO_REDIRECT_URI: str | None = None
    PONTO_CLIENT_CERT: str | None = None  # mutual TLS: certificate and key file paths
    PONTO_CLIENT_KEY: str | None = None
    PONTO_WEBHOOK_ISSUER = "https://api.ibanity.com/ponto-connect"  # unverified
    YUKI_SERVICE_URL = "https://api.yukiworks.be/ws/AccountingInfo.asmx"
    SYNC_DISPATCH = True  # off: the tick claims due integrations but sends no task (tests)

    IMPORT_INLINE_MAX_BYTES = 2 * 1024 * 1024  # larger statement uploads run as a task

    # Events and webhooks: https only and public addresses only, except the networks listed
    # here (loopback in development and tests); events kept this many days (at least 30);
    # EVENTS_DISPATCH off means relay/delivery tasks are not sent (tests call them directly).
    WEBHOOK_REQUIRE_HTTPS = True
    WEBHOOK_ALLOWED_NETWORKS: list[str] = []
    WEBHOOK_TIMEOUT_SECONDS = 15.0
    EVENTS_RETENTION_DAYS = 90
    EVENTS_DISPATCH = True

    GDPR_EXPORT_TTL_SECONDS = 24 * 3600  # a GDPR export can be downloaded this long

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> dict[str, Any]:
        """Read this environment's settings, environment variables winning over defaults."""
        values: dict[str, Any] = {
            key: getattr(cls, key) for key in dir(cls) if key.isupper()
        }
        if env.get("DATABASE_URL"):
            values["SQLALCHEMY_DATABASE_URI"] = env["DATABASE_URL"]
        for key in ("MIGRATION_DATABASE_URL", "REDIS_URL", "SECRET_KEY", "JWT_SECRET_KEY",
                    "DB_OWNER_ROLE", "DB_APP_ROLE", "LOG_LEVEL",
                    "INTEGRATION_ENCRYPTION_KEYS", "PONTO_CLIENT_ID", "PONTO_CLIENT_SECRET",
                    "PONTO_API_URL", "PONTO_AUTHORIZATION_URL", "PONTO_REDIRECT_URI",
                    "PONTO_CLIENT_CERT", "PONTO_CLIENT_KEY", "PONTO_WEBHOOK_ISSUER",
                    "YUKI_SERVICE_URL"):
            if env.get(key):
                values[key] = env[key]
        if env.get("CORS_ORIGINS"):
            values["CORS_ORIGINS"] = _env_list(env["CORS_ORIGINS"])
        if env.get("TRUSTED_PROXIES"):
            values["TRUSTED_PROXIES"] = int(env["TRUSTED_PROXIES"])
        if env.get("CELERY_VISIBILITY_TIMEOUT"):
            values["CELERY_VISIBILITY_TIMEOUT"] = int(env["CELERY_VISIBILITY_TIMEOUT"])
        if env.get("MAX_CONTENT_LENGTH"):
            values["MAX_CONTENT_LENGTH"] = int(env["MAX_CONTENT_LENGTH"])
        if env.get("LOG_JSON"):
            values["LOG_JSON"] = env["LOG_JSON"].lower() not in ("0", "false", "no")
        values["ENV_NAME"] = cls.ENV_NAME
        for key in ("SQLALCHEMY_DATABASE_URI", "MIGRATION_DATABASE_URL"):
            if values.get(key):
                values[key] = normalise_database_url(values[key])
        cls.validate(values)
        values["RATELIMIT_STORAGE_URI"] = values.get("REDIS_URL") or "memory://"
        values["JWT_DECODE_ALGORITHMS"] = [values["JWT_ALGORITHM"]]
        return values

    @classmethod
    def validate(cls, values: dict[str, Any]) -> None:
        values.setdefault("SECRET_KEY", DEV_SECRET)
        if not values.get("SECRET_KEY"):
            values["SECRET_KEY"] = DEV_SECRET
        if not values.get("JWT_SECRET_KEY"):
            values["JWT_SECRET_KEY"] = values["SECRET_KEY"]


class DevelopmentConfig(BaseConfig):
    ENV_NAME = "development"
    DEBUG = False  # the reloader would fork a second scheduler; use `make run` for the stack
    GRAPHIQL = True
    GRAPHQL_MASK_ERRORS = True
    CORS_ORIGINS = ["http://localhost:3000", "http://127.0.0.1:3000"]
    LOG_JSON = False
    WEBHOOK_REQUIRE_HTTPS = False
    WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]


class TestingConfig(BaseConfig):
    ENV_NAME = "testing"
    TESTING = True
    GRAPHIQL = False
    LOG_JSON = False
    # Generous limits so that fuzzing does not trip them; the limiter tests set their own.
    LOGIN_RATE_LIMIT_PER_IP = "10000 per minute"
    LOGIN_RATE_LIMIT_PER_ACCOUNT = "10000 per minute"
    REGISTER_RATE_LIMIT_PER_IP = "10000 per minute"
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": False, "pool_size": 5}
    WEBHOOK_REQUIRE_HTTPS = False
    WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    EVENTS_DISPATCH = False
    SYNC_DISPATCH = False
    # No network beyond loopback in tests: Yuki is not configured (connecting it is a 409);
    # tests that talk to Yuki point it at the simulator.
    YUKI_SERVICE_URL: str | None = None


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"
    INTEGRATION_ENCRYPTION_KEYS = None  # no credentials are stored until it is set

    @classmethod
    def validate(cls, values: dict[str, Any]) -> None:
        missing = []
        if not values.get("SQLALCHEMY_DATABASE_URI"):
            missing.append("DATABASE_URL")
        if not values.get("REDIS_URL"):
            missing.append("REDIS_URL")
        for secret in ("SECRET_KEY", "JWT_SECRET_KEY"):
            value = values.get(secret)
            if not value:
                missing.append(secret)
            elif value == DEV_SECRET or len(value) < 32:
                raise ConfigError(
                    f"{secret} is the development default or shorter than 32 characters: "
                    f"set {secret} to a long random value (e.g. `python -c "
                    f"'import secrets; print(secrets.token_urlsafe(48))'`)."
                )
        if DEV_INTEGRATION_KEYS in (values.get("INTEGRATION_ENCRYPTION_KEYS") or ""):
            raise ConfigError("INTEGRATION_ENCRYPTION_KEYS holds the development key: "
                              "generate one with `python -c 'import secrets, base64; "
                              "print(base64.urlsafe_b64encode(secrets.token_bytes(32)))'`.")
        if missing:
            raise ConfigError(
                "Production configuration is incomplete: set "
                + ", ".join(missing)
                + " in the environment."
            )


CONFIGS: dict[str, type[BaseConfig]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load_config(name: str | None = None, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return the settings of environment `name` (default: $SMBFINANCE_ENV or development)."""
    env = os.environ if env is None else env
    name = name or env.get("SMBFINANCE_ENV", "development")
    try:
        config_class = CONFIGS[name]
    except KeyError:
        raise ConfigError(
            f"Unknown environment {name!r}: use one of {', '.join(sorted(CONFIGS))}."
        ) from None
    return config_class.from_env(env)
