"""The publishing side (the bench session process): one measured run of the relay
and of each baseline against the running worker. Import after ``django.setup()``."""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field

from django.db import connection, transaction

from bench.common.infra import poll_until
from bench.common.probes import db_sessions, queue_ready
from bench.common.stats import percentiles_ms, rate_figures
from bench.event_relay import shared, tables, worker_app
from erp.events import publish

app = worker_app.app
POLL_S = 0.05  # how often the bench process looks for the last effect (after publishing only)


def create_tables() -> None:
    with connection.cursor() as cursor:
        for sql in tables.TABLES_SQL:
            cursor.execute(sql)


def truncate() -> None:
    names = ", ".join((*tables.RELAY_TABLES, *tables.BENCH_TABLES))
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {names} CASCADE")


def _rounded_ms(seconds: float | None) -> float:
    return round(seconds * 1000, 3) if seconds is not None else float("nan")


@dataclass
class RunResult:
    kind: str  # relay | noop | insert
    events: int
    total_s: float  # first publish/send → last effect (noop: → the marker after the last task)
    publish_s: float  # the publishing loop alone (bench process)
    per_s: float  # events / total_s
    latency: dict[str, float] = field(default_factory=dict)  # effect created − published_at
    publish_call: dict[str, float] = field(default_factory=dict)  # per publish/apply_async, bench side
    backlog_at_publish_end: int | None = None  # sent but without effect when publishing ended
    checks: dict = field(default_factory=dict)
    breakdown: dict = field(default_factory=dict)  # relay only: medians of the stages

    @classmethod
    def timed(cls, kind: str, n: int, t0: float, t_published: float, end: float, **figures) -> RunResult:
        """A run of ``n`` messages whose publishing started at ``t0``, ended at
        ``t_published``, and whose last effect came at ``end`` (seconds, one clock)."""
        total_s, publish_s, per_s = rate_figures(n, t0, t_published, end)
        return cls(kind=kind, events=n, total_s=total_s, publish_s=publish_s, per_s=per_s, **figures)

    def as_dict(self) -> dict:
        return asdict(self)


def _wait(query: str, params: list, done, timeout: float, what: str):
    def fetch():
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchone()

    return poll_until(fetch, done, timeout, what, POLL_S)


def _latencies(table: str) -> tuple[list[float], float]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT created_at - published_at, created_at FROM {table}")  # noqa: S608
        rows = cursor.fetchall()
    return [r[0] for r in rows], max(r[1] for r in rows)


def _effects_before(table: str, moment: float) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE created_at <= %s", [moment])  # noqa: S608
        return cursor.fetchone()[0]


def run_relay(n: int, timeout: float) -> RunResult:
    """N events, each published in its own committed transaction; done when N
    effect rows exist (each is one delivery of bench.write_row)."""
    in_tx: list[float] = []
    commit: list[float] = []
    perf = time.perf_counter
    sessions = db_sessions()
    t0 = time.time()
    for _ in range(n):
        a = perf()
        with transaction.atomic():
            publish(shared.Tick(published_at=time.time()))
            b = perf()
        # Leaving the block commits and runs on_commit: the deliveries go to the hand-over thread.
        commit.append(perf() - b)
        in_tx.append(b - a)
    t_published = time.time()
    _wait(f"SELECT count(*) FROM {shared.EVENT_EFFECTS}", [], lambda r: r[0] >= n, timeout, f"{n} effects")  # noqa: S608
    latencies, last = _latencies(shared.EVENT_EFFECTS)
    # The effect commits a moment before the worker marks the delivery delivered.
    _wait(
        "SELECT count(*) FILTER (WHERE status = 'delivered'), count(*) FROM erp_delivery",
        [],
        lambda r: r[0] >= n,
        30,
        "deliveries marked delivered",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, count(*), max(attempts), count(*) FILTER (WHERE last_error <> '') "
            "FROM erp_delivery GROUP BY status"
        )
        statuses = {s: {"count": c, "max_attempts": m, "with_error": e} for s, c, m, e in cursor.fetchall()}
        cursor.execute("SELECT count(*) FROM erp_inboxrecord")
        inbox = cursor.fetchone()[0]
        # Stage medians (ms) per event: publisher clock → DB clock, all on one host.
        # delivered_at is set when a worker takes the delivery, in the
        # transaction that then runs the subscriber and commits the effect.
        cursor.execute(
            f"""
            SELECT
              percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.delivered_at) - e.published_at),
              percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM d.delivered_at) - e.published_at),
              percentile_cont(0.5) WITHIN GROUP (ORDER BY e.created_at - extract(epoch FROM d.delivered_at))
            FROM {shared.EVENT_EFFECTS} e
            JOIN erp_delivery d ON d.event_id = e.event_id
            """  # noqa: S608
        )
        to_taken, to_taken_p95, taken_to_effect = cursor.fetchone()
    return RunResult.timed(
        "relay",
        n,
        t0,
        t_published,
        last,
        latency=percentiles_ms(latencies),
        publish_call={
            "in_transaction_ms_p50": percentiles_ms(in_tx)["p50_ms"],
            "commit_and_handover_ms_p50": percentiles_ms(commit)["p50_ms"],
            "total_ms_p50": percentiles_ms([x + y for x, y in zip(in_tx, commit, strict=True)])["p50_ms"],
        },
        backlog_at_publish_end=n - _effects_before(shared.EVENT_EFFECTS, t_published),
        checks={
            "effects": len(latencies),
            "db_sessions_opened": db_sessions() - sessions,
            "deliveries": statuses,
            "inbox_records": inbox,
            "queue_ready_after": queue_ready(app),
        },
        breakdown={
            "published_to_taken_ms_p50": _rounded_ms(to_taken),
            "published_to_taken_ms_p95": _rounded_ms(to_taken_p95),
            "taken_to_effect_ms_p50": _rounded_ms(taken_to_effect),
        },
    )


