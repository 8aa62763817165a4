"""A small keep-alive HTTP load generator (several processes, loopback only, bounded in
time). Both routes of a comparison are driven by the same client, so its own cost
cancels out of the ratio."""

from __future__ import annotations

import http.client
import multiprocessing
import time


def _worker(port: int, path: str, headers: dict[str, str], seconds: float,
            out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    done = errors = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status == 200:
            done += 1
        else:
            errors += 1
    connection.close()
    out.put((done, errors))


def requests_per_second(port: int, path: str, headers: dict[str, str], *,
                        seconds: float = 8.0, clients: int = 2) -> float:
    out: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    workers = [multiprocessing.Process(target=_worker, args=(port, path, headers, seconds, out))
               for _ in range(clients)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    results = [out.get(timeout=seconds + 60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    elapsed = time.perf_counter() - started
    done = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    if errors:
        raise RuntimeError(f"{errors} requests to {path} failed")
    return done / elapsed
