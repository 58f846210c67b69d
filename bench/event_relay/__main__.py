"""Domain events through the relay against plain Celery tasks, on a real worker.

    .venv/bin/python -m bench.event_relay [--events N] [--repeats R] [--broker redis|rabbitmq|both]

Per broker: starts a fresh broker (own redis-server / own RabbitMQ vhost) and a
real Celery worker (prefork, 2 processes, embedded beat) on the ``erp_bench_events``
PostgreSQL database, then alternates R times: N events published through the
outbox relay, N no-op tasks and N one-INSERT tasks. Prints medians and the ratio
relay / no-op; also writes bench/results/event_relay.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median

from bench.common import cli
from bench.common.infra import (
    PROJECT_DIR,
    PYTHON,
    RABBIT_HOST,
    RABBIT_PORT,
    RESULTS_DIR,
    RabbitVhost,
    RedisServer,
    port_open,
    prepare_database,
)
from bench.common.stats import medians
from bench.event_relay import infra

RESULTS_FILE = RESULTS_DIR / "event_relay.json"
KINDS = ("relay", "noop", "insert")
LATENCY_KEYS = ("p50_ms", "p95_ms", "p99_ms")
LABELS = {
    "relay": "relay: publish(Tick) -> bench.write_row",
    "noop": "baseline: bench.noop task",
    "insert": "baseline: bench.insert_row task",
}
TARGET_RATIO = 0.5  # the goal for relay / no-op throughput
DB_WORK = (
    "DB work per message: relay = the subscriber's one INSERT plus the relay's own bookkeeping "
    "(publisher: BEGIN, one INSERT of the outbox row and its deliveries, COMMIT; worker, per delivery: "
    "the claim, an UPDATE counting the attempt under a session advisory lock and returning the event, "
    "committed on its own without waiting for the WAL flush; then BEGIN, one statement marking the delivery "
    "and inserting the inbox row, COMMIT; per message, pg_advisory_unlock_all()); a relay message "
    "carries the deliveries the publisher's hand-over thread drained together (up to 50); insert "
    "baseline = one INSERT (autocommit); no-op baseline = none."
)
COMPLETION = (
    "Completion: relay and insert runs end at the created_at (clock_timestamp()) of the last "
    "effect row; the no-op run ends at the row of one bench.mark task sent after the N no-ops "
    "(FIFO queue, prefetch multiplier 1: it starts only after every no-op was taken)."
)
LATENCY = (
    "Latency = effect row created_at - published_at (time.time() in the publisher just before "
    "publish()/apply_async). 'publish/s' = the publishing loop alone; 'backlog' = messages "
    "without effect when publishing ended; 'conn/msg' = new PostgreSQL connections per message "
    "(pg_stat_database.sessions)."
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = cli.parser("event_relay", __doc__)
    p.add_argument("--events", type=int, default=1000, help="events (and tasks) per run (default 1000)")
    cli.add_repeats(p, "relay/no-op/insert")
    p.add_argument("--broker", choices=("redis", "rabbitmq", "both"), default="both", help="(default both)")
    cli.add_warmup_count(p, 50, "events per kind")
    cli.add_timeout(p, "seconds a run may take to complete after publishing (default 60 + 0.1 s per event)")
    args = p.parse_args(argv)
    cli.require_between(p, args, "--events", 10, 200_000)
    cli.require_between(p, args, "--repeats", 1, 50)
    cli.require_between(p, args, "--warmup", 0, 10_000)
    cli.resolve_timeout(p, args, 60 + 0.1 * args.events)
    return args


def summarize(runs: dict[str, list[dict]]) -> dict:
    summary: dict = {}
    for kind in KINDS:
        results = runs[kind]
        row = {
            "per_s": round(median([r["per_s"] for r in results]), 1),
            "total_s": round(median([r["total_s"] for r in results]), 3),
            "publish_s": round(median([r["publish_s"] for r in results]), 3),
            "publish_per_s": round(median([r["events"] / r["publish_s"] for r in results]), 1),
            # New PostgreSQL connections per message (pg_stat_database.sessions delta).
            "db_connections_per_msg": round(
                median([r["checks"]["db_sessions_opened"] / r["events"] for r in results]), 3
            ),
        }
        if kind != "noop":
            row.update(medians(results, "latency", LATENCY_KEYS))
            row["backlog_at_publish_end"] = median([r["backlog_at_publish_end"] for r in results])
        row.update(medians(results, "publish_call"))
        if kind == "relay":
            row.update(medians(results, "breakdown"))
        summary[kind] = row
    relay, noop, insert = summary["relay"], summary["noop"], summary["insert"]
    summary["ratio_relay_over_noop"] = {"per_s": round(relay["per_s"] / noop["per_s"], 3)}
    summary["ratio_relay_over_insert"] = {
        "per_s": round(relay["per_s"] / insert["per_s"], 3),
        "p50_ms": round(relay["p50_ms"] / insert["p50_ms"], 3),
        "p95_ms": round(relay["p95_ms"] / insert["p95_ms"], 3),
    }
    summary["per_repeat_relay_over_noop"] = [
        round(r["per_s"] / n["per_s"], 3) for r, n in zip(runs["relay"], runs["noop"], strict=True)
    ]
    summary["per_repeat_relay_over_insert"] = [
        round(r["per_s"] / i["per_s"], 3) for r, i in zip(runs["relay"], runs["insert"], strict=True)
    ]
    summary["target_relay_over_noop"] = TARGET_RATIO
    summary["meets_target"] = summary["ratio_relay_over_noop"]["per_s"] >= TARGET_RATIO
    return summary


def print_broker(name: str, info: dict, repeats: int, events: int) -> None:
    print()
    print(f"== {name}: {info['broker']}")
    if "error" in info:
        print(f"   FAILED: {info['error']}")
        return
    s = info["summary"]
    confirms = "on" if info["publisher_confirms"] else "off"
    print(
        f"   median of {repeats} repeat(s), {events} events/tasks per run; queue type "
        f"{info['celery_queue_type']}, publisher confirms {confirms} (as the project's settings choose)"
    )
    columns = ("per s", "p50 ms", "p95 ms", "publish/s", "backlog", "conn/msg")
    rule = cli.print_table_header("run", 42, columns, 11)
    for kind in KINDS:
        row = s[kind]
        p50 = f"{row['p50_ms']:>11.2f}" if "p50_ms" in row else f"{'-':>11}"
        p95 = f"{row['p95_ms']:>11.2f}" if "p95_ms" in row else f"{'-':>11}"
        backlog = f"{row['backlog_at_publish_end']:>11g}" if "backlog_at_publish_end" in row else f"{'-':>11}"
        print(
            f"{LABELS[kind]:<42}{row['per_s']:>11.1f}{p50}{p95}{row['publish_per_s']:>11.1f}{backlog}"
            f"{row['db_connections_per_msg']:>11.2f}"
        )
    print(rule)
    rn, ri = s["ratio_relay_over_noop"], s["ratio_relay_over_insert"]
    verdict = "meets" if s["meets_target"] else "BELOW"
    print(
        f"{'ratio relay / no-op (headline)':<42}{rn['per_s']:>11.3f}   {verdict} the >= {TARGET_RATIO} target"
    )
    print(f"{'ratio relay / insert':<42}{ri['per_s']:>11.3f}{ri['p50_ms']:>11.2f}{ri['p95_ms']:>11.2f}")
    print(
        "   per-repeat throughput ratios: relay/no-op "
        + ", ".join(f"{r:.3f}" for r in s["per_repeat_relay_over_noop"])
        + "; relay/insert "
        + ", ".join(f"{r:.3f}" for r in s["per_repeat_relay_over_insert"])
    )
    r = s["relay"]
    print(
        f"   relay publisher per event (p50): {r['total_ms_p50']:.2f} ms = in transaction (outbox and "
        f"deliveries INSERT) {r['in_transaction_ms_p50']:.2f} ms + commit and on-commit hand-over "
        f"{r['commit_and_handover_ms_p50']:.2f} ms; one plain apply_async: {s['noop']['apply_async_ms_p50']:.2f} ms"
    )
    print(
        f"   relay stages (p50): published -> taken by a worker {r['published_to_taken_ms_p50']:.2f} ms "
        f"(p95 {r['published_to_taken_ms_p95']:.2f}; hand-over, broker, queue), "
        f"taken -> effect {r['taken_to_effect_ms_p50']:.2f} ms"
    )


class Session:
    """``python -m bench.event_relay.session`` for one broker: its own process, so
    its Django settings are read with that broker's URL, like the worker's."""

    def __init__(self, name: str, url: str, env: dict[str, str], args, workdir: Path):
        self.name = name
        self.out = workdir / f"{name}.json"
        self.worker_log = RESULTS_DIR / f"event_relay.{name}.worker.log"
        self.env = {**env, "CELERY_BROKER_URL": url}
        self.command = [
            PYTHON, "-m", "bench.event_relay.session",
            "--broker", name, "--out", str(self.out),
            "--workdir", str(workdir / f"worker-{name}"), "--worker-log", str(self.worker_log),
            "--events", str(args.events), "--repeats", str(args.repeats),
            "--warmup", str(args.warmup), "--timeout", str(args.timeout),
        ]  # fmt: skip
        self.proc: subprocess.Popen | None = None

    def run(self) -> dict:
        self.proc = subprocess.Popen(self.command, cwd=PROJECT_DIR, env=self.env)
        code = self.proc.wait()
        self.proc = None
        if code != 0:
            raise RuntimeError(f"the {self.name} session failed (exit {code}); see its output above")
        return json.loads(self.out.read_text())

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()  # its SIGTERM handler stops the worker
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


def run_broker(name: str, args, env: dict[str, str], workdir: Path) -> dict:
    broker = RedisServer(workdir / "redis") if name == "redis" else RabbitVhost()
    session = None
    try:
        broker.start()
        print(f"[{name}] broker: {broker.description}", flush=True)
        session = Session(name, broker.url, env, args, workdir)
        result = session.run()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        return {"broker": broker.description or name, "error": str(exc)}
    finally:
        if session is not None:
            session.stop()
        broker.stop()
    runs = result.pop("runs")
    return {
        "broker": broker.description,
        **result,
        "worker_log": str(session.worker_log.relative_to(PROJECT_DIR)),
        "summary": summarize(runs),
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli.exit_on_sigterm()
    brokers = ("redis", "rabbitmq") if args.broker == "both" else (args.broker,)
    if "rabbitmq" in brokers and not port_open(RABBIT_HOST, RABBIT_PORT):
        raise RuntimeError(f"RabbitMQ does not answer on {RABBIT_HOST}:{RABBIT_PORT}")

    env = infra.django_env()
    prepare_database(infra.DATABASE, env)
    results: dict[str, dict] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-event-relay-") as tmp:
            for name in brokers:
                results[name] = run_broker(name, args, env, Path(tmp))
    finally:
        with contextlib.suppress(Exception):
            infra.drop_tables()

    meta = {
        **cli.host_meta(),
        "events": args.events,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "database": infra.DATABASE,
        "cache": infra.CACHE_URL,
        "publisher": "a session process per broker (settings read with that broker's URL, like the "
        "worker's): one transaction.atomic() per event with publish() inside; tasks via apply_async",
        "db_work": DB_WORK,
        "completion": COMPLETION,
        "latency": LATENCY,
        "note": "median over repeats; worker, PostgreSQL, broker and publisher share this host's CPUs",
    }
    print()
    print(
        f"Event relay vs plain Celery tasks; {meta['cpu_count']} CPUs shared by publisher, worker, "
        "PostgreSQL and broker - compare ratios, not absolute numbers."
    )
    print(DB_WORK)
    print(COMPLETION)
    print(LATENCY)
    for name, info in results.items():
        if "worker" in info:
            meta["worker"] = info["worker"]
        print_broker(name, info, args.repeats, args.events)

    failed = [name for name, info in results.items() if "error" in info]
    if len(failed) < len(results):  # a run where every broker failed keeps the last results
        cli.write_results(RESULTS_FILE, {"benchmark": "event_relay", "meta": meta, "brokers": results})
    if failed:
        print(f"\nevent_relay FAILED for: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    cli.run_main(main, "event_relay", stopped="session, worker and broker stopped")
