"""`make run`'s engine, end to end: a fresh data directory, no DATABASE_URL or REDIS_URL,
the stack comes up, the demo login works, Ctrl-C stops everything."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

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
        assert _wait_for(lines, "Demo login", seen, seconds=10)
        # then the printed demo login works against the printed API
        body = _post_json(f"http://127.0.0.1:{port}/api/v1/auth/login",
                          {"email": "demo@smbfinance.local", "password": "demo-password-123"})
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/me",
            headers={"Authorization": f"Bearer {body['access_token']}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            me = json.loads(response.read())
        assert me["tenant"]["legal_name"] == "Demo Bakery BV"
        # and Ctrl-C stops the whole stack cleanly
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        assert _wait_for(lines, "stopped.", seen, seconds=10), "".join(seen[-20:])
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
