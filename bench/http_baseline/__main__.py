"""Bare Django view vs authenticated DRF endpoint, over real HTTP.

    .venv/bin/python -m bench.http_baseline [--duration S] [--connections N] [--repeats R]

Prepares the ``erp_bench`` PostgreSQL database and a ``viewer`` user, starts one
gunicorn on a free loopback port, alternates the two endpoints R times under the
same load and prints medians; also writes bench/results/http_baseline.json.
"""

from __future__ import annotations

import argparse
import math
from statistics import median

from bench.common import cli, web
from bench.common.infra import PROJECT_DIR, RESULTS_DIR, prepare_database
from bench.http_baseline import load, server

RESULTS_FILE = RESULTS_DIR / "http_baseline.json"
GUNICORN_LOG = RESULTS_DIR / "http_baseline.gunicorn.log"

ENDPOINTS = {
    "bare": "/bench/bare/",
    "me": "/api/v1/auth/me/",
}
# A run fails when more than this share of its responses are not 200 (or never came).
MAX_ERROR_SHARE = 0.5


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = cli.parser("http_baseline", __doc__)
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measured run (default 10)")
    p.add_argument("--connections", type=int, default=8, help="concurrent connections (default 8)")
    cli.add_repeats(p, "bare/me")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per endpoint (default 2)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    p.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator: wrk if installed (auto), or force one",
    )
    args = p.parse_args(argv)
    cli.require_between(p, args, "--duration", 1, 600, "seconds")
    cli.require_between(p, args, "--connections", 1, 256)
    cli.require_between(p, args, "--repeats", 1, 50)
    cli.require_between(p, args, "--warmup", 0, 60, "seconds")
    cli.require_between(p, args, "--workers", 1, 32)
    if args.loadgen == "wrk" and not load.wrk_path():
        p.error("--loadgen wrk: wrk is not installed (apt-get install wrk)")
    if args.loadgen == "wrk" and args.duration != round(args.duration):
        p.error("wrk takes whole seconds: give an integer --duration")
    return args


def check_run(name: str, result: load.RunResult) -> None:
    failed = result.non_200 + sum(result.socket_errors.values())
    attempted = result.requests + sum(result.socket_errors.values())
    if attempted == 0:
        raise RuntimeError(f"{name}: no request completed")
    if failed / attempted > MAX_ERROR_SHARE:
        raise RuntimeError(
            f"{name}: {failed} of {attempted} requests failed "
            f"(statuses {result.statuses}, socket errors {result.socket_errors})"
        )


def summarize(runs: dict[str, list[load.RunResult]]) -> dict:
    summary = {}
    for name, results in runs.items():
        summary[name] = {
            "path": ENDPOINTS[name],
            "requests_per_s": round(median([r.rps for r in results]), 1),
            "p50_ms": round(median([r.p50_ms for r in results]), 3),
            "p95_ms": round(median([r.p95_ms for r in results]), 3),
            "p99_ms": round(median([r.p99_ms for r in results]), 3),
            "requests": sum(r.requests for r in results),
            "non_200": sum(r.non_200 for r in results),
            "socket_errors": sum(sum(r.socket_errors.values()) for r in results),
        }
    bare, me = summary["bare"], summary["me"]
    summary["ratio_me_over_bare"] = {
        "requests_per_s": round(me["requests_per_s"] / bare["requests_per_s"], 3),
        "p50_ms": round(me["p50_ms"] / bare["p50_ms"], 3),
        "p95_ms": round(me["p95_ms"] / bare["p95_ms"], 3),
    }
    # Each repeat's me run follows its bare run, so the pair shares the machine's state.
    pairs = list(zip(runs["bare"], runs["me"], strict=True))
    summary["ratio_me_over_bare_per_repeat"] = {
        "requests_per_s": [round(m.rps / b.rps, 3) for b, m in pairs],
        "p50_ms": [round(m.p50_ms / b.p50_ms, 3) for b, m in pairs],
    }
    return summary


