"""create -> confirm -> ship over HTTP on one gunicorn, next to GET /api/v1/auth/me/.

    .venv/bin/python -m bench.order_flow [--clients N] [--lines L] [--duration S] [--repeats R]

Starts its own redis-server (broker and cache), a real Celery worker (it
invoices the shipped orders, as in production: after the rounds by default,
during them with ``--invoicing alongside``) and one gunicorn with production
settings on the ``erp_bench_orders`` database; alternates R rounds
of ``me`` and ``flow`` under N concurrent clients of one Python load generator;
counts the SQL statements of each step in-process without load for 1, 3 and 12
lines; prints medians and ratios; writes bench/results/order_flow.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import secrets
import tempfile
import time
from pathlib import Path
from statistics import median

from bench.common import cli, infra, web
from bench.common.httpload import Client, LoadResult, StepFailedError, run_clients
from bench.common.infra import HOST, PROJECT_DIR, RESULTS_DIR, RedisServer, drop_declared_variables

DATABASE = "erp_bench_orders"
RESULTS_FILE = RESULTS_DIR / "order_flow.json"
GUNICORN_LOG = RESULTS_DIR / "order_flow.gunicorn.log"
WORKER_LOG = RESULTS_DIR / "order_flow.worker.log"
PROFILE_FILE = RESULTS_DIR / "order_flow.profile.txt"
USERNAME, ROLES = "bench-orders", ["sales", "warehouse"]
ME, ORDERS = "/api/v1/auth/me/", "/api/v1/vendas/orders/"
STEPS = ("create", "confirm", "ship")
KINDS = ("me", "flow")
LINE_COUNTS = (1, 3, 12)
TARGET_CONFIRM_P95_MS = 100.0
MAX_FAILED_SHARE = 0.5  # a round with more failed iterations than this stops the bench
LATENCY = ("p50_ms", "p95_ms", "p99_ms")
INVOICING = {"after": "after the rounds", "alongside": "during the rounds, on the same cores"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = cli.parser("order_flow", __doc__)
    p.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    p.add_argument("--lines", type=int, default=3, help="lines per order under load (default 3)")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measured round (default 10)")
    cli.add_repeats(p, "me/flow")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per kind (default 2)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    p.add_argument(
        "--products", type=int, default=200, help="products the lines are drawn from (default 200)"
    )
    p.add_argument(
        "--profile", type=int, default=50, help="confirms profiled in-process at the end (0: skip)"
    )
    p.add_argument(
        "--statement-orders", type=int, default=5, help="orders per line count for the statements (default 5)"
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the clients' product draws (default 1)")
    p.add_argument(
        "--invoicing",
        choices=("after", "alongside"),
        default="after",
        help="after (default): the Celery worker starts once the rounds are over and invoices their shipped "
        "orders then, as deploy/ runs workers in pods of their own, off the web pods' CPUs; the time it "
        "takes is reported. alongside: it invoices during the rounds, on the same cores as gunicorn",
    )
    args = p.parse_args(argv)
    cli.require_between(p, args, "--clients", 1, 256)
    cli.require_between(p, args, "--lines", 1, 500)
    cli.require_between(p, args, "--duration", 1, 600, "seconds")
    cli.require_between(p, args, "--repeats", 3, 50)
    cli.require_between(p, args, "--warmup", 0, 60, "seconds")
    cli.require_between(p, args, "--workers", 1, 32)
    cli.require_between(p, args, "--products", max(args.lines, max(LINE_COUNTS)), 100_000)
    cli.require_between(p, args, "--profile", 0, 1000)
    cli.require_between(p, args, "--statement-orders", 1, 1000)
    return args


def flow_iteration(fixture, lines: int, seed: int):
    """Client ``i``'s loop body: a draft of ``lines`` distinct products drawn at
    random (so concurrent orders rarely lock the same stock rows), confirmed,
    shipped."""
    from bench.order_flow.inprocess import order_body

    def iteration_of(i: int):
        rng = random.Random(seed * 1000 + i)

        def iteration(client: Client) -> None:
            body = order_body(fixture, rng.sample(fixture.product_ids, lines))
            order = json.loads(client.call("create", "POST", ORDERS, body, expect=201))["id"]
            for step, status in (("confirm", "confirmed"), ("ship", ("shipped", "invoiced"))):
                answer = json.loads(client.call(step, "POST", f"{ORDERS}{order}/{step}/"))
                if answer["status"] not in status:
                    client.sample.setdefault(step, f"status {answer['status']!r}")
                    raise StepFailedError(step)

        return iteration

    return iteration_of


def check_round(label: str, result: LoadResult) -> None:
    attempted = result.iterations + result.failed
    if result.failed:
        print(f"   {label}: {result.failed} failed iterations; {result.errors} {result.samples}", flush=True)
    if not attempted or result.failed / attempted > MAX_FAILED_SHARE:
        raise RuntimeError(f"{label}: {result.failed} of {attempted} iterations failed: {result.samples}")


def summarize(runs: dict[str, list[LoadResult]], statements: dict) -> dict:
    def step_medians(results: list[LoadResult], step: str) -> dict:
        return {k: round(median(r.steps[step][k] for r in results), 2) for k in ("per_s", *LATENCY)}

    me = step_medians(runs["me"], "me")
    steps = {step: step_medians(runs["flow"], step) for step in STEPS}
    flow_rps = [sum(r.steps[s]["per_s"] for s in STEPS) for r in runs["flow"]]
    counts = {lines: {s: v["statements"] for s, v in per.items()} for lines, per in statements.items()}
    confirm_p95 = steps["confirm"]["p95_ms"]
    me = {"requests_per_s": me.pop("per_s"), **me}

    def cpu_ms(results: list[LoadResult]) -> dict:
        """Per process kind, CPU milliseconds per iteration (an order, or a me
        request); then how the host's CPU time went during the round: to these
        processes, to everything else, waiting for I/O, idle (medians over rounds)."""
        ours = [n for n in results[0].cpu_s if not n.startswith("host ")]
        per = {n: round(median(r.cpu_s[n] / r.iterations * 1000 for r in results), 2) for n in ours}
        per["all"] = round(sum(per.values()), 2)

        def share(r: LoadResult, part: str) -> float:
            own = sum(r.cpu_s[n] for n in ours)
            seconds = {"ours": own, "others": r.cpu_s["host busy"] - own}
            value = seconds[part] if part in seconds else r.cpu_s[f"host {part}"]
            return value / (r.elapsed_s * (os.cpu_count() or 1))

        per["host_share"] = {
            part: round(median(share(r, part) for r in results), 3)
            for part in ("ours", "others", "iowait", "idle")
        }
        return per

    return {
        "cpu_ms_per_iteration": {"me": cpu_ms(runs["me"]), "flow": cpu_ms(runs["flow"])},
        "me": me,
        "flow": {
            "orders_per_s": round(median(r.per_s for r in runs["flow"]), 2),
            "requests_per_s": round(median(flow_rps), 2),
            "steps": steps,
        },
        "ratio": {
            "flow_requests_per_s_over_me": round(median(flow_rps) / me["requests_per_s"], 3),
            "step_p50_over_me_p50": {s: round(steps[s]["p50_ms"] / me["p50_ms"], 2) for s in STEPS},
            "step_p95_over_me_p95": {s: round(steps[s]["p95_ms"] / me["p95_ms"], 2) for s in STEPS},
            # Each repeat's flow round comes right after its me round.
            "per_repeat_requests_per_s": [
                round(f / m.steps["me"]["per_s"], 3) for f, m in zip(flow_rps, runs["me"], strict=True)
            ],
        },
        "confirm_p95_ms": confirm_p95,
        "target_confirm_p95_ms": TARGET_CONFIRM_P95_MS,
        "confirm_meets_target": confirm_p95 < TARGET_CONFIRM_P95_MS,
        "statements_per_step": counts,
        "statements_constant_in_lines": len({json.dumps(c, sort_keys=True) for c in counts.values()}) == 1,
    }


def print_summary(s: dict, meta: dict, statements: dict, invoicing: dict, profile: dict | None) -> None:
    print()
    print(
        f"order flow over HTTP: median of {meta['repeats']} rounds of {meta['duration_s']:g} s, "
        f"{meta['clients']} clients, {meta['lines']}-line orders; {meta['cpu_count']} CPUs shared by the load "
        "generator, gunicorn, the worker, PostgreSQL and Redis - compare ratios, not absolute numbers."
    )
    load = meta["load_average_1_5_15_min"]
    print(f"load average (1/5/15 min) before {load['before']}, after {load['after']}")
    print(f"server: {meta['gunicorn']}\nworker: {meta['worker']}, invoicing {INVOICING[meta['invoicing']]}")
    print(f"broker and cache: {meta['broker']}")
    print()
    rule = cli.print_table_header("step", 26, ("req/s", "p50 ms", "p95 ms", "p99 ms", "p50/me", "p95/me"), 9)
    me = s["me"]
    print(
        f"{'me  GET /auth/me/':<26}{me['requests_per_s']:>9.1f}" + "".join(f"{me[k]:>9.1f}" for k in LATENCY)
    )
    for step in STEPS:
        row = s["flow"]["steps"][step]
        print(
            f"{'flow ' + step:<26}{row['per_s']:>9.1f}"
            + "".join(f"{row[k]:>9.1f}" for k in LATENCY)
            + f"{s['ratio']['step_p50_over_me_p50'][step]:>9.2f}{s['ratio']['step_p95_over_me_p95'][step]:>9.2f}"
        )
    print(rule)
    r = s["ratio"]
    print(
        f"orders/s {s['flow']['orders_per_s']:.1f}; flow requests/s (3 per order) {s['flow']['requests_per_s']:.1f} "
        f"= {r['flow_requests_per_s_over_me']:.3f} x me's {me['requests_per_s']:.1f} req/s "
        f"(per repeat {', '.join(f'{x:.3f}' for x in r['per_repeat_requests_per_s'])})"
    )
    verdict = "meets" if s["confirm_meets_target"] else "MISSES"
    print(
        f"confirm p95 {s['confirm_p95_ms']:.1f} ms at {meta['clients']} clients: {verdict} the < 100 ms target"
    )
    print(
        f"invoiced by the worker: {invoicing['by_status']} of this run's orders "
        f"({invoicing['still_shipped']} still shipped {invoicing['waited_s']:g} s after the last round)"
    )
    print()
    cpu = s["cpu_ms_per_iteration"]
    names = [n for n in cpu["me"] if n != "host_share"]
    rule = cli.print_table_header("CPU ms per", 26, tuple(names), 15)
    for kind, label in (("me", "me request"), ("flow", "order (3 requests)")):
        print(f"{label:<26}" + "".join(f"{cpu[kind][n]:>15.2f}" for n in names))
    print(rule)
    for kind in ("me", "flow"):
        h = cpu[kind]["host_share"]
        print(
            f"host CPU time during the {kind} rounds: these processes {h['ours']:.0%}, other work on the host "
            f"{h['others']:.0%}, I/O wait {h['iowait']:.0%}, idle {h['idle']:.0%}"
        )
    print()
    print("SQL statements per request (in-process, no load, every database, COMMIT not counted):")
    rule = cli.print_table_header("lines", 10, STEPS, 10)
    for lines, counts in s["statements_per_step"].items():
        print(f"{lines:<10}" + "".join(f"{counts[step]:>10}" for step in STEPS))
    print(rule)
    print(f"constant in the number of lines: {'yes' if s['statements_constant_in_lines'] else 'NO'}")
    for lines, per in statements.items():
        print(
            f"   {lines:>2} lines, ms per request in-process (SQL + COMMIT / Python): "
            + ", ".join(
                f"{st} {v['ms']:.1f} ({v['sql_and_commit_ms']:.1f} / {v['python_ms']:.1f})"
                for st, v in per.items()
            )
        )
    if profile:
        print()
        print(
            f"{profile['confirms']} confirms of {profile['lines']}-line orders in-process, one at a time: "
            f"{profile['ms_per_confirm']:.2f} ms each = SQL + COMMIT {profile['sql_and_commit_ms']:.2f} ms "
            f"+ Python {profile['python_ms']:.2f} ms; {profile['statements']:g} statements + "
            f"{profile['commits']:g} COMMITs"
        )
        for cat, v in profile["by_category"].items():
            print(f"   {cat:<28}{v['per_call']:>6g} per call {v['ms_per_call']:>8.3f} ms")
        print(f"   cProfile: {os.path.relpath(profile['profile_file'], PROJECT_DIR)}")


def cpu_sources(gunicorn: web.Gunicorn, worker: infra.CeleryWorker, broker: RedisServer) -> dict:
    """Where the CPU of a round goes: this process (the load generator's
    threads), gunicorn's workers, the Celery worker, PostgreSQL's backends of
    the bench database, the own redis-server (broker and cache). Other work on
    the host is not in these."""
    return {
        "load generator": time.process_time,
        "gunicorn": gunicorn.cpu_seconds,
        "celery worker": worker.cpu_seconds,
        "postgresql": lambda: infra.postgres_cpu_seconds(DATABASE),
        "redis": lambda: infra.group_cpu_seconds(broker.proc.pid),
    }


def measure(args, port: int, token: str, fixture, cpu: dict) -> dict[str, list[LoadResult]]:
    headers = {"Authorization": f"Bearer {token}"}
    iterations = {
        "me": lambda i: lambda client: client.call("me", "GET", ME),
        "flow": flow_iteration(fixture, args.lines, args.seed),
    }

    def one(kind: str, seconds: float) -> LoadResult:
        before, host = {name: read() for name, read in cpu.items()}, infra.host_cpu_seconds()
        result = run_clients(
            port, clients=args.clients, duration=seconds, iteration_of=iterations[kind], headers=headers
        )
        result.cpu_s = {name: round(read() - before[name], 3) for name, read in cpu.items()}
        result.cpu_s.update({f"host {k}": round(v - host[k], 3) for k, v in infra.host_cpu_seconds().items()})
        check_round(kind, result)
        return result

    runs: dict[str, list[LoadResult]] = {kind: [] for kind in KINDS}
    rounds = cli.alternation(KINDS, one, warmup=args.warmup, repeats=args.repeats, size=args.duration)
    for repeat, kind, result in rounds:
        runs[kind].append(result)
        shown = ("me",) if kind == "me" else STEPS
        print(
            f"repeat {repeat}/{args.repeats} {kind:<4} {result.per_s:8.1f} {'req' if kind == 'me' else 'orders'}/s  "
            + "  ".join(
                f"{step} p50 {result.steps[step]['p50_ms']:.1f} p95 {result.steps[step]['p95_ms']:.1f} ms"
                for step in shown
            ),
            flush=True,
        )
    return runs


def run(args, env: dict[str, str], broker: RedisServer, loadavg: list) -> tuple:
    """Everything that needs this process's Django: the worker, the data, gunicorn, the rounds."""
    drop_declared_variables(os.environ)
    os.environ.update(env)
    import django

    django.setup()
    from django.utils import timezone

    from bench.common.probes import check_broker
    from bench.order_flow import inprocess
    from config.celery import app

    check_broker(app, broker.url)
    worker = infra.CeleryWorker(
        "config",
        env,
        WORKER_LOG,
        node_prefix="bench-of",
        description=f"celery -A config worker --pool prefork --concurrency {infra.WORKER_CONCURRENCY} (no beat)",
    )
    gunicorn = web.Gunicorn(env, web.GunicornConfig(workers=args.workers), GUNICORN_LOG)
    try:
        if args.invoicing == "alongside":
            worker.start(app)
        fixture, data_note = inprocess.prepare(args.products)
        print(data_note, flush=True)
        password = secrets.token_urlsafe(24)
        print(web.ensure_user(USERNAME, password, ROLES), flush=True)
        gunicorn.start()
        gunicorn.wait_healthy()
        print(f"{gunicorn.config.describe()} on {gunicorn.base_url} (log: {GUNICORN_LOG})", flush=True)
        token = web.obtain_token(gunicorn.port, USERNAME, password)
        statements = inprocess.statements(token, fixture, LINE_COUNTS, args.statement_orders)
        counted = {lines: {s: v["statements"] for s, v in per.items()} for lines, per in statements.items()}
        print(f"SQL statements per step, by lines per order: {counted}", flush=True)
        since = timezone.now()
        loadavg.append([round(x, 2) for x in os.getloadavg()])
        runs = measure(args, gunicorn.port, token, fixture, cpu_sources(gunicorn, worker, broker))
        loadavg.append([round(x, 2) for x in os.getloadavg()])
        gunicorn.stop()
        if args.invoicing == "after":
            worker.start(app)
        invoicing = inprocess.invoicing(since, timeout=300)
        profile = (
            inprocess.profile_confirms(token, fixture, args.profile, args.lines, PROFILE_FILE)
            if args.profile
            else None
        )
    finally:
        gunicorn.stop()
        worker.stop()
    return runs, statements, invoicing, profile, data_note, worker.describe(), gunicorn.config


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli.exit_on_sigterm()
    planned_s = 2 * args.repeats * args.duration + 2 * args.warmup
    loadavg: list = []
    with tempfile.TemporaryDirectory(prefix="bench-order-flow-") as tmp:
        broker = RedisServer(Path(tmp) / "redis")
        try:
            broker.start()
            print(f"broker and cache: {broker.description} (cache on db 1)", flush=True)
            env = web.django_env(
                database=DATABASE,
                cache_url=f"redis://{HOST}:{broker.port}/1",
                jwt_access_minutes=max(60, math.ceil(planned_s / 60) * 3 + 30),
                CELERY_BROKER_URL=broker.url,
                **infra.WORKER_ENV,
            )
            infra.prepare_database(DATABASE, env)
            runs, statements, invoicing, profile, data_note, worker, config = run(args, env, broker, loadavg)
        finally:
            broker.stop()
    meta = {
        **cli.host_meta(),
        "clients": args.clients,
        "lines": args.lines,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "repeats": args.repeats,
        "products": args.products,
        "load_generator": f"bench.common.httpload ({args.clients} threads, one http.client connection each)",
        "gunicorn": f"{config.describe()}, timeout={config.timeout}s, DEBUG=false, config.settings",
        "worker": worker,
        "invoicing": args.invoicing,
        "broker": broker.description,
        "database": DATABASE,
        "data": data_note,
        "load_average_1_5_15_min": {"before": loadavg[0], "after": loadavg[-1]},
        "server_log": str(GUNICORN_LOG.relative_to(PROJECT_DIR)),
        "worker_log": str(WORKER_LOG.relative_to(PROJECT_DIR)),
    }
    summary = summarize(runs, statements)
    print_summary(summary, meta, statements, invoicing, profile)
    log_lines = web.log_summary(GUNICORN_LOG)
    if log_lines:
        print(f"\ngunicorn/Django output at WARNING or above ({GUNICORN_LOG}), distinct lines:")
        print("\n".join(log_lines))
    document = {
        "benchmark": "order_flow",
        "meta": meta,
        "summary": summary,
        "statements": statements,
        "invoicing": invoicing,
        "profile": profile,
        "runs": {kind: [r.as_dict() for r in results] for kind, results in runs.items()},
    }
    cli.write_results(RESULTS_FILE, document)
    return 0


if __name__ == "__main__":
    cli.run_main(
        main,
        "order_flow bench",
        stopped="gunicorn, worker and redis-server stopped",
        failure_note=f"\n(logs: {GUNICORN_LOG}, {WORKER_LOG})",
    )
