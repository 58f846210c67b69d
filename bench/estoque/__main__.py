"""estoque's reserve and ship through the service contract next to hand-written SQL.

    .venv/bin/python -m bench.estoque [--quick] [--repeats R] [--orders N] [--duration S] [--profile P]

On the ``erp_bench_estoque`` PostgreSQL database, with no broker and no
subscriber of estoque's events, alternates R times: (1) N three-line orders
reserved and shipped through ``erp.services.get("estoque")`` and by psycopg SQL
with the same database effects; (2) one hot product reserved one unit at a time
by 4 (and 1) processes through the service, by the SQL, and by the bare
conditional UPDATE. Prints medians and the ratios service / SQL (targets >= 0.5);
writes bench/results/estoque.json.
"""

from __future__ import annotations

import argparse
import os
import sys
from statistics import median

from bench.common import cli, infra
from bench.common.infra import PROJECT_DIR, RESULTS_DIR, drop_declared_variables, prepare_database

DATABASE = "erp_bench_estoque"
CACHE_URL = "redis://127.0.0.1:6379/8"
RESULTS_FILE = RESULTS_DIR / "estoque.json"
PROFILE_FILE = RESULTS_DIR / "estoque.profile.txt"
TARGET_RATIO = 0.5  # the goal for service / hand-written SQL, both parts
QUICK = {"orders": 100, "duration": 1.0, "warmup": 10, "profile": 50}

