"""`make run`: the whole stack in one command, stopped by one Ctrl-C.

Starts embedded PostgreSQL and Redis when DATABASE_URL / REDIS_URL are unset, prepares
roles and migrations, seeds the demo company, starts the Ponto and Yuki simulators on
loopback and connects the demo company to both (devstack/integrations.py), then runs
gunicorn (API), a Celery worker and Celery beat as child processes, and stops all of it
together.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import FrameType

from smbfinance.devstack import integrations as live
from smbfinance.devstack.embedded import free_port
from smbfinance.devstack.prepare import Infrastructure, migrate, provide

DEV_DATABASE = "smbfinance_dev"


def say(message: str) -> None:
    print(message, flush=True)


def dev_secret(data_dir: Path) -> str:
    """A random secret kept under .data so tokens survive a restart of the dev stack."""
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def run_dev(*, root: Path, port: int, host: str = "127.0.0.1") -> int:
    data_dir = Path(os.environ.get("SMBFINANCE_DATA_DIR", root / ".data" / "dev"))
    say("SMB Finance OS — starting the development stack (Ctrl-C stops everything)")
    infra = provide(
        data_dir=data_dir, database=DEV_DATABASE,
        database_url=os.environ.get("DATABASE_URL"),
        migration_url=os.environ.get("MIGRATION_DATABASE_URL"),
        admin_url=os.environ.get("DATABASE_ADMIN_URL"),
        redis_url=os.environ.get("REDIS_URL"), say=say,
    )
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        env = _child_env(infra, secret=os.environ.get("SECRET_KEY") or dev_secret(data_dir))
        os.environ.update(env)
        migrate(env_name="development", infrastructure=infra, say=say)
        login = _seed(say)
        base = f"http://{host}:{port}"
        simulators = None
        if live.wanted(os.environ):
            simulators = _start_simulators(root, env, base, children)
            if simulators is None:
                return 1
            os.environ.update(env)
            _connect_demo(say)
        python = sys.executable
        specs = [
            ("api", [python, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers", "2",
                     "--access-logfile", "-", "--graceful-timeout", "5", "wsgi:app"]),
            ("worker", [python, "-m", "celery", "-A", "celery_worker.celery", "worker",
                        "--loglevel=INFO", "--concurrency=2", "--without-gossip",
                        "--without-mingle"]),
            ("beat", [python, "-m", "celery", "-A", "celery_worker.celery", "beat",
                      "--loglevel=INFO", "--schedule", str(data_dir / "celerybeat-schedule")]),
        ]
        for name, command in specs:
            say(f"• starting {name} …")
            children.append((name, subprocess.Popen(command, cwd=root, env=env)))  # noqa: S603
        if not _wait_ready(f"{base}/health/ready", children):
            say("✗ the API did not become ready: see the log lines above")
            return 1
        _banner(base, login, simulators)
        return _supervise(children)
    finally:
        _stop(children)
        infra.stop()
        say("stopped.")


def _child_env(infra: Infrastructure, *, secret: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(infra.env())
    env.setdefault("SMBFINANCE_ENV", "development")
    env["SECRET_KEY"] = secret
    env.setdefault("JWT_SECRET_KEY", secret)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _seed(say_: object) -> object:
    from smbfinance import create_app
    from smbfinance.devstack.seed import seed_demo
    from smbfinance.extensions import db
    from smbfinance.web.auth import token_settings

    app = create_app("development")
    with app.app_context():
        login = seed_demo(session=db.session, settings=token_settings(app))
        db.session.remove()
        db.engine.dispose()
    say("• demo company " + ("created" if login.created else "already present"))
    return login


def _start_simulators(root: Path, env: dict[str, str], base: str,
                      children: list[tuple[str, subprocess.Popen[bytes]]],
                      ) -> live.Simulators | None:
    """The simulators as a supervised child; the adapters' settings in `env` point at them."""
    simulators = live.Simulators(ponto_port=free_port(), yuki_port=free_port())
    say("• starting the Ponto and Yuki simulators …")
    process = live.start(simulators, root=root, env=env)
    children.append(("simulators", process))
    if not live.wait_ready(simulators, process):
        say("✗ the simulators did not start: see the log lines above "
            f"(or set {live.SWITCH}=off to run without them)")
        return None
    env.update(simulators.env(api_base=base))
    return simulators


def _connect_demo(say_: object) -> None:
    from smbfinance import create_app
    from smbfinance.devstack.seed import demo_owner
    from smbfinance.extensions import db
    from smbfinance.integrations.tasks import enqueue_sync
    from smbfinance.platform import redis_client
    from smbfinance.web.auth import token_settings

    app = create_app("development")
    with app.app_context():
        owner = demo_owner(session=db.session, settings=token_settings(app))
        live.connect_demo(session=db.session, owner=owner, config=app.config,
                          redis=redis_client(app), enqueue=enqueue_sync)
        db.session.remove()
        db.engine.dispose()
    say("• demo company connected to the simulators: Ponto (OAuth code + PKCE) and Yuki "
        "(access key); first syncs queued")


def _wait_ready(url: str, children: list[tuple[str, subprocess.Popen[bytes]]]) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(process.poll() is not None for _name, process in children):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310  - loopback
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.25)
    return False


def _banner(base: str, login: object, simulators: live.Simulators | None = None) -> None:
    email = getattr(login, "email", "")
    password = getattr(login, "password", "")
    say("")
    say("✓ SMB Finance OS is running")
    say(f"  API          {base}/api/v1")
    say(f"  API docs     {base}/api/v1/docs   (OpenAPI: {base}/api/v1/openapi.json)")
    say(f"  GraphiQL     {base}/graphql")
    say(f"  Health       {base}/health/ready")
    say(f"  Demo login   {email} / {password}")
    say(f"  Try it       curl -s {base}/api/v1/auth/login -H 'Content-Type: application/json' "
        f"-d '{{\"email\": \"{email}\", \"password\": \"{password}\"}}'")
    if simulators is not None:
        say(f"  Ponto sim    {simulators.ponto_api}   (bank: Bakkerij Peeters' account)")
        say(f"  Yuki sim     {simulators.yuki_service}   (its administration)")
        say("  Live data    the demo company is connected to both simulators; its first sync "
            "runs within a minute, then the tick every minute does what each provider allows")
        say("  Watch it     TOKEN=$(curl -s " + base + "/api/v1/auth/login -H 'Content-Type: "
            f"application/json' -d '{{\"email\": \"{email}\", \"password\": \"{password}\"}}'"
            " | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')")
        for path, what in (("integrations", "health, synchronized_at"),
                           ("transactions", "bank transactions from Ponto"),
                           ("invoices", "newest first: Yuki's (detail: source \"yuki\")"),
                           ("bank-accounts", "balances with synchronized_at")):
            say(f"               curl -s -H \"Authorization: Bearer $TOKEN\" "
                f"{base}/api/v1/{path}   # {what}")
    say("  Ctrl-C stops everything; the next `make run` reuses the data in .data/dev.")
    say("")


def _supervise(children: list[tuple[str, subprocess.Popen[bytes]]]) -> int:
    stopping = {"flag": False}

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping["flag"] = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    while not stopping["flag"]:
        for name, process in children:
            if process.poll() is not None:
                say(f"✗ {name} exited with code {process.returncode}; stopping the stack. "
                    "Its log is above; fix the cause and run `make run` again.")
                return 1
        time.sleep(0.5)
    say("\nstopping …")
    return 0


def _stop(children: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    for _name, process in children:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for _name, process in children:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
