"""What both sides of the benchmark import: the bench process (which starts runs
and sends chains) and the Celery worker (``bench.workflows.worker_app``).

* ``bench_three_steps``: a WorkflowDefinition with three AutoSteps a -> b -> c ->
  end, each returning a one-key state update and doing no I/O. Defining the class
  registers it (workflows.registry walks the subclasses), so both processes know it.
* ``bench.step_a`` / ``bench.step_b`` / ``bench.step_c``: the baseline chain.
  a and b do nothing; c records completion with ONE Redis write (an RPUSH of
  "sent_at done_at" onto a list; the list's length is the completed-chain count),
  since the project runs without a Celery result backend.
"""

from __future__ import annotations

import os
import time

from celery import shared_task

from workflows.contract import AutoStep, WorkflowDefinition

DEFINITION = "bench_three_steps"
# The Redis the baseline's last step writes to (the host's shared Redis, db 7,
# also the bench's CACHE_URL; the keys below do not clash with Django's cache keys).
RECORD_REDIS_URL = "redis://127.0.0.1:6379/7"
KEY_PREFIX = "bench:workflows:chain:"


def _step_a(state, ctx):
    return {"a": 1}


def _step_b(state, ctx):
    return {"b": 2}


def _step_c(state, ctx):
    return {"c": 3}


class BenchThreeSteps(WorkflowDefinition):
    name = DEFINITION
    version = 1
    description = "Benchmark only: three automatic steps a -> b -> c, each a tiny state update, no I/O."
    input_schema = {"type": "object"}
    start = "a"
    steps = (
        AutoStep("a", _step_a, next="b"),
        AutoStep("b", _step_b, next="c"),
        AutoStep("c", _step_c, next=None),
    )


_redis = None
_redis_pid = None


def _client():
    """One Redis client per process (the prefork children get their own)."""
    global _redis, _redis_pid
    if _redis is None or _redis_pid != os.getpid():
        import redis

        _redis = redis.Redis.from_url(RECORD_REDIS_URL)
        _redis_pid = os.getpid()
    return _redis


@shared_task(name="bench.step_a")
def step_a() -> None:
    return None


@shared_task(name="bench.step_b")
def step_b() -> None:
    return None


@shared_task(name="bench.step_c")
def step_c(key: str, sent_at: float) -> None:
    """The chain's end: one Redis write (RPUSH "sent_at done_at")."""
    _client().rpush(key, f"{sent_at!r} {time.time()!r}")


__all__ = ["DEFINITION", "KEY_PREFIX", "RECORD_REDIS_URL", "BenchThreeSteps", "step_a", "step_b", "step_c"]