def run_insert(n: int, timeout: float) -> RunResult:
    """N bench.insert_row tasks (one INSERT each), sent without a transaction."""
    calls: list[float] = []
    perf = time.perf_counter
    sessions = db_sessions()
    t0 = time.time()
    for _ in range(n):
        a = perf()
        worker_app.insert_row.apply_async(args=[time.time()])
        calls.append(perf() - a)
    t_published = time.time()
    _wait(f"SELECT count(*) FROM {shared.TASK_EFFECTS}", [], lambda r: r[0] >= n, timeout, f"{n} task rows")  # noqa: S608
    latencies, last = _latencies(shared.TASK_EFFECTS)
    return RunResult.timed(
        "insert",
        n,
        t0,
        t_published,
        last,
        latency=percentiles_ms(latencies),
        publish_call={"apply_async_ms_p50": percentiles_ms(calls)["p50_ms"]},
        backlog_at_publish_end=n - _effects_before(shared.TASK_EFFECTS, t_published),
        checks={
            "effects": len(latencies),
            "db_sessions_opened": db_sessions() - sessions,
            "queue_ready_after": queue_ready(app),
        },
    )


def run_noop(n: int, timeout: float) -> RunResult:
    """N bench.noop tasks, then one bench.mark task.

    A no-op leaves no trace, so completion is read from the marker: the queue is
    FIFO and the worker takes one message per pool process at a time (prefetch
    multiplier 1), so the marker starts only after every no-op has been taken;
    at most one no-op (on the other pool process) can still be running, for
    microseconds. End = the marker's row (its one INSERT included)."""
    calls: list[float] = []
    perf = time.perf_counter
    run_id = uuid.uuid4().hex
    sessions = db_sessions()
    t0 = time.time()
    for _ in range(n):
        a = perf()
        worker_app.noop.apply_async(args=[time.time()])
        calls.append(perf() - a)
    t_published = time.time()
    worker_app.mark.apply_async(args=[run_id])
    (end,) = _wait(
        f"SELECT max(created_at) FROM {shared.MARKERS} WHERE run_id = %s",  # noqa: S608
        [run_id],
        lambda r: r[0] is not None,
        timeout,
        "the marker task after the no-op tasks",
    )
    return RunResult.timed(
        "noop",
        n,
        t0,
        t_published,
        end,
        publish_call={"apply_async_ms_p50": percentiles_ms(calls)["p50_ms"]},
        checks={
            "marker_seen": True,
            "db_sessions_opened": db_sessions() - sessions,
            "queue_ready_after": queue_ready(app),
        },
    )


RUNNERS = {"relay": run_relay, "noop": run_noop, "insert": run_insert}
