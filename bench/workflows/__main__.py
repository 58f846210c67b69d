"""A three-step workflow through the engine next to a plain three-task Celery chain.

    .venv/bin/python -m bench.workflows [--runs N] [--repeats R] [--warmup W] [--profile P]

Starts its own redis-server (broker) and a real Celery worker (prefork, 2
processes) on the ``erp_bench_workflows`` PostgreSQL database, then alternates R
times: N runs of ``bench_three_steps`` started with ``workflows.services.run_start``
and N chains ``bench.step_a -> step_b -> step_c``. Prints medians and the ratio
workflow runs/s / chains/s (target >= 1/3); writes bench/results/workflows.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from statistics import median

from bench.common import cli
from bench.common.infra import (
    PROJECT_DIR,
    RESULTS_DIR,
    RedisServer,
    drop_declared_variables,
    prepare_database,
)
from bench.common.stats import medians
from bench.workflows import infra

RESULTS_FILE = RESULTS_DIR / "workflows.json"
WORKER_LOG = RESULTS_DIR / "workflows.worker.log"
PROFILE_FILE = RESULTS_DIR / "workflows.profile.txt"
KINDS = ("workflow", "chain")
LATENCY_KEYS = ("p50_ms", "p95_ms", "p99_ms")
LABELS = {
    "workflow": "workflow: bench_three_steps (3 AutoSteps)",
    "chain": "baseline: chain(step_a, step_b, step_c)",
}
TARGET_RATIO = 1 / 3  # the goal for workflow runs/s over chains/s

WORK = (
    "Work per item: workflow = run_start() in the bench process (one committed transaction; the "
    "engine sends workflows.advance_run on commit), then the worker's advance_run applies a, b and c, "
    "each in its own transaction with a checkpoint, and publishes RunCompleted to the outbox; "
    "chain = three Celery task round trips (the worker sends the next link), steps a and b do "
    "nothing, the baseline's last step (step_c) does ONE Redis write (RPUSH of 'sent_at done_at' "
    "to {redis}), since there is no result backend."
)
COMPLETION = (
    "Throughput = N / (last completion - first start): workflow end = max(updated_at) of the N "
    "completed runs (polled as WorkflowRun status counts after the start loop); chain end = the "
    "latest done_at step_c pushed (polled as the list's LLEN after the send loop). Latency: "
    "workflow = updated_at - created_at per run; chain = step_c's time.time() - time.time() in "
    "the bench just before apply_async. One host, one clock."
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = cli.parser("workflows", __doc__)
    p.add_argument(
        "--runs", type=int, default=500, help="workflow runs (and chains) per repeat (default 500)"
    )
    cli.add_repeats(p, "workflow/chain")
    cli.add_warmup_count(p, 20, "runs and chains")
    p.add_argument(
        "--profile",
        type=int,
        default=200,
        help="runs for the in-process breakdown of the engine's time after the repeats (0: skip; default 200)",
    )
    cli.add_timeout(p, "seconds a repeat may take to complete after sending (default 60 + 0.2 s per run)")
    args = p.parse_args(argv)
    cli.require_between(p, args, "--runs", 10, 100_000)
    cli.require_between(p, args, "--repeats", 1, 50)
    cli.require_between(p, args, "--warmup", 0, 10_000)
    cli.require_between(p, args, "--profile", 0, 10_000)
    cli.resolve_timeout(p, args, 60 + 0.2 * args.runs)
    return args


def summarize(runs: dict[str, list[dict]]) -> dict:
    summary: dict = {}
    for kind in KINDS:
        results = runs[kind]
        row = {
            "per_s": round(median([r["per_s"] for r in results]), 1),
            "total_s": round(median([r["total_s"] for r in results]), 3),
            "send_per_s": round(median([r["n"] / r["send_s"] for r in results]), 1),
            "done_at_send_end": median([r["done_at_send_end"] for r in results]),
            "db_connections_per_item": round(
                median([r["checks"]["db_sessions_opened"] / r["n"] for r in results]), 3
            ),
        }
        row.update(medians(results, "latency", LATENCY_KEYS))
        row.update(medians(results, "send_call"))
        if kind == "workflow":
            row["per_s_drained"] = round(median([r["per_s_drained"] for r in results]), 1)
            row["queued_when_last_run_completed"] = median(
                [r["checks"]["queued_when_last_run_completed"] for r in results]
            )
        row.update(medians(results, "breakdown"))
        tasks: dict[str, list[float]] = {}
        for r in results:
            for name, count in r["checks"].get("worker_tasks", {}).items():
                tasks.setdefault(name, []).append(count / r["n"])
        row["worker_tasks_per_item"] = {name: round(median(v), 3) for name, v in sorted(tasks.items())}
        summary[kind] = row
    wf, ch = summary["workflow"], summary["chain"]
    summary["ratio_workflow_over_chain"] = {
        "per_s": round(wf["per_s"] / ch["per_s"], 3),
        "p50_ms": round(wf["p50_ms"] / ch["p50_ms"], 3),
        "p95_ms": round(wf["p95_ms"] / ch["p95_ms"], 3),
    }
    summary["ratio_workflow_drained_over_chain"] = round(wf["per_s_drained"] / ch["per_s"], 3)
    summary["per_repeat_ratio_per_s"] = [
        round(w["per_s"] / c["per_s"], 3) for w, c in zip(runs["workflow"], runs["chain"], strict=True)
    ]
    summary["target_ratio"] = round(TARGET_RATIO, 4)
    summary["meets_target"] = summary["ratio_workflow_over_chain"]["per_s"] >= TARGET_RATIO
    return summary


def print_summary(s: dict, meta: dict) -> None:
    print()
    print(
        f"Workflows vs plain Celery chains: median of {meta['repeats']} repeat(s), {meta['runs']} per run; "
        f"{meta['cpu_count']} CPUs shared by the bench process, worker, PostgreSQL and Redis - compare "
        "ratios, not absolute numbers."
    )
    print(meta["work"])
    print(meta["completion"])
    print(
        f"broker: {meta['broker']}; worker: {meta['worker']}; "
        f"CELERY_DB_REUSE_MAX={meta['celery_db_reuse_max']} (as config/settings.py has it)"
    )
    print()
    columns = ("per s", "p50 ms", "p95 ms", "send/s", "done@send", "conn/item")
    rule = cli.print_table_header("run", 44, columns, 11)
    for kind in KINDS:
        row = s[kind]
        print(
            f"{LABELS[kind]:<44}{row['per_s']:>11.1f}{row['p50_ms']:>11.1f}{row['p95_ms']:>11.1f}"
            f"{row['send_per_s']:>11.1f}{row['done_at_send_end']:>11g}{row['db_connections_per_item']:>11.2f}"
        )
    print(rule)
    r = s["ratio_workflow_over_chain"]
    verdict = "meets" if s["meets_target"] else "BELOW"
    print(
        f"{'ratio workflow / chain (throughput)':<44}{r['per_s']:>11.3f}   {verdict} the >= 1/3 "
        f"({TARGET_RATIO:.3f}) target"
    )
    print(
        f"{'ratio workflow / chain (latency p50, p95)':<44}{'':>11}{r['p50_ms']:>11.2f}{r['p95_ms']:>11.2f}"
    )
    wf = s["workflow"]
    print(
        f"   counting until the worker has also run the advance_run tasks still queued at the last "
        f"completion (median {wf['queued_when_last_run_completed']:g} queued): {wf['per_s_drained']:.1f} runs/s, "
        f"ratio {s['ratio_workflow_drained_over_chain']:.3f}"
    )
    print("   per-repeat throughput ratios: " + ", ".join(f"{x:.3f}" for x in s["per_repeat_ratio_per_s"]))
    print(
        f"   tasks the worker ran per item: workflow {wf['worker_tasks_per_item']}, "
        f"chain {s['chain']['worker_tasks_per_item']}"
    )
    print(
        f"   workflow stages (p50): run_start in the bench {wf['run_start_ms_p50']:.2f} ms; start -> step a "
        f"done {wf['start_to_step_a_done_ms_p50']:.1f} ms (p95 {wf['start_to_step_a_done_ms_p95']:.1f}, "
        f"mostly queueing); one transition inside advance_run {wf['per_transition_in_task_ms_p50']:.2f} ms; "
        f"chain apply_async {s['chain']['apply_async_ms_p50']:.2f} ms"
    )


def print_profile(p: dict) -> None:
    print()
    print(
        f"In-process breakdown over {p['runs']} runs (bench process, no worker; services.send_advance "
        "patched to a counter):"
    )
    d = p["advance_run_delay_calls_per_run"]
    print(
        f"   advance_run sends requested per run: {d['by_run_start']:g} by run_start + {d['by_advance']:g} by "
        "advance itself (every transition into another AutoStep schedules one on commit)"
    )
    for phase in ("run_start", "advance"):
        ph = p[phase]
        print(
            f"   {phase}: p50 {ph['ms_p50']:.2f} ms per run; {ph['statements_per_run']:g} statements + COMMITs, "
            f"SQL+COMMIT {ph['sql_and_commit_ms_per_run']:.2f} ms, Python {ph['python_ms_per_run']:.2f} ms per run"
        )
        for cat, v in ph["by_category"].items():
            print(f"      {cat:<34}{v['per_run']:>6g} per run {v['ms_per_run']:>9.3f} ms per run")
    how = "reopened before each advance" if p["reconnect_before_each_advance"] else "kept across advances"
    print(
        f"   connection {how} (CELERY_DB_REUSE_MAX={p['celery_db_reuse_max']}); opening one costs p50 "
        f"{p['reconnect_ms_p50']:.2f} ms; services.advance() of an already completed run (what each "
        f"redundant advance_run does: lock + COMMIT) p50 {p['redundant_advance_ms_p50']:.2f} ms"
    )
    print(f"   cProfile: {p['profile_file']}")


def worker_task_totals(app, nodename: str) -> dict[str, int]:
    """Tasks the worker has run, per name (one inspect broadcast, only between runs)."""
    try:
        replies = app.control.inspect(destination=[nodename], timeout=2).stats() or {}
    except Exception:  # noqa: BLE001 - the figure is informative only
        return {}
    return dict(replies.get(nodename, {}).get("total", {}))


def measure_all(args, env: dict[str, str], broker_url: str) -> tuple[dict, dict | None, str]:
    """In this process, after django.setup(): start the worker, warm up, alternate, profile."""
    from bench.workflows import measure

    measure.configure(broker_url)
    measure.truncate()
    worker = infra.worker(env, WORKER_LOG)
    runs: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    profile = None
    try:
        worker.start(measure.app)
        print(f"worker {worker.nodename} answers (log: {WORKER_LOG.relative_to(PROJECT_DIR)})", flush=True)

        def one(kind: str, n: int) -> dict:
            measure.truncate()
            before = worker_task_totals(measure.app, worker.nodename)
            result = measure.RUNNERS[kind](n, args.timeout).as_dict()
            if not worker.alive():
                raise RuntimeError(f"the worker died during the {kind} run; log:\n{worker.log_tail()}")
            after = worker_task_totals(measure.app, worker.nodename)
            ran = {name: count - before.get(name, 0) for name, count in after.items()}
            if kind == "workflow":  # the drain marker (one bench.step_c) is not the workflow's
                ran["bench.step_c"] = ran.get("bench.step_c", 0) - 1
            result["checks"]["worker_tasks"] = {name: count for name, count in ran.items() if count}
            return result

        measured = cli.alternation(KINDS, one, warmup=args.warmup, repeats=args.repeats, size=args.runs)
        for repeat, kind, result in measured:
            runs[kind].append(result)
            lat = result["latency"]
            print(
                f"repeat {repeat}/{args.repeats} {kind:<8} {result['per_s']:8.1f}/s  p50 {lat['p50_ms']:8.1f} ms  "
                f"p95 {lat['p95_ms']:8.1f} ms  total {result['total_s']:6.2f} s  sending {result['send_s']:6.2f} s  "
                f"tasks {result['checks']['worker_tasks']}",
                flush=True,
            )
        worker.stop()  # the profile runs in this process alone
        if args.profile:
            from bench.workflows import profile as profiling

            measure.truncate()
            profile = profiling.profile(args.profile, PROFILE_FILE)
    finally:
        worker.stop()
        try:
            measure.truncate()
        except Exception as exc:  # noqa: BLE001 - cleanup must not hide the real error
            print(f"warning: could not empty the tables: {exc}", file=sys.stderr)
    return runs, profile, worker.describe()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli.exit_on_sigterm()
    env = infra.django_env()
    prepare_database(infra.DATABASE, env)

    with tempfile.TemporaryDirectory(prefix="bench-workflows-") as tmp:
        broker = RedisServer(Path(tmp) / "redis")
        try:
            broker.start()
            print(f"broker: {broker.description}", flush=True)
            env["CELERY_BROKER_URL"] = broker.url
            # This process's Django reads the same environment as the worker's.
            drop_declared_variables(os.environ)
            os.environ.update(env)
            import django

            django.setup()
            from django.conf import settings

            reuse_max = getattr(settings, "CELERY_DB_REUSE_MAX", None)
            runs, profile, worker_description = measure_all(args, env, broker.url)
        finally:
            broker.stop()

    meta = {
        **cli.host_meta(),
        "runs": args.runs,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "database": infra.DATABASE,
        "cache": infra.CACHE_URL,
        "broker": broker.description,
        "worker": worker_description,
        "celery_db_reuse_max": reuse_max,
        "worker_log": str(WORKER_LOG.relative_to(PROJECT_DIR)),
        "work": WORK.format(redis=infra.CACHE_URL),
        "completion": COMPLETION,
        "baseline_last_step": "step_c does one Redis write (RPUSH); steps a and b do nothing",
        "note": "median over repeats; bench process, worker, PostgreSQL and Redis share this host's CPUs",
    }
    summary = summarize(runs)
    print_summary(summary, meta)
    if profile:
        print_profile(profile)
    document = {"benchmark": "workflows", "meta": meta, "summary": summary, "profile": profile, "runs": runs}
    cli.write_results(RESULTS_FILE, document)
    return 0


if __name__ == "__main__":
    cli.run_main(
        main,
        "workflows bench",
        stopped="worker and broker stopped",
        failure_note=f"\n(worker log: {WORKER_LOG})",
    )
