"""Where a run's time goes, measured in the bench process (no worker involved).

For ``n`` runs of bench_three_steps: ``run_start`` and then ``services.advance``
are called in-process, with ``workflows.services.send_advance`` replaced by a
counter (so nothing reaches the broker; how often the engine asks for it is
recorded). Every SQL statement is timed through ``connection.execute_wrapper``
and put in a category; COMMIT is timed by wrapping the connection's ``_commit``.
The connection is handled as the worker's is: Celery's Django fixup closes it
around every task unless ``CELERY_DB_REUSE_MAX`` is set, so without that setting
it is closed and reopened before each ``advance`` (the reconnect is timed on its
own either way). The Python time of the engine is what is left of ``advance``
after SQL and COMMIT.

A cProfile of the ``advance`` calls goes to bench/results/workflows.profile.txt.

Nothing in ``workflows/`` is changed: the patches live only for the duration of
``profile()`` and only in this process. Import after ``django.setup()``.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import re
import statistics
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from django.conf import settings
from django.db import connection

from bench.workflows import definitions
from workflows import services

CATEGORIES = (
    ("select_for_update", re.compile(r"^SELECT .* FOR UPDATE", re.S)),
    ("checkpoint_seq_lookup", re.compile(r'^SELECT .*"workflows_checkpoint".*ORDER BY', re.S)),
    ("savepoint", re.compile(r"^(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)")),
    ("insert_run", re.compile(r'^INSERT INTO "workflows_workflowrun"')),
    ("update_run", re.compile(r'^UPDATE "workflows_workflowrun"')),
    ("insert_checkpoint", re.compile(r'^INSERT INTO "workflows_checkpoint"')),
    ("insert_outbox", re.compile(r'^INSERT INTO "erp_outboxevent"')),
    ("insert_delivery", re.compile(r'^INSERT INTO "erp_delivery"')),
)


def classify(sql: str) -> str:
    for name, pattern in CATEGORIES:
        if pattern.search(sql):
            return name
    return "other: " + " ".join(sql.split()[:4])[:60]


class Recorder:
    """Per phase (start / advance): statement counts and summed seconds per category."""

    def __init__(self):
        self.phase = "start"
        self.count: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.seconds: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def add(self, category: str, seconds: float) -> None:
        self.count[self.phase][category] += 1
        self.seconds[self.phase][category] += seconds

    def wrapper(self, execute, sql, params, many, context):
        a = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.add(classify(sql), time.perf_counter() - a)

    @contextmanager
    def timed_commit(self):
        original = connection._commit

        def _commit():
            a = time.perf_counter()
            try:
                return original()
            finally:
                self.add("COMMIT", time.perf_counter() - a)

        connection._commit = _commit
        try:
            yield
        finally:
            del connection._commit  # back to the class's method


def _per_run(rec: Recorder, phase: str, n: int) -> dict[str, dict[str, float]]:
    return {
        cat: {
            "per_run": round(rec.count[phase][cat] / n, 2),
            "ms_per_run": round(rec.seconds[phase][cat] / n * 1000, 3),
        }
        for cat in sorted(rec.count[phase], key=lambda c: -rec.seconds[phase][c])
    }


def _start_runs(n: int) -> list:
    return [
        services.run_start(definition=definitions.DEFINITION, input={}, started_by=None).thread_id
        for _ in range(n)
    ]


def profile(n: int, profile_path: Path) -> dict:
    rec = Recorder()
    start_s: list[float] = []
    advance_s: list[float] = []
    connect_s: list[float] = []
    thread_ids = []
    reconnect_per_task = not getattr(settings, "CELERY_DB_REUSE_MAX", None)
    with (
        mock.patch.object(services, "send_advance") as delay,
        connection.execute_wrapper(rec.wrapper),
        rec.timed_commit(),
    ):
        connection.ensure_connection()
        for _ in range(n):
            a = time.perf_counter()
            run = services.run_start(definition=definitions.DEFINITION, input={}, started_by=None)
            start_s.append(time.perf_counter() - a)
            thread_ids.append(run.thread_id)
        delays_at_start = delay.call_count
        rec.phase = "advance"
        for thread_id in thread_ids:
            if reconnect_per_task:  # as Celery's Django fixup does around each task then
                connection.close()
                connection.ensure_connection()
            a = time.perf_counter()
            outcome = services.advance(thread_id)
            advance_s.append(time.perf_counter() - a)
            if outcome != "completed":
                raise RuntimeError(f"profile: run {thread_id} ended {outcome!r}")
        delays_total = delay.call_count

    # One extra advance_run of an already completed run: the engine's part of
    # what each redundant task costs (lock + COMMIT; plus a reconnect when the
    # worker closes connections per task).
    redundant_s: list[float] = []
    with mock.patch.object(services, "send_advance"):
        for thread_id in thread_ids[: min(n, 100)]:
            if reconnect_per_task:
                connection.close()
                connection.ensure_connection()
            a = time.perf_counter()
            services.advance(thread_id)
            redundant_s.append(time.perf_counter() - a)
        # cProfile on runs of their own (its overhead stays out of the timings above).
        profiler = cProfile.Profile()
        profiled = _start_runs(min(n, 100))
        profiler.enable()
        for thread_id in profiled:
            services.advance(thread_id)
        profiler.disable()
    # What opening a connection costs (Django connect + session setup).
    for _ in range(min(n, 50)):
        connection.close()
        a = time.perf_counter()
        connection.ensure_connection()
        connect_s.append(time.perf_counter() - a)

    adv_sql = sum(rec.seconds["advance"].values())
    start_sql = sum(rec.seconds["start"].values())
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream).strip_dirs().sort_stats("tottime")
    stats.print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    profile_path.parent.mkdir(parents=True, exist_ok=True)
    profile_path.write_text(
        f"cProfile of services.advance() over {len(profiled)} runs of {definitions.DEFINITION} "
        "(in-process, services.send_advance patched out)\n\n" + stream.getvalue()
    )
    med = statistics.median
    return {
        "runs": n,
        "celery_db_reuse_max": getattr(settings, "CELERY_DB_REUSE_MAX", None),
        "reconnect_before_each_advance": reconnect_per_task,
        "advance_run_delay_calls_per_run": {
            "by_run_start": round(delays_at_start / n, 2),
            "by_advance": round((delays_total - delays_at_start) / n, 2),
        },
        "run_start": {
            "ms_p50": round(med(start_s) * 1000, 3),
            "statements_per_run": round(sum(rec.count["start"].values()) / n, 2),
            "sql_and_commit_ms_per_run": round(start_sql / n * 1000, 3),
            "python_ms_per_run": round((sum(start_s) - start_sql) / n * 1000, 3),
            "by_category": _per_run(rec, "start", n),
        },
        "advance": {
            "ms_p50": round(med(advance_s) * 1000, 3),
            "statements_per_run": round(sum(rec.count["advance"].values()) / n, 2),
            "sql_and_commit_ms_per_run": round(adv_sql / n * 1000, 3),
            "python_ms_per_run": round((sum(advance_s) - adv_sql) / n * 1000, 3),
            "by_category": _per_run(rec, "advance", n),
        },
        "reconnect_ms_p50": round(med(connect_s) * 1000, 3),
        "redundant_advance_ms_p50": round(med(redundant_s) * 1000, 3),
        "profile_file": str(profile_path),
    }
