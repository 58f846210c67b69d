"""Calls that really collide: each in a thread of its own, on its own
database connection, released together by a barrier."""

import fcntl
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connections

# Every thread of a burst holds a connection of its own to each database it
# touches (four in the split layout), and PostgreSQL's max_connections is shared
# by the pytest-xdist workers (and any other run on the machine): bursts take turns.
_BURST_LOCK = Path(tempfile.gettempdir()) / "erp-tests-connection-burst.lock"


@contextmanager
def _one_burst_at_a_time() -> Iterator[None]:
    with _BURST_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def burst(calls: list[Callable[[], object]]) -> list[object]:
    """Run every call at once, each in its own thread and connection; each
    call's result, or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    with _one_burst_at_a_time():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    return results


def outcomes(results: list[object]) -> Counter:
    return Counter(type(r).__name__ for r in results)
