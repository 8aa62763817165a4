"""`smbfinance keys rotate`: every sealed value of every company (integration credentials,
webhook signing secrets current and previous, kept responses of idempotent creates)
re-sealed under the newest key through the owner's connection, with progress; afterwards
nothing in the database needs the old key, so it can be removed; a re-run changes nothing;
a run interrupted mid-way is finished by the next; a value no configured key opens is
reported, not lost. `keys generate` prints a key.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from config.settings import DEV_INTEGRATION_KEYS
from smbfinance import cli
from smbfinance.extensions import db
from smbfinance.integrations import key_rotation_service as rotation
from smbfinance.integrations import service
from smbfinance.integrations.secrets import SecretBox, SecretError, generate_key
from smbfinance.tenancy import tenant_scope
from smbfinance.web import idempotency
from tests.conftest import register_tenant
from tests.integration import sync_fixtures as fx

NEW = f"new:{generate_key()}"
GONE = f"gone:{generate_key()}"
COMPANIES = ("Rotating A", "Rotating B", "Lost Key BV")
SEALED_SQL = " UNION ALL ".join(
    f"SELECT '{c.label}', tenant_id, {c.row_key}::text, {c.sealed_text} FROM {c.table} "
    f"WHERE {c.condition} AND {c.column} IS NOT NULL" for c in rotation.SEALED_COLUMNS)


@pytest.fixture
def owner_engine(app):
    engine = create_engine(app.config["MIGRATION_DATABASE_URL"])
    yield engine
    # Other tests in this process read their rows with the development key: put every
    # value back under it (and drop what only a removed key opened).
    rotation.rotate_keys(engine=engine, box=SecretBox.from_config(
        f"{DEV_INTEGRATION_KEYS},{NEW}"))
    with engine.begin() as conn:
        conn.execute(text("UPDATE integrations SET credentials = NULL, "
                          "credentials_key_id = NULL WHERE credentials LIKE 'v1.gone.%'"))
        # and keep this test's committed integrations out of other tests' ticks
        conn.execute(text("UPDATE integrations SET status = 'disconnected', "
                          "next_sync_at = NULL WHERE tenant_id IN (SELECT id FROM tenants "
                          "WHERE legal_name = ANY(:names))"), {"names": list(COMPANIES)})
    engine.dispose()


@pytest.fixture
def box(app):
    return SecretBox.from_config(app.config["INTEGRATION_ENCRYPTION_KEYS"])


@pytest.fixture
def committed(app):
    """A session whose writes are committed (the owner's connection must see them)."""
    with app.app_context():
        yield db.session
        db.session.remove()


@pytest.fixture
def sealed_everywhere(app, committed, box):
    """Two companies, each with a Yuki integration and a webhook endpoint whose secret was
    rotated (so a previous secret is sealed too), all under the development key."""
    client = app.test_client()
    tenants = (register_tenant(client, "Rotating A"), register_tenant(client, "Rotating B"))
    for tenant in tenants:
        fx.connect_yuki(committed, tenant, box)
        hook = client.post("/api/v1/webhook-endpoints", headers=tenant.headers,
                           json={"url": "http://127.0.0.1:9/hooks",
                                 "event_types": ["invoice.paid"]}).get_json()
        assert client.post(f"/api/v1/webhook-endpoints/{hook['id']}/rotate-secret",
                           headers=tenant.headers, json={"overlap_seconds": 3600}
                           ).status_code == 200
    return tenants


def _sealed(engine):
    with engine.connect() as conn:
        return conn.execute(text(SEALED_SQL)).all()


def _env(app, keys):
    return {"SMBFINANCE_ENV": "testing", "INTEGRATION_ENCRYPTION_KEYS": keys,
            "MIGRATION_DATABASE_URL": app.config["MIGRATION_DATABASE_URL"]}


def _context(label, tenant_id, row_id):
    column = next(c for c in rotation.SEALED_COLUMNS if c.label == label)
    return column.context(tenant_id, row_id)


def test_rotate_reseals_every_company_so_the_old_key_can_be_removed(
        app, owner_engine, sealed_everywhere, committed):
    # given values of two companies sealed under the development key
    before = _sealed(owner_engine)
    companies = {tenant.tenant_id for tenant in sealed_everywhere}
    mine = [(label, value) for label, tenant_id, _id, value in before if tenant_id in companies]
    assert len(mine) == 6 and all(value.startswith("v1.dev.") for _label, value in mine)
    # when the operator puts a new key first and rotates
    result = CliRunner().invoke(cli.main, ["keys", "rotate", "--batch-size", "2"],
                                env=_env(app, f"{NEW},{DEV_INTEGRATION_KEYS}"))
    # then every value was re-sealed, with progress shown
    assert result.exit_code == 0, result.output
    total = len([v for *_r, v in before if not v.startswith("v1.new.")])
    assert f"{total}/{total}" in result.output
    assert re.search(rf"✓ {total} re-sealed under 'new'", result.output), result.output
    # and no stored value needs the old key: the new key alone opens every one
    only_new = SecretBox.from_config(NEW)
    after = _sealed(owner_engine)
    assert len(after) == len(before)
    for label, tenant_id, row_id, value in after:
        assert value.startswith("v1.new.")
        only_new.decrypt(value, context=_context(label, tenant_id, row_id))
        with pytest.raises(SecretError):
            SecretBox.from_config(DEV_INTEGRATION_KEYS).decrypt(
                value, context=_context(label, tenant_id, row_id))
    with owner_engine.connect() as conn:
        assert set(conn.execute(text("SELECT credentials_key_id FROM integrations "
                                     "WHERE credentials IS NOT NULL")).scalars()) == {"new"}
    # and the application with only the new key reads the credentials
    tenant = sealed_everywhere[0]
    with tenant_scope(committed, tenant.tenant_id):
        (integration,) = service.list_integrations(session=committed,
                                                   actor=fx.owner(tenant)).items
        assert service.read_credentials(integration, box=only_new)["access_key"]
    # and a second run finds nothing to do
    again = CliRunner().invoke(cli.main, ["keys", "rotate"],
                               env=_env(app, f"{NEW},{DEV_INTEGRATION_KEYS}"))
    assert again.exit_code == 0 and "✓ 0 re-sealed" in again.output


def test_a_run_interrupted_mid_way_is_finished_by_the_next(app, owner_engine,
                                                           sealed_everywhere):
    box = SecretBox.from_config(f"{NEW},{DEV_INTEGRATION_KEYS}")
    stale = sum(rotation.count_stale(engine=owner_engine, box=box).values())

    def crash(done, _total):
        if done >= 1:
            raise KeyboardInterrupt  # the operator's Ctrl-C after the first batch

    # given a run stopped after its first batch of one
    with pytest.raises(KeyboardInterrupt):
        rotation.rotate_keys(engine=owner_engine, box=box, batch_size=1, progress=crash)
    assert sum(rotation.count_stale(engine=owner_engine, box=box).values()) == stale - 1
    # when it is run again, it finishes the rest and nothing is rotated twice
    report = rotation.rotate_keys(engine=owner_engine, box=box, batch_size=1)
    assert report.rotated == stale - 1 and not report.failed
    assert rotation.count_stale(engine=owner_engine, box=box) == {
        c.label: 0 for c in rotation.SEALED_COLUMNS}


def test_a_value_no_configured_key_opens_is_reported_and_left(app, owner_engine, committed):
    # given an integration sealed under a key that is no longer configured
    tenant = register_tenant(app.test_client(), "Lost Key BV")
    integration = fx.connect_yuki(committed, tenant, SecretBox.from_config(GONE))
    # when rotating with the keys that remain
    result = CliRunner().invoke(cli.main, ["keys", "rotate"],
                                env=_env(app, f"{NEW},{DEV_INTEGRATION_KEYS}"))
    # then the run says so and fails, the value is untouched
    assert result.exit_code == 1
    assert f"integrations.credentials {integration.id}" in result.output
    with owner_engine.connect() as conn:
        value = conn.execute(text("SELECT credentials FROM integrations WHERE id = :id"),
                             {"id": integration.id}).scalar_one()
    assert value.startswith("v1.gone.")


def test_kept_idempotent_responses_are_resealed_so_retries_replay_without_the_old_key(
        app, owner_engine, committed):
    # given a company's API key created with an Idempotency-Key, its response kept sealed
    # under the development key
    client = app.test_client()
    tenant = register_tenant(client, "Rotating A")
    headers = {**tenant.headers, "Idempotency-Key": "partner-key-1"}
    body = {"name": "Partner", "scopes": ["invoices:read"]}
    first = client.post("/api/v1/api-keys", headers=headers, json=body)
    assert first.status_code == 201, first.get_json()
    # when the operator puts a new key first and rotates
    result = CliRunner().invoke(cli.main, ["keys", "rotate"],
                                env=_env(app, f"{NEW},{DEV_INTEGRATION_KEYS}"))
    assert result.exit_code == 0, result.output
    assert "idempotency_keys.response_body" in result.output
    # then the kept response is sealed under the new key only, bound to its company and key
    with owner_engine.connect() as conn:
        sealed = conn.execute(text(
            "SELECT convert_from(response_body, 'UTF8') FROM idempotency_keys "
            "WHERE tenant_id = :t AND key = 'partner-key-1'"), {"t": tenant.tenant_id}
        ).scalar_one()
    context = idempotency._seal_context(tenant.tenant_id, "partner-key-1")
    assert context == _context("idempotency_keys.response_body", tenant.tenant_id,
                               "partner-key-1")
    assert sealed.startswith("v1.new.")
    with pytest.raises(SecretError):
        SecretBox.from_config(DEV_INTEGRATION_KEYS).decrypt(sealed, context=context)
    # and once the old key is removed, a retry still replays the same secret
    configured = app.config["INTEGRATION_ENCRYPTION_KEYS"]
    app.config["INTEGRATION_ENCRYPTION_KEYS"] = NEW
    try:
        again = client.post("/api/v1/api-keys", headers=headers, json=body)
    finally:
        app.config["INTEGRATION_ENCRYPTION_KEYS"] = configured
    assert again.status_code == 201, again.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["secret"] == first.get_json()["secret"]


def test_without_the_owner_connection_rotation_refuses(app):
    result = CliRunner().invoke(cli.main, ["keys", "rotate"], env={
        "SMBFINANCE_ENV": "testing", "MIGRATION_DATABASE_URL": ""})
    assert result.exit_code != 0 and "MIGRATION_DATABASE_URL" in result.output


def test_generate_prints_a_usable_key():
    result = CliRunner().invoke(cli.main, ["keys", "generate", "--id", "k2027a"])
    assert result.exit_code == 0
    line = result.stdout.strip().splitlines()[0]
    assert line.startswith("k2027a:") and SecretBox.from_config(line).primary.id == "k2027a"


def test_every_secret_box_seal_site_is_known():
    # A new column sealed with the SecretBox must join SEALED_COLUMNS (or be short-lived,
    # like the Redis values), else rotation would leave it on the old key.
    root = Path(rotation.__file__).resolve().parents[1]
    sites = {str(p.relative_to(root)) for p in root.rglob("*.py")
             if re.search(r"(box|ring)\.(encrypt|rotate)\(", p.read_text())}
    assert sites == {
        "integrations/service.py",          # integrations.credentials
        "integrations/connect_service.py",  # Redis: Ponto PKCE verifier, 10 min
        "integrations/yuki_service.py",     # Redis: Yuki session, 24 h
        "integrations/key_rotation_service.py",
        "webhooks/service.py",              # webhook_endpoints.secret / previous_secret
        "web/idempotency.py",               # idempotency_keys.response_body (sealed ones)
    }, sites
