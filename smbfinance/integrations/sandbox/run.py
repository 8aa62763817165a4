"""Start both simulators on loopback with the demo companies connected, on the wall clock
(or a fixed port pair), for `make run` and for trying the adapters by hand:

    python -m smbfinance.integrations.sandbox.run [--ponto-port 8701] [--yuki-port 8702]
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from dataclasses import dataclass

from smbfinance.integrations.sandbox.clock import Clock, SystemClock
from smbfinance.integrations.sandbox.ponto import PontoSimulator
from smbfinance.integrations.sandbox.server import LoopbackServer
from smbfinance.integrations.sandbox.yuki import YukiSimulator, access_key_for


@dataclass
class Sandbox:
    ponto: PontoSimulator
    yuki: YukiSimulator
    servers: tuple[LoopbackServer, LoopbackServer]

    def stop(self) -> None:
        self.ponto.stop_waiting()
        self.yuki.stop_waiting()
        for server in self.servers:
            server.stop()

    def describe(self) -> list[str]:
        return [
            f"Ponto Connect simulator: {self.ponto.api_url}  (authorize: "
            f"{self.ponto.authorization_url}, client {self.ponto.client_id})",
            f"Yuki simulator: {self.yuki.service_url}  (WSDL: {self.yuki.wsdl_url})",
            *(f"  Yuki access key for {key}: {access_key_for(key)}"
              for key in self.yuki.companies),
        ]


def start(*, clock: Clock | None = None, ponto_port: int = 0, yuki_port: int = 0) -> Sandbox:
    clock = clock or SystemClock()
    ponto, yuki = PontoSimulator(clock=clock), YukiSimulator(clock=clock)
    ponto_server = ponto.serve(port=ponto_port).start()
    yuki_server = yuki.serve(port=yuki_port).start()
    for company in ponto.companies:
        ponto.connect(company)
    return Sandbox(ponto, yuki, (ponto_server, yuki_server))


def main(argv: list[str] | None = None, *, wait: Callable[[], object] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ponto-port", type=int, default=0)
    parser.add_argument("--yuki-port", type=int, default=0)
    args = parser.parse_args(argv)
    sandbox = start(ponto_port=args.ponto_port, yuki_port=args.yuki_port)
    print("\n".join(sandbox.describe()), flush=True)
    try:
        (wait or threading.Event().wait)()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
