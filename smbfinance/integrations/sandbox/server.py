"""Run a WSGI simulator on loopback in a background thread (port 0: the OS picks a free
port), so tests and `make run` talk to it over real HTTP."""

from __future__ import annotations

import ssl
import threading
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    # The request line carries OAuth codes and tokens in query strings; keep it out of logs.
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class LoopbackServer:
    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        """`ssl_context` serves HTTPS (e.g. requiring client certificates, as Ponto's
        production API does for mutual TLS)."""
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=_QuietHandler,
            ssl_context=ssl_context)
        self.scheme = "https" if ssl_context else "http"
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name=f"sandbox-{type(app).__name__}")
        self.host = host
        self.port = self._server.server_port

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
