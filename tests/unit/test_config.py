"""Configuration per environment: production refuses to start half-configured."""

from __future__ import annotations

import pytest

from config import ConfigError, load_config
from config.settings import DEV_SECRET

GOOD_SECRET = "x" * 48
PRODUCTION = {
    "DATABASE_URL": "postgresql://app@db/smbfinance",
    "REDIS_URL": "redis://redis:6379/0",
    "SECRET_KEY": GOOD_SECRET,
    "JWT_SECRET_KEY": GOOD_SECRET,
}


@pytest.mark.parametrize("missing", ["DATABASE_URL", "REDIS_URL", "SECRET_KEY", "JWT_SECRET_KEY"])
def test_production_names_the_missing_variable(missing: str) -> None:
    # given a production environment without one required variable
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    # when the configuration loads
    with pytest.raises(ConfigError) as error:
        load_config("production", env)
    # then the error names that variable
    assert missing in str(error.value)


@pytest.mark.parametrize("secret", [DEV_SECRET, "short"])
def test_production_refuses_default_or_short_secret(secret: str) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config("production", {**PRODUCTION, "SECRET_KEY": secret})


def test_production_with_everything_set_loads_and_uses_psycopg2() -> None:
    values = load_config("production", PRODUCTION)
    assert values["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg2://")
    assert values["RATELIMIT_STORAGE_URI"] == PRODUCTION["REDIS_URL"]
    assert values["GRAPHIQL"] is False
    assert values["JWT_DECODE_ALGORITHMS"] == ["HS256"]


def test_development_runs_with_defaults_and_graphiql() -> None:
    values = load_config("development", {"DATABASE_URL": "postgres://app@localhost/dev"})
    assert values["GRAPHIQL"] is True
    assert values["SECRET_KEY"] == DEV_SECRET
    assert values["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg2://app@localhost/dev"


def test_cors_origins_are_read_as_a_list() -> None:
    values = load_config("testing", {"CORS_ORIGINS": "https://app.example, https://b.example"})
    assert values["CORS_ORIGINS"] == ["https://app.example", "https://b.example"]


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(ConfigError, match="Unknown environment"):
        load_config("staging", {})
