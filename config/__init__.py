"""Settings per environment, read from environment variables (12-factor)."""

from config.settings import (
    BaseConfig,
    ConfigError,
    DevelopmentConfig,
    ProductionConfig,
    TestingConfig,
    load_config,
    normalise_database_url,
)

__all__ = [
    "BaseConfig",
    "ConfigError",
    "DevelopmentConfig",
    "ProductionConfig",
    "TestingConfig",
    "load_config",
    "normalise_database_url",
]
