"""`make run`'s engine, end to end: a fresh data directory, no DATABASE_URL or REDIS_URL,
the stack comes up, the demo login works, the Ponto and Yuki simulators run as children and
the demo company's integrations sync bank transactions and invoices from them over
loopback HTTP, Ctrl-C stops everything (the simulators too)."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from smbfinance.devstack.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]


def _reader(stream, lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)
    lines.put("")


def _wait_for(lines: queue.Queue[str], marker: str, seen: list[str], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            return False
        if line == "":
            return False
        seen.append(line)
        if marker in line:
            return True
    return False


def _get_json(url: str, token: str) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _until(check: Callable[[], Any], seconds: float) -> Any:
    """Poll a running stack (another process: nothing to wait on but its answers)."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(1)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def _post_json(url: str, body: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_dev_stack_starts_serves_demo_login_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    # given a machine with no database or Redis configured
    env = {k: v for k, v in os.environ.items() if k not in (
        "DATABASE_URL", "MIGRATION_DATABASE_URL", "DATABASE_ADMIN_URL", "REDIS_URL",
        "SECRET_KEY", "JWT_SECRET_KEY", "SMBFINANCE_ENV")}
    env["SMBFINANCE_DATA_DIR"] = str(tmp_path / "dev")
    port = free_port()
    # when the dev stack starts
    process = subprocess.Popen(
        [sys.executable, "-m", "smbfinance.cli", "dev", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True).start()
    seen: list[str] = []
    try:
        ready = _wait_for(lines, "SMB Finance OS is running", seen, seconds=150)
        assert ready, "".join(seen[-40:])
        assert _wait_for(lines, "Ctrl-C stops everything", seen, seconds=10)
        # then the printed demo login works against the printed API
        body = _post_json(f"http://127.0.0.1:{port}/api/v1/auth/login",
                          {"email": "demo@smbfinance.local", "password": "demo-password-123"})
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/me",
            headers={"Authorization": f"Bearer {body['access_token']}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            me = json.loads(response.read())
        assert me["tenant"]["legal_name"] == "Demo Bakery BV"
        # and the simulators were started and announced
        banner = "".join(seen)
        ponto_api = re.search(r"Ponto sim\s+(\S+)", banner).group(1)
        yuki_service = re.search(r"Yuki sim\s+(\S+)", banner).group(1)
        assert _answers(ponto_api) and _answers(yuki_service + "?WSDL")
        # and the demo company's Ponto and Yuki integrations sync from them within a minute
        token = str(body["access_token"])
        api = f"http://127.0.0.1:{port}/api/v1"

        def synced() -> list[dict[str, Any]]:
            rows = _get_json(f"{api}/integrations", token)["data"]
            done = [i for i in rows if i["synchronized_at"]]
            return done if len(done) == 2 else []

        integrations = _until(synced, seconds=120)
        assert integrations, (_get_json(f"{api}/integrations", token), "".join(seen[-40:]))
        assert sorted(i["provider"] for i in integrations) == ["ponto", "yuki"]
        assert all(i["status"] == "connected" and i["health"] == "ok" for i in integrations)
        transactions = _get_json(f"{api}/transactions?limit=100", token)["data"]
        assert any(t["source"] == "ponto" for t in transactions)
        yuki = next(i for i in integrations if i["provider"] == "yuki")
        logs = _get_json(f"{api}/integrations/{yuki['id']}/sync-logs", token)["data"]
        assert any(log["status"] == "success" and log["counts"].get("invoices_created", 0) > 0
                   for log in logs), logs
        newest = _get_json(f"{api}/invoices?limit=1", token)["data"][0]
        assert _get_json(f"{api}/invoices/{newest['id']}", token)["source"] == "yuki"
        # and Ctrl-C stops the whole stack cleanly
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        assert _wait_for(lines, "stopped.", seen, seconds=10), "".join(seen[-20:])
        assert not _answers(ponto_api) and not _answers(yuki_service + "?WSDL")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