def print_table(summary: dict, repeats: int, meta: dict) -> None:
    print()
    print(
        f"HTTP baseline: median of {repeats} repeat(s), {meta['connections']} connections, "
        f"{meta['duration_s']:g} s per run; shared, noisy machine ({meta['cpu_count']} CPUs, "
        "load generator on the same host) - compare ratios, not absolute numbers."
    )
    print(f"server: {meta['gunicorn']}; load generator: {meta['load_generator']}")
    print()
    columns = ("req/s", "p50 ms", "p95 ms", "p99 ms", "non-200", "sock err")
    rule = cli.print_table_header("endpoint", 22, columns, 10)
    for name in ENDPOINTS:
        row = summary[name]
        print(
            f"{row['path']:<22}{row['requests_per_s']:>10.1f}{row['p50_ms']:>10.2f}{row['p95_ms']:>10.2f}"
            f"{row['p99_ms']:>10.2f}{row['non_200']:>10}{row['socket_errors']:>10}"
        )
    ratio = summary["ratio_me_over_bare"]
    print(rule)
    print(
        f"{'ratio me/bare':<22}"
        + "".join(f"{ratio[k]:>10.3f}" for k in ("requests_per_s", "p50_ms", "p95_ms"))
    )
    per_repeat = summary["ratio_me_over_bare_per_repeat"]
    print(
        "per-repeat ratios (me run right after its bare run): throughput "
        + ", ".join(f"{r:.3f}" for r in per_repeat["requests_per_s"])
        + "; p50 "
        + ", ".join(f"{r:.3f}" for r in per_repeat["p50_ms"])
    )
    print()
    print(
        f"me/bare throughput {ratio['requests_per_s']:.2f}x, p50 latency {ratio['p50_ms']:.2f}x: "
        "the share of the bare request rate left once DRF, JWT authentication, the user and "
        "group queries, throttling (Redis) and serialization run."
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli.exit_on_sigterm()
    use_wrk = args.loadgen == "wrk" or (args.loadgen == "auto" and load.wrk_path() is not None)
    load_generator = (
        f"{load.wrk_version()} (1 thread, --latency, Lua script for the header and status counts)"
        if use_wrk
        else f"python fallback ({args.connections} threads, http.client)"
    )
    # Token lifetime: the whole run with a wide margin (start-up, warm-up, slow hosts).
    planned_s = 2 * args.repeats * args.duration + 2 * args.warmup
    jwt_minutes = max(60, math.ceil(planned_s / 60) * 3 + 30)
    env = server.django_env(jwt_access_minutes=jwt_minutes)
    config = server.GunicornConfig(workers=args.workers)

    prepare_database(server.DATABASE, env)
    username, password, message = server.ensure_user(env)
    print(message, flush=True)

    gunicorn = server.Gunicorn(env, config, GUNICORN_LOG)
    runs: dict[str, list[load.RunResult]] = {name: [] for name in ENDPOINTS}
    try:
        gunicorn.start()
        gunicorn.wait_healthy()
        print(f"{config.describe()} on {gunicorn.base_url} (log: {GUNICORN_LOG})", flush=True)
        token = server.obtain_token(gunicorn.port, username, password)
        authorization = {"bare": "", "me": f"Bearer {token}"}
        status, body = server.request(
            gunicorn.port, "GET", ENDPOINTS["me"], headers={"Authorization": authorization["me"]}
        )
        if status != 200:
            raise RuntimeError(f"GET {ENDPOINTS['me']} with the token answered {status}: {body[:500]!r}")

        def measure(name: str, seconds: float) -> load.RunResult:
            if use_wrk:
                return load.run_wrk(
                    gunicorn.base_url + ENDPOINTS[name],
                    connections=args.connections,
                    duration=seconds,
                    authorization=authorization[name],
                )
            return load.run_python(
                ENDPOINTS[name],
                gunicorn.port,
                connections=args.connections,
                duration=seconds,
                authorization=authorization[name],
            )

        if args.warmup > 0:
            for name in ENDPOINTS:
                result = measure(name, max(1.0, args.warmup))
                check_run(f"warm-up {name}", result)
            print(f"warm-up done ({args.warmup:g} s per endpoint)", flush=True)

        for repeat in range(1, args.repeats + 1):
            for name in ENDPOINTS:
                result = measure(name, args.duration)
                runs[name].append(result)
                extra = f" non-200 {result.statuses}" if result.non_200 else ""
                extra += f" socket errors {result.socket_errors}" if result.socket_errors else ""
                print(
                    f"repeat {repeat}/{args.repeats} {name:<5} {result.rps:9.1f} req/s  "
                    f"p50 {result.p50_ms:7.2f} ms  p95 {result.p95_ms:7.2f} ms  "
                    f"({result.requests} responses){extra}",
                    flush=True,
                )
                check_run(f"repeat {repeat} {name}", result)
    finally:
        gunicorn.stop()

    meta = {
        **cli.host_meta(),
        "connections": args.connections,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "repeats": args.repeats,
        "load_generator": load_generator,
        "gunicorn": f"{config.describe()}, timeout={config.timeout}s, bound to {server.HOST}, "
        "DEBUG=false, DB_CONN_MAX_AGE default",
        "database": server.DATABASE,
        "server_log": str(GUNICORN_LOG.relative_to(PROJECT_DIR)),
        "cache": server.CACHE_URL,
        "note": "median over repeats; shared noisy machine, load generator on the same host",
    }
    summary = summarize(runs)
    print_table(summary, args.repeats, meta)
    log_lines = web.log_summary(GUNICORN_LOG)
    if log_lines:
        print(f"\ngunicorn/Django output at WARNING or above ({GUNICORN_LOG}), distinct lines:")
        print("\n".join(log_lines))

    document = {
        "benchmark": "http_baseline",
        "meta": meta,
        "summary": summary,
        "runs": {name: [r.as_dict() for r in results] for name, results in runs.items()},
    }
    cli.write_results(RESULTS_FILE, document)
    return 0


if __name__ == "__main__":
    cli.run_main(
        main, "http_baseline", stopped="gunicorn stopped", failure_note=f"\n(server log: {GUNICORN_LOG})"
    )
