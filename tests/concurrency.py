"""Calls that really collide: each in a thread of its own, on its own
database connection, released together by a barrier."""

import threading
from collections import Counter
from collections.abc import Callable

from django.db import connections


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
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    return results


def outcomes(results: list[object]) -> Counter:
    return Counter(type(r).__name__ for r in results)
