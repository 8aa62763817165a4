"""`smbfinance import FILE --tenant ID`: the shell path to the same import service."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from smbfinance.devstack.prepare import Infrastructure
from tests.conftest import ROOT, make_app

SAMPLE = ROOT.parent / "shared" / "data" / "formats" / "coda" / "php-coda-parser__sample1.cod"


def _cli(infra: Infrastructure, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **infra.env(), "SMBFINANCE_ENV": "testing", "LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "smbfinance.cli", *args], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(not SAMPLE.exists(), reason="shared files missing")
def test_the_cli_imports_once_and_says_what_it_did(
    infrastructure: Infrastructure, tmp_path: Path
) -> None:
    # given a company that exists for real (committed through its own app)
    client = make_app(infrastructure).test_client()
    body = client.post("/api/v1/auth/register", json={
        "company_name": "Shell BV", "email": f"shell.{uuid.uuid4().hex[:8]}@example.com",
        "password": "correct horse battery"}).get_json()
    tenant_id = body["tenant"]["id"]
    # when the file is imported from the shell, twice
    first = _cli(infrastructure, "import", str(SAMPLE), "--tenant", tenant_id)
    second = _cli(infrastructure, "import", str(SAMPLE), "--tenant", tenant_id)
    # then the first run creates the four movements and the second nothing
    assert first.returncode == 0, first.stderr
    assert "coda: 4 read, 4 new, 0 already there" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "4 read, 0 new, 4 already there" in second.stdout


def test_an_unknown_tenant_is_a_clear_error(infrastructure: Infrastructure,
                                            tmp_path: Path) -> None:
    statement = tmp_path / "x.cod"
    statement.write_bytes(b"not a statement")
    result = _cli(infrastructure, "import", str(statement), "--tenant", str(uuid.uuid4()))
    assert result.returncode != 0
    assert "no tenant" in result.stderr
