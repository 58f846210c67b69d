"""The bench process's side: one measured run of the workflow and of the chain
baseline against the running worker. Import after ``django.setup()``."""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field

import redis
from celery import chain
from django.db import connection
from django.db.models import Count, Q

from bench.common.infra import poll_until
from bench.common.probes import check_broker, db_sessions, queue_ready
from bench.common.stats import percentiles_ms, rate_figures
from bench.workflows import definitions, worker_app
from workflows import services
from workflows.models import Checkpoint, WorkflowRun

app = worker_app.app
POLL_S = 0.05  # how often the bench looks for completion (only after it has finished sending)
# Emptied before every measured run (and at the end).
TABLES = (
    "workflows_checkpoint",
    "workflows_workflowrun",
    "erp_outboxevent",
    "erp_delivery",
    "erp_inboxrecord",
)
COMPLETED = WorkflowRun.Status.COMPLETED
FAILED = WorkflowRun.Status.FAILED
EXPECTED_RESULT = {"a": 1, "b": 2, "c": 3}
CHECKPOINTS_PER_RUN = 4  # start + one per automatic step

_record = redis.Redis.from_url(definitions.RECORD_REDIS_URL)


def configure(broker_url: str) -> None:
    """Send to ``broker_url`` for real (never eagerly in-process) and check it answers."""
    app.conf.broker_url = broker_url
    check_broker(app, broker_url)
    _record.ping()


def truncate() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
    for key in _record.scan_iter(match=definitions.KEY_PREFIX + "*"):
        _record.delete(key)


@dataclass
class RunResult:
    kind: str  # workflow | chain
    n: int
    total_s: float  # first start/send -> last completion
    send_s: float  # the bench's start/send loop alone
    per_s: float  # n / total_s
    latency: dict[str, float]  # per run/chain: completion - start
    send_call: dict[str, float]  # per run_start / chain apply_async, bench side
    done_at_send_end: int  # completed when the send loop ended
    drained_s: float | None = None  # workflow: first start -> the worker has run every task the runs caused
    per_s_drained: float | None = None  # workflow: n / drained_s
    checks: dict = field(default_factory=dict)
    breakdown: dict = field(default_factory=dict)

    @classmethod
    def timed(cls, kind: str, n: int, t0: float, t_sent: float, end: float, **figures) -> RunResult:
        """``n`` items whose sending started at ``t0``, ended at ``t_sent``, and the
        last of which completed at ``end`` (seconds, one clock)."""
        total_s, send_s, per_s = rate_figures(n, t0, t_sent, end)
        return cls(kind=kind, n=n, total_s=total_s, send_s=send_s, per_s=per_s, **figures)

    def as_dict(self) -> dict:
        return asdict(self)


def drain(timeout: float) -> float:
    """Send one bench.step_c marker and return when it ran (its done_at).

    The queue is FIFO and each of the 2 pool processes takes one message at a
    time (prefetch multiplier 1, late ack), so the marker runs only after every
    message queued before it was taken: the advance_run tasks the engine still
    had queued when the last run completed (see run_workflows) are worked off by
    then, and cannot leak into the next measured run."""
    key = f"{definitions.KEY_PREFIX}drain:{uuid.uuid4().hex}"
    definitions.step_c.si(key, time.time()).apply_async()
    poll_until(lambda: _record.llen(key), lambda count: count >= 1, timeout, "the drain marker", POLL_S)
    (raw,) = _record.lrange(key, 0, -1)
    _record.delete(key)
    return float(raw.split()[1])


