"""`make run` with live integrations: the Ponto and Yuki simulators as a supervised child
process on loopback, the API/worker/beat configured to use them, and the demo company
connected to both the way a user would connect it (ADR 0033):

- Ponto through the real OAuth2 code + PKCE flow: our authorize step, the "browser" at the
  simulator's consent page (which consents at once for the demo company), our callback
  step exchanging the code. Nothing is written into the database by hand.
- Yuki through the connect service with the demo company's access key (checked by
  `Authenticate` + `Administrations` at the simulator).

Both ask for their first sync at once; the beat's one-minute tick takes over from there.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests
from sqlalchemy.orm import Session

from smbfinance.auth.permissions import Actor
from smbfinance.integrations import connect_service, connectors, yuki_connect_service
from smbfinance.integrations.sandbox.yuki import access_key_for
from smbfinance.integrations.secrets import SecretBox
from smbfinance.tenancy import tenant_scope

DEMO_COMPANY = "bakery"  # the simulators' company the demo tenant (Demo Bakery BV) links to
SANDBOX_CLIENT_ID = "sandbox-client-id"  # the simulator's defaults (sandbox/ponto.py)
SANDBOX_CLIENT_SECRET = "sandbox-client-secret"
SWITCH = "SMBFINANCE_SIMULATORS"  # "off": `make run` leaves PONTO_*/YUKI_* alone


@dataclass(frozen=True)
class Simulators:
    ponto_port: int
    yuki_port: int
    host: str = "127.0.0.1"

    @property
    def ponto_api(self) -> str:
        return f"http://{self.host}:{self.ponto_port}/ponto-connect"

    @property
    def yuki_service(self) -> str:
        return f"http://{self.host}:{self.yuki_port}/ws/AccountingInfo.asmx"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "smbfinance.integrations.sandbox.run",
                "--ponto-port", str(self.ponto_port), "--yuki-port", str(self.yuki_port)]

    def env(self, *, api_base: str) -> dict[str, str]:
        """What points the adapters (API, worker, beat) at the simulators."""
        return {
            "PONTO_CLIENT_ID": SANDBOX_CLIENT_ID,
            "PONTO_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
            "PONTO_API_URL": self.ponto_api,
            "PONTO_AUTHORIZATION_URL": f"http://{self.host}:{self.ponto_port}/oauth2/auth",
            # Where the simulator sends the browser back with code and state; a front end
            # would take them to the callback route with the user's token.
            "PONTO_REDIRECT_URI": f"{api_base}/api/v1/integrations/ponto/callback",
            "PONTO_WEBHOOK_ISSUER": "https://api.ibanity.com/ponto-connect",
            "YUKI_SERVICE_URL": self.yuki_service,
        }


def wanted(environ: Mapping[str, str]) -> bool:
    """Off when asked, or when the developer points the adapters somewhere themselves."""
    if environ.get(SWITCH, "").lower() in ("0", "off", "false", "no"):
        return False
    return not any(environ.get(key) for key in (
        "PONTO_CLIENT_ID", "PONTO_API_URL", "YUKI_SERVICE_URL"))


def start(simulators: Simulators, *, root: Path, env: Mapping[str, str],
          ) -> subprocess.Popen[bytes]:
    return subprocess.Popen(simulators.command(), cwd=root, env=dict(env))  # noqa: S603


def wait_ready(simulators: Simulators, process: subprocess.Popen[bytes], *,
               seconds: float = 30) -> bool:
    """Both simulators answer over HTTP (Ponto's API root, Yuki's WSDL)."""
    deadline = time.monotonic() + seconds
    pending = [simulators.ponto_api, simulators.yuki_service + "?WSDL"]
    while pending and time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(pending[0], timeout=2) as answer:  # noqa: S310 - loopback
                if answer.status == 200:
                    pending.pop(0)
                    continue
        except OSError:
            pass
        time.sleep(0.2)
    return not pending


def _consent_at_ponto(authorization_url: str) -> tuple[str, str]:
    """The user's browser at the simulator's consent page: it consents for the demo
    company and redirects back with code and state (we read them, not follow them)."""
    answer = requests.get(authorization_url + f"&company={DEMO_COMPANY}",
                          allow_redirects=False, timeout=10)
    if answer.status_code not in (302, 303) or "Location" not in answer.headers:
        raise RuntimeError(f"the Ponto simulator answered {answer.status_code}, not a redirect")
    back = parse_qs(urlparse(answer.headers["Location"]).query)
    return back["code"][0], back["state"][0]


def connect_demo(*, session: Session, owner: Actor, config: Mapping[str, Any], redis: Any,
                 enqueue: Callable[..., None]) -> tuple[uuid.UUID, uuid.UUID]:
    """Connect (or reconnect, on a later `make run`) the demo company to both simulators;
    each connection asks for its first sync through `enqueue`."""
    box = SecretBox.from_config(config["INTEGRATION_ENCRYPTION_KEYS"])
    ponto_settings = connectors.ponto_settings(config)
    with tenant_scope(session, owner.tenant_id):
        started = connect_service.start_ponto_connect(actor=owner, settings=ponto_settings,
                                                      redis=redis, box=box)
        code, state = _consent_at_ponto(started.authorization_url)
        bank = connect_service.finish_ponto_connect(
            session=session, actor=owner, settings=ponto_settings, redis=redis, box=box,
            code=code, state=state, enqueue=enqueue)
        books = yuki_connect_service.connect_yuki(
            session=session, actor=owner, settings=connectors.yuki_settings(config), box=box,
            access_key=access_key_for(DEMO_COMPANY), enqueue=enqueue)
        return bank.id, books.id

