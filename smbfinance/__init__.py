"""SMB Finance OS: the app factory, nothing else."""

from __future__ import annotations

from typing import Any

from flask import Flask

__version__ = "0.1.0"


def create_app(config_name: str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    from config import load_config
    from smbfinance.extensions import celery, cors, db, jwt, limiter, migrate
    from smbfinance.logs import configure_logging
    from smbfinance.platform import MIGRATIONS_DIR
    from smbfinance.web.api import RestApi, register_media_type_check
    from smbfinance.web.docs_assets import register_docs_assets
    from smbfinance.web.problems import register_problem_handlers
    from smbfinance.web.request_id import register_request_id
    from smbfinance.worker import init_celery

    app = Flask(__name__)
    app.config.update(load_config(config_name))
    app.config.update(overrides or {})
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        from config import ConfigError

        raise ConfigError(
            "DATABASE_URL is not set: run `make run` (which starts an embedded PostgreSQL) "
            "or export DATABASE_URL for the application role."
        )
    configure_logging(level=app.config["LOG_LEVEL"], json_lines=app.config["LOG_JSON"])
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    db.init_app(app)
    if app.config["DB_PING_IDLE_SECONDS"] is not None:
        from smbfinance.pool import ping_when_idle

        with app.app_context():
            ping_when_idle(db.engine, idle_seconds=app.config["DB_PING_IDLE_SECONDS"])
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    jwt.init_app(app)
    limiter.init_app(app)
    cors.init_app(app, resources={r"/api/*": {"origins": app.config["CORS_ORIGINS"]},
                                  r"/graphql": {"origins": app.config["CORS_ORIGINS"]}},
                  expose_headers=["X-Request-ID", "ETag", "Retry-After"],
                  supports_credentials=False)
    init_celery(app, celery)

    register_request_id(app)
    register_media_type_check(app)
    register_problem_handlers(app)
    register_docs_assets(app)

    api = RestApi(app, spec_kwargs={"info": {"description": _API_DESCRIPTION}})
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    _register_blueprints(api)
    app.extensions["rest_api"] = api

    from smbfinance.graphql.view import register_graphql

    register_graphql(app)
    return app


def _register_blueprints(api: Any) -> None:
    from smbfinance.audit.rest import blp as audit_blp
    from smbfinance.auth.api_key_rest import blp as api_keys_blp
    from smbfinance.auth.rest import blp as auth_blp
    from smbfinance.cashflow.rest import blp as cashflow_blp
    from smbfinance.categorisation.rest import blp as categorisation_blp
    from smbfinance.contacts.rest import blp as contacts_blp
    from smbfinance.events.rest import blp as events_blp
    from smbfinance.gdpr.rest import blp as gdpr_blp
    from smbfinance.health.rest import blp as health_blp
    from smbfinance.integrations.rest import blp as integrations_blp
    from smbfinance.invoices.rest import blp as invoices_blp
    from smbfinance.rates.rest import blp as rates_blp
    from smbfinance.reconciliation.rest import blp as reconciliation_blp
    from smbfinance.tenant_deletion.rest import blp as tenant_deletion_blp
    from smbfinance.transactions.rest import blp as transactions_blp
    from smbfinance.webhooks.rest import blp as webhooks_blp

    for blueprint in (auth_blp, contacts_blp, invoices_blp, rates_blp, transactions_blp,
                      categorisation_blp, reconciliation_blp, audit_blp, api_keys_blp,
                      health_blp, cashflow_blp, events_blp, webhooks_blp, integrations_blp,
                      gdpr_blp, tenant_deletion_blp):
        api.register_blueprint(blueprint)


_API_DESCRIPTION = (
    "Cash-flow API for small businesses. JSON, snake_case, ISO dates, money as "
    '{"amount": "123.45", "currency": "EUR"}. Errors are application/problem+json '
    "(RFC 9457). Authenticate with `Authorization: Bearer <access token>` from "
    "/api/v1/auth/login."
)