ORDERS_WORK = (
    "Part 1, per order, one transaction each: reserve = claim the command row, lock and update the "
    "three stock levels, insert three reservations and the StockReserved outbox row; ship = lock the "
    "command, the products and the levels, update products (valuation) and levels, insert three issue "
    "moves, mark reservations and command consumed, insert the StockIssued outbox row. All N reserves, "
    "then all N ships, one connection. service = erp.services.get('estoque').reserve()/.ship(); sql = "
    "the same rows by psycopg (bench/estoque/handwritten.py)."
)
HOT_WORK = (
    "Part 2, one transaction per reservation of 1 unit of one product: service = .reserve() with one "
    "line; sql = command row, conditional UPDATE ... SET reserved = reserved + 1 WHERE ... AND on_hand "
    "- reserved >= 1, reservation row, outbox row; bare = that UPDATE alone, autocommit (the ceiling). "
    "Each connection is its own forked process (no shared GIL), all start together and run for the "
    "same time."
)
LABELS = {
    "service": "service: reserve + ship (contract)",
    "sql": "baseline: hand-written SQL (psycopg)",
    "service_4": "service, 4 processes",
    "sql_4": "hand-written SQL, 4 processes",
    "service_1": "service, 1 process",
    "sql_1": "hand-written SQL, 1 process",
    "bare_1": "ceiling: bare UPDATE, 1 process",
    "bare_4": "ceiling: bare UPDATE, 4 processes",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = cli.parser("estoque", __doc__)
    p.add_argument("--quick", action="store_true", help=f"a ~30 s run: {QUICK} unless given")
    p.add_argument("--orders", type=int, default=None, help="part 1: orders per run (default 1000)")
    p.add_argument("--duration", type=float, default=None, help="part 2: seconds per run (default 2)")
    cli.add_repeats(p, "service/SQL")
    p.add_argument("--warmup", type=int, default=None, help="part 1: orders per kind before measuring (50)")
    p.add_argument(
        "--profile", type=int, default=None, help="orders for the service's breakdown (0: skip; default 100)"
    )
    args = p.parse_args(argv)
    defaults = QUICK if args.quick else {"orders": 1000, "duration": 2.0, "warmup": 50, "profile": 100}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    cli.require_between(p, args, "--orders", 10, 100_000)
    cli.require_between(p, args, "--duration", 0.2, 600, "seconds")
    cli.require_between(p, args, "--repeats", 3, 50)
    cli.require_between(p, args, "--warmup", 0, 10_000)
    cli.require_between(p, args, "--profile", 0, 10_000)
    return args


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("nan")


def summarize(order_runs: dict[str, list[dict]], hot_runs: dict[str, list[dict]]) -> dict:
    orders = {
        kind: {
            key: round(median(r[key] for r in runs), 1)
            for key in ("orders_per_s", "reserve_per_s", "ship_per_s")
        }
        for kind, runs in order_runs.items()
    }
    hot = {
        kind: {
            "per_s": round(median(r["per_s"] for r in runs), 1),
            "p50_ms": round(median(r["latency"]["p50_ms"] for r in runs), 3),
            "p95_ms": round(median(r["latency"]["p95_ms"] for r in runs), 3),
        }
        for kind, runs in hot_runs.items()
    }
    svc, sql = orders["service"], orders["sql"]
    orders_ratio = _ratio(svc["orders_per_s"], sql["orders_per_s"])
    hot_ratio = _ratio(hot["service_4"]["per_s"], hot["sql_4"]["per_s"])
    return {
        "orders": orders,
        "orders_ratio": {
            "orders_per_s": orders_ratio,
            "reserve_per_s": _ratio(svc["reserve_per_s"], sql["reserve_per_s"]),
            "ship_per_s": _ratio(svc["ship_per_s"], sql["ship_per_s"]),
            "per_repeat": [
                _ratio(s["orders_per_s"], q["orders_per_s"])
                for s, q in zip(order_runs["service"], order_runs["sql"], strict=True)
            ],
        },
        "hot": hot,
        "hot_ratio": {
            "service_4_over_sql_4": hot_ratio,
            "service_1_over_sql_1": _ratio(hot["service_1"]["per_s"], hot["sql_1"]["per_s"]),
            "sql_4_over_bare_4": _ratio(hot["sql_4"]["per_s"], hot["bare_4"]["per_s"]),
            "per_repeat": [
                _ratio(s["per_s"], q["per_s"])
                for s, q in zip(hot_runs["service_4"], hot_runs["sql_4"], strict=True)
            ],
        },
        "target_ratio": TARGET_RATIO,
        "orders_meet_target": orders_ratio >= TARGET_RATIO,
        "hot_meets_target": hot_ratio >= TARGET_RATIO,
    }


def _verdict(ratio: float) -> str:
    return f"{'meets' if ratio >= TARGET_RATIO else 'BELOW'} the >= {TARGET_RATIO} target"


def print_summary(s: dict, meta: dict) -> None:
    print()
    print(
        f"estoque service vs hand-written SQL: median of {meta['repeats']} repeats; {meta['cpu_count']} CPUs "
        "shared by the bench processes and PostgreSQL - compare ratios, not absolute numbers."
    )
    load = meta["load_average_1_5_15_min"]
    print(
        f"Load average (1/5/15 min) before {load['before']}, after {load['after']}: other work on the "
        "host moves the absolute figures; each repeat's ratio compares runs made seconds apart."
    )
    print(meta["settings"])
    print(ORDERS_WORK)
    print()
    rule = cli.print_table_header(
        f"1. {meta['orders']} three-line orders", 44, ("orders/s", "reserve/s", "ship/s"), 11
    )
    for kind in ("service", "sql"):
        row = s["orders"][kind]
        print(
            f"{LABELS[kind]:<44}{row['orders_per_s']:>11.1f}{row['reserve_per_s']:>11.1f}{row['ship_per_s']:>11.1f}"
        )
    print(rule)
    r = s["orders_ratio"]
    print(
        f"{'ratio service / SQL':<44}{r['orders_per_s']:>11.3f}{r['reserve_per_s']:>11.3f}{r['ship_per_s']:>11.3f}"
        f"   {_verdict(r['orders_per_s'])}"
    )
    print("   per-repeat ratios (orders/s): " + ", ".join(f"{x:.3f}" for x in r["per_repeat"]))
    print()
    print(HOT_WORK)
    print()
    rule = cli.print_table_header(
        f"2. one hot product, {meta['duration']:g} s per run", 44, ("resv/s", "p50 ms", "p95 ms"), 11
    )
    for kind, row in s["hot"].items():
        print(f"{LABELS[kind]:<44}{row['per_s']:>11.1f}{row['p50_ms']:>11.2f}{row['p95_ms']:>11.2f}")
    print(rule)
    h = s["hot_ratio"]
    print(f"{'ratio service / SQL, 4 processes':<44}{h['service_4_over_sql_4']:>11.3f}   "
          f"{_verdict(h['service_4_over_sql_4'])}")  # fmt: skip
    print(f"{'ratio service / SQL, 1 process':<44}{h['service_1_over_sql_1']:>11.3f}")
    print(f"{'ratio SQL / bare UPDATE, 4 processes':<44}{h['sql_4_over_bare_4']:>11.3f}")
    print("   per-repeat ratios (4 processes): " + ", ".join(f"{x:.3f}" for x in h["per_repeat"]))


def print_profile(p: dict) -> None:
    print()
    print(f"Service breakdown over {p['orders']} orders (in-process, statements timed; cProfile separately):")
    for phase in ("reserve", "ship"):
        f = p[phase]
        print(
            f"   {phase}: {f['ms_per_call']:.2f} ms per call ({p['sql_ms_per_call'][phase]:.2f} ms by hand-written "
            f"SQL); {f['statements_per_call']:g} statements + COMMIT {f['sql_and_commit_ms_per_call']:.2f} ms, "
            f"Python {f['python_ms_per_call']:.2f} ms"
        )
        for cat, v in f["by_category"].items():
            print(f"      {cat:<34}{v['per_call']:>6g} per call {v['ms_per_call']:>9.3f} ms per call")
    print(f"   cProfile: {os.path.relpath(p['profile_file'], PROJECT_DIR)}")


def check_same_effects(order_runs: dict[str, list[dict]]) -> None:
    """The baseline is only a baseline if it leaves what the service leaves."""
    for service_run, sql_run in zip(order_runs["service"], order_runs["sql"], strict=True):
        if service_run["effects"] != sql_run["effects"]:
            raise RuntimeError(
                "the hand-written SQL left other effects than the service:\n"
                f"service: {service_run['effects']}\nsql:     {sql_run['effects']}"
            )
        if not service_run["effects"]["value_matches_ledger"]:
            raise RuntimeError("stock value and ledger disagree after the run")


def measure_all(args) -> tuple[dict, dict, dict | None]:
    from bench.estoque import data, hot, orders

    order_runs: dict[str, list[dict]] = {kind: [] for kind in orders.KINDS}
    hot_runs: dict[str, list[dict]] = {kind: [] for kind in hot.KINDS}
    profile = None
    try:
        measured = cli.alternation(
            orders.KINDS,
            orders.run,
            warmup=args.warmup,
            repeats=args.repeats,
            size=args.orders,
            label="orders: ",
        )
        for repeat, kind, result in measured:
            order_runs[kind].append(result)
            print(
                f"orders repeat {repeat}/{args.repeats} {kind:<8} {result['orders_per_s']:8.1f} orders/s  "
                f"reserve {result['reserve_per_s']:8.1f}/s  ship {result['ship_per_s']:8.1f}/s",
                flush=True,
            )
        check_same_effects(order_runs)
        measured = cli.alternation(hot.KINDS, hot.run, warmup=0, repeats=args.repeats, size=args.duration)
        for repeat, kind, result in measured:
            hot_runs[kind].append(result)
            lat = result["latency"]
            print(
                f"hot repeat {repeat}/{args.repeats} {kind:<10} {result['per_s']:8.1f}/s  "
                f"p50 {lat['p50_ms']:6.2f} ms  p95 {lat['p95_ms']:6.2f} ms  ({result['count']} in "
                f"{result['elapsed_s']:.2f} s)",
                flush=True,
            )
        if args.profile:
            from bench.estoque import profile as profiling

            profile = profiling.profile(args.profile, PROFILE_FILE)
    finally:
        try:
            data.db().close()  # forked children may have left it unusable
            with data.db().cursor() as cursor:
                cursor.execute(f"TRUNCATE {', '.join(data.TABLES)} CASCADE")
        except Exception as exc:  # noqa: BLE001 - cleanup must not hide the real error
            print(f"warning: could not empty the tables: {exc}", file=sys.stderr)
    return order_runs, hot_runs, profile


def setup_django(env: dict[str, str]) -> dict:
    """Django in this process on the benchmark's environment; what was checked."""
    drop_declared_variables(os.environ)
    os.environ.update(env)
    import django

    django.setup()
    from celery import current_app
    from django.conf import settings

    from bench.common import probes
    from bench.estoque import data

    # No broker: nothing may leave the process. With no subscriber, publish()
    # writes the outbox row only and registers no on-commit hand-over at all.
    probes.require_plain_django(data.db(), "estoque")
    dropped = data.drop_subscribers()
    return {
        "debug": settings.DEBUG,
        "celery_broker_url": settings.CELERY_BROKER_URL,
        "celery_task_always_eager": current_app.conf.task_always_eager,
        "subscribers_removed": dropped,
        "db_conn_max_age": data.db().settings_dict["CONN_MAX_AGE"],
        "db_engine": data.db().settings_dict["ENGINE"],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli.exit_on_sigterm()
    env = infra.django_env(database=DATABASE, cache_url=CACHE_URL)
    prepare_database(DATABASE, env)
    checked = setup_django(env)
    removed = ", ".join(checked["subscribers_removed"]) or "none were registered"
    settings_line = (
        f"Settings: DEBUG={checked['debug']}, no broker (CELERY_BROKER_URL empty, task_always_eager), "
        f"{checked['db_engine']}, CONN_MAX_AGE={checked['db_conn_max_age']}; estoque's events have no "
        f"subscriber (removed in this process: {removed}), so publish() writes one outbox row and no "
        "Delivery rows, as the hand-written SQL does."
    )
    load_before = os.getloadavg()
    order_runs, hot_runs, profile = measure_all(args)
    load = {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]}
    meta = {
        **cli.host_meta(),
        "orders": args.orders,
        "duration": args.duration,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "database": DATABASE,
        "settings": settings_line,
        "load_average_1_5_15_min": load,
        "checked": checked,
        "orders_work": ORDERS_WORK,
        "hot_work": HOT_WORK,
    }
    summary = summarize(order_runs, hot_runs)
    print_summary(summary, meta)
    if profile:
        print_profile(profile)
    document = {
        "benchmark": "estoque",
        "meta": meta,
        "summary": summary,
        "profile": profile,
        "runs": {"orders": order_runs, "hot": hot_runs},
    }
    cli.write_results(RESULTS_FILE, document)
    return 0


if __name__ == "__main__":
    cli.run_main(main, "estoque bench", stopped="its processes stopped")
