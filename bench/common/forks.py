"""Worker processes that start together: each forked (its own interpreter
state, no shared GIL, as gunicorn or Celery workers), released by one barrier,
each reporting a dict on a queue (``{"error": traceback}`` when it failed)."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable


def run_together(
    processes: int, child: Callable, args_of: Callable[[int], tuple], *, timeout: float, what: str
):
    """Fork ``processes`` children running ``child(*args_of(i), barrier, results)``;
    their reports, or RuntimeError with the first child's traceback. Close the
    parent's database connections first: children must open their own."""
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    children = [
        ctx.Process(target=child, args=(*args_of(i), barrier, results), daemon=True) for i in range(processes)
    ]
    for process in children:
        process.start()
    try:
        reports = [results.get(timeout=timeout) for _ in children]
    finally:
        for process in children:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    errors = [r["error"] for r in reports if "error" in r]
    if errors:
        raise RuntimeError(f"{what} failed:\n{errors[0]}")
    return reports