def run_workflows(n: int, timeout: float) -> RunResult:
    """N runs of bench_three_steps, each started (and committed) by run_start();
    the engine hands advance_run to the broker on commit. Done when N are completed."""
    calls: list[float] = []
    perf = time.perf_counter
    sessions = db_sessions()
    t0 = time.time()
    for _ in range(n):
        a = perf()
        services.run_start(definition=definitions.DEFINITION, input={}, started_by=None)
        calls.append(perf() - a)
    t_sent = time.time()

    def poll() -> dict:
        return WorkflowRun.objects.aggregate(
            completed=Count("pk", filter=Q(status=COMPLETED)), failed=Count("pk", filter=Q(status=FAILED))
        )

    def done(counts: dict) -> bool:
        if counts["failed"]:
            run = WorkflowRun.objects.filter(status=FAILED).first()
            raise RuntimeError(f"{counts['failed']} run(s) failed; first: {run} error {run.error!r}")
        return counts["completed"] >= n

    poll_until(poll, done, timeout, f"{n} completed runs", POLL_S)
    queued_at_completion = queue_ready(app)
    drained_at = drain(timeout)
    rows = list(WorkflowRun.objects.filter(status=COMPLETED).values_list("created_at", "updated_at"))
    latencies = [(u - c).total_seconds() for c, u in rows]
    end = max(u for _, u in rows).timestamp()
    call_ms = percentiles_ms(calls)
    sample = WorkflowRun.objects.filter(status=COMPLETED).values_list("result", flat=True).first()
    checkpoints = Checkpoint.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM erp_outboxevent WHERE event_type = 'workflows.RunCompleted'")
        completed_events = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM erp_delivery")
        deliveries = cursor.fetchone()[0]
        # Stages per run from the checkpoints' created_at (Python clock at each transition):
        # seq 1 = start, 2 = after step a (first step in the worker), 4 = after step c.
        cursor.execute(
            """
            WITH t AS (
              SELECT r.created_at AS created,
                     max(c.created_at) FILTER (WHERE c.seq = 1) AS s1,
                     max(c.created_at) FILTER (WHERE c.seq = 2) AS s2,
                     max(c.created_at) FILTER (WHERE c.seq = 4) AS s4
              FROM workflows_workflowrun r JOIN workflows_checkpoint c ON c.run_id = r.thread_id
              GROUP BY r.thread_id)
            SELECT
              percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM s2 - s1)),
              percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM s2 - s1)),
              percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM s4 - s2) / 2)
            FROM t
            """
        )
        start_to_first, start_to_first_p95, per_transition = cursor.fetchone()
    if checkpoints != CHECKPOINTS_PER_RUN * n:
        raise RuntimeError(f"expected {CHECKPOINTS_PER_RUN * n} checkpoints, found {checkpoints}")
    if sample != EXPECTED_RESULT:
        raise RuntimeError(f"unexpected result {sample!r}, expected {EXPECTED_RESULT!r}")
    return RunResult.timed(
        "workflow",
        n,
        t0,
        t_sent,
        end,
        latency=percentiles_ms(latencies),
        send_call={"run_start_ms_p50": call_ms["p50_ms"], "run_start_ms_p95": call_ms["p95_ms"]},
        done_at_send_end=sum(1 for _, u in rows if u.timestamp() <= t_sent),
        drained_s=round(drained_at - t0, 4),
        per_s_drained=round(n / (drained_at - t0), 1),
        checks={
            "completed": len(rows),
            "queued_when_last_run_completed": queued_at_completion,
            "checkpoints": checkpoints,
            "run_completed_events": completed_events,
            "deliveries": deliveries,
            "db_sessions_opened": db_sessions() - sessions,
            "queue_ready_after": queue_ready(app),
        },
        breakdown={
            "start_to_step_a_done_ms_p50": round(start_to_first * 1000, 3),
            "start_to_step_a_done_ms_p95": round(start_to_first_p95 * 1000, 3),
            "per_transition_in_task_ms_p50": round(per_transition * 1000, 3),
        },
    )


def run_chains(n: int, timeout: float) -> RunResult:
    """N chains bench.step_a -> step_b -> step_c sent with apply_async (one
    message each; the worker sends the next link after each step). step_c does
    one RPUSH of "sent_at done_at"; done when the list holds N entries."""
    key = f"{definitions.KEY_PREFIX}{uuid.uuid4().hex}"
    step_a, step_b, step_c = definitions.step_a, definitions.step_b, definitions.step_c
    calls: list[float] = []
    perf = time.perf_counter
    sessions = db_sessions()
    t0 = time.time()
    for _ in range(n):
        a = perf()
        chain(step_a.si(), step_b.si(), step_c.si(key, time.time())).apply_async()
        calls.append(perf() - a)
    t_sent = time.time()
    poll_until(lambda: _record.llen(key), lambda count: count >= n, timeout, f"{n} completed chains", POLL_S)
    entries = [tuple(map(float, raw.split())) for raw in _record.lrange(key, 0, -1)]
    _record.delete(key)
    latencies = [done - sent for sent, done in entries]
    end = max(done for _, done in entries)
    call_ms = percentiles_ms(calls)
    return RunResult.timed(
        "chain",
        n,
        t0,
        t_sent,
        end,
        latency=percentiles_ms(latencies),
        send_call={"apply_async_ms_p50": call_ms["p50_ms"], "apply_async_ms_p95": call_ms["p95_ms"]},
        done_at_send_end=sum(1 for _, done in entries if done <= t_sent),
        checks={
            "completed": len(entries),
            "db_sessions_opened": db_sessions() - sessions,
            "queue_ready_after": queue_ready(app),
        },
    )


RUNNERS = {"workflow": run_workflows, "chain": run_chains}
