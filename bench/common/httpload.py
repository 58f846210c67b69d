"""A Python load generator for multi-step HTTP flows on loopback: N clients,
each one thread with one ``http.client`` connection (reopened whenever the
server closes it, as gunicorn's sync worker does after every response), each
running iterations (one or more requests, each a named step) until the
deadline. An iteration started before the deadline runs to its end, so a flow
is never left half-way. Latency per request = request sent to body read,
connect included. The generator is itself CPU-bound: compare runs made with it
against each other, not with wrk's figures."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.common.infra import HOST
from bench.common.stats import percentiles_ms


class StepFailedError(Exception):
    """A step answered another status than expected (or never answered): the
    iteration ends there and counts as failed."""


class Client:
    """One connection of a load run; ``call`` times one request as a step."""

    def __init__(self, port: int, headers: dict[str, str]):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)
        self.headers = {"Accept": "application/json", **headers}
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter] = defaultdict(Counter)
        self.errors: Counter = Counter()
        self.sample: dict[str, str] = {}  # per step, the first unexpected answer

    def call(self, step: str, method: str, path: str, body: dict | None = None, expect: int = 200) -> bytes:
        data = None if body is None else json.dumps(body).encode()
        headers = self.headers if data is None else {**self.headers, "Content-Type": "application/json"}
        t0 = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.errors[f"{step}: {'timeout' if isinstance(exc, TimeoutError) else type(exc).__name__}"] += 1
            self.conn.close()
            raise StepFailedError(step) from exc
        self.latencies[step].append(time.perf_counter() - t0)
        self.statuses[step][str(response.status)] += 1
        if response.status != expect:
            self.sample.setdefault(step, f"{response.status} {payload[:300]!r}")
            raise StepFailedError(step)
        return payload


@dataclass
class LoadResult:
    clients: int
    elapsed_s: float
    iterations: int  # completed without a failed step
    failed: int
    steps: dict[str, dict] = field(default_factory=dict)  # per step: count, per_s, p50/p95/p99/max, statuses
    errors: dict[str, int] = field(default_factory=dict)
    samples: dict[str, str] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)  # filled by a caller that measured it

    @property
    def per_s(self) -> float:
        return round(self.iterations / self.elapsed_s, 2) if self.elapsed_s else 0.0

    def as_dict(self) -> dict:
        return {
            "clients": self.clients,
            "elapsed_s": round(self.elapsed_s, 3),
            "iterations": self.iterations,
            "iterations_per_s": self.per_s,
            "failed_iterations": self.failed,
            "steps": self.steps,
            "socket_errors": self.errors,
            "unexpected_answers": self.samples,
            "cpu_s": self.cpu_s,
        }


def run_clients(
    port: int,
    *,
    clients: int,
    duration: float,
    iteration_of: Callable[[int], Callable[[Client], None]],
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """``clients`` threads, client ``i`` running ``iteration_of(i)(client)``
    until ``duration`` seconds have passed; all start together."""
    pool = [Client(port, headers or {}) for _ in range(clients)]
    done, failed = [0] * clients, [0] * clients
    barrier = threading.Barrier(clients + 1)
    deadline = [0.0]

    def run(i: int) -> None:
        client, iteration = pool[i], iteration_of(i)
        barrier.wait()
        try:
            while time.perf_counter() < deadline[0]:
                try:
                    iteration(client)
                    done[i] += 1
                except StepFailedError:
                    failed[i] += 1
        finally:
            client.conn.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + duration
    barrier.wait()
    for thread in threads:
        thread.join(timeout=duration + 120)
    elapsed = time.perf_counter() - began
    if any(thread.is_alive() for thread in threads):
        raise RuntimeError("load generator: a client did not finish in time")
    steps: dict[str, dict] = {}
    for name in dict.fromkeys(step for client in pool for step in client.latencies):
        latencies = [x for client in pool for x in client.latencies[name]]
        statuses = sum((client.statuses[name] for client in pool), Counter())
        steps[name] = {
            "count": len(latencies),
            "per_s": round(len(latencies) / elapsed, 2),
            **percentiles_ms(latencies),
            "statuses": dict(sorted(statuses.items())),
        }
    return LoadResult(
        clients=clients,
        elapsed_s=elapsed,
        iterations=sum(done),
        failed=sum(failed),
        steps=steps,
        errors=dict(sum((client.errors for client in pool), Counter())),
        samples={k: v for client in pool for k, v in client.sample.items()},
    )
