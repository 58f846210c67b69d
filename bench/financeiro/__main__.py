"""financeiro's posting and reports through the ledger service next to hand-written SQL.

    .venv/bin/python -m bench.financeiro [--quick] [--repeats R] [--entries E] [--lines N] [--reload]

On the ``erp_bench_financeiro`` PostgreSQL database, with no broker: (0) makes
sure the ledger holds exactly N lines of the seeded workload (bulk-loaded by
COPY with every trigger firing, or reused from an earlier run); (1) alternates
R times E two-line and E five-line entries posted one per transaction through
``erp.services.get("financeiro").post_entry`` and by psycopg SQL with the same
effects, then 4 and 1 processes posting through the service for the same time
(all of it removed again afterwards); (2) checks the service's trial balance
against the bare GROUP BY over the lines, then times the trial balance, balance
sheet and income statement at three dates next to that GROUP BY. Prints medians
and ratios against the targets; writes bench/results/financeiro.json.
"""

from __future__ import annotations

import argparse
import os
from statistics import median

import psycopg

from bench.common import cli, infra
from bench.common.infra import PROJECT_DIR, RESULTS_DIR, drop_declared_variables, prepare_database

DATABASE = "erp_bench_financeiro"
CACHE_URL = "redis://127.0.0.1:6379/9"
RESULTS_FILE = RESULTS_DIR / "financeiro.json"
PROFILE_FILE = RESULTS_DIR / "financeiro.profile.txt"
TARGET_PER_S = {"service_2": 650, "service_5": 520}
TARGET_RATIO = 0.5  # service / hand-written SQL, posting
TARGET_REPORT_MS = 50  # every report as of any date, and never slower than the bare GROUP BY
DEFAULTS = {"entries": 1000, "duration": 3.0, "warmup": 50, "lines": 1_000_000, "profile": 200, "rounds": 5}
QUICK = {"entries": 200, "duration": 1.0, "warmup": 20, "lines": 100_000, "profile": 50, "rounds": 3}
LABELS = {
    "service_2": "service, 2-line entries",
    "sql_2": "hand-written SQL, 2-line entries",
    "service_5": "service, 5-line entries",
    "sql_5": "hand-written SQL, 5-line entries",
    "service_x4": "service, 4 processes (75/25 mix)",
    "service_x1": "service, 1 process (75/25 mix)",
    "trial_balance": "trial_balance(as_of)",
    "balance_sheet": "balance_sheet(as_of)",
    "income_statement": "income_statement(2025-01-01, as_of)",
    "group_by": "bare GROUP BY over the lines",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = cli.parser("financeiro", __doc__)
    p.add_argument("--quick", action="store_true", help=f"a short run: {QUICK} unless given")
    p.add_argument("--entries", type=int, default=None, help="posting: entries per run (default 1000)")
    p.add_argument("--duration", type=float, default=None, help="concurrent posting: seconds per run (3)")
    cli.add_repeats(p, "service/SQL")
    p.add_argument("--warmup", type=int, default=None, help="posting: entries per kind before measuring (50)")
    p.add_argument(
        "--lines", type=int, default=None, help="reports: journal lines loaded (default 1,000,000)"
    )
    p.add_argument("--reload", action="store_true", help="load the lines even when the database holds them")
    p.add_argument("--seed", default="1", help="the workload's seed (default 1)")
    p.add_argument("--rounds", type=int, default=None, help="reports: timed calls of each per date (5)")
    p.add_argument(
        "--profile", type=int, default=None, help="posts per phase of the breakdown (0: skip; 200)"
    )
    p.add_argument("--only", choices=("posting", "reports"), help="run one part (posting: no load)")
    args = p.parse_args(argv)
    for name, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    cli.require_between(p, args, "--entries", 10, 100_000)
    cli.require_between(p, args, "--duration", 0.2, 600, "seconds")
    cli.require_between(p, args, "--repeats", 3, 50)
    cli.require_between(p, args, "--warmup", 0, 10_000)
    cli.require_between(p, args, "--lines", 1000, 100_000_000)
    cli.require_between(p, args, "--rounds", 3, 100)
    cli.require_between(p, args, "--profile", 0, 10_000)
    return args


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("nan")


def setup_django(env: dict[str, str]) -> dict:
    """Django in this process on the benchmark's environment; what was checked."""
    drop_declared_variables(os.environ)
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings

    from bench.common import probes
    from bench.financeiro import posting

    probes.require_plain_django(posting.db(), "financeiro")
    return {
        "backend": settings.SERVICE_BACKENDS["financeiro"]["BACKEND"],
        "db_engine": posting.db().settings_dict["ENGINE"],
        "db_conn_max_age": posting.db().settings_dict["CONN_MAX_AGE"],
    }


def ensure_ledger(conn, args, accounts, periods) -> dict:
    from bench.financeiro import load

    found = None if args.reload else load.reusable(conn, args.lines, args.seed)
    if found:
        print(f"ledger: reusing the {args.lines:,} lines loaded {found['loaded_at']}", flush=True)
        return {**found, "reused": True}
    print(f"ledger: loading {args.lines:,} lines (seed {args.seed!r})", flush=True)
    loaded = load.load(conn, args.lines, args.seed, accounts, periods)
    print(
        f"ledger: {loaded['lines']:,} lines ({loaded['entries']:,} entries) in {loaded['seconds']:.1f} s, "
        f"{loaded['lines_per_s']:,} lines/s; VACUUM (ANALYZE) {loaded['vacuum_seconds']:.1f} s",
        flush=True,
    )
    return loaded


def measure_posting(conn, args, accounts) -> dict:
    from bench.financeiro import posting

    runs: dict[str, list[dict]] = {kind: [] for kind in (*posting.KINDS, *posting.CONCURRENT_KINDS)}
    profile = None
    with posting.Scratch(conn):

        def one(kind: str, n: int) -> dict:
            return posting.run(kind, n, accounts=accounts)

        measured = cli.alternation(
            posting.KINDS, one, warmup=args.warmup, repeats=args.repeats, size=args.entries, label="posting: "
        )
        for repeat, kind, result in measured:
            runs[kind].append(result)
            print(
                f"posting repeat {repeat}/{args.repeats} {kind:<10} {result['entries_per_s']:8.1f} entries/s",
                flush=True,
            )

        def concurrent(kind: str, duration: float) -> dict:
            return posting.run_concurrent(kind, duration, accounts=accounts)

        measured = cli.alternation(
            posting.CONCURRENT_KINDS, concurrent, warmup=0, repeats=args.repeats, size=args.duration
        )
        for repeat, kind, result in measured:
            runs[kind].append(result)
            print(
                f"concurrent repeat {repeat}/{args.repeats} {kind:<10} {result['entries_per_s']:8.1f} entries/s "
                f"({result['count']} in {result['elapsed_s']:.2f} s)",
                flush=True,
            )
        if args.profile:
            profile = posting.profile(args.profile, accounts, PROFILE_FILE)
        print("posting: removing what was posted", flush=True)
    rates = {kind: round(median(r["entries_per_s"] for r in rs), 1) for kind, rs in runs.items()}
    ratios = {
        k: {
            "ratio": _ratio(rates[f"service_{k}"], rates[f"sql_{k}"]),
            "per_repeat": [
                _ratio(s["entries_per_s"], q["entries_per_s"])
                for s, q in zip(runs[f"service_{k}"], runs[f"sql_{k}"], strict=True)
            ],
        }
        for k in ("2", "5")
    }
    speedup = _ratio(rates["service_x4"], rates["service_x1"])
    return {
        "entries_per_s": rates,
        "ratio_service_over_sql": ratios,
        "speedup_4_over_1": speedup,
        "meets": {
            "service_2": rates["service_2"] >= TARGET_PER_S["service_2"],
            "service_5": rates["service_5"] >= TARGET_PER_S["service_5"],
            "ratio_2": ratios["2"]["ratio"] >= TARGET_RATIO,
            "ratio_5": ratios["5"]["ratio"] >= TARGET_RATIO,
            "concurrent_faster": speedup > 1,
        },
        "runs": runs,
        "profile": profile,
    }


def print_posting(s: dict, args) -> None:
    print()
    rule = cli.print_table_header(
        f"1. posting, {args.entries} entries per run", 46, ("entries/s", "target"), 12
    )
    r = s["entries_per_s"]
    for k in ("2", "5"):
        service, sql = f"service_{k}", f"sql_{k}"
        print(
            f"{LABELS[service]:<46}{r[service]:>12.1f}{'>= ' + str(TARGET_PER_S[service]):>12}"
            f"   {'meets' if s['meets'][service] else 'BELOW'}"
        )
        print(f"{LABELS[sql]:<46}{r[sql]:>12.1f}")
        ratio = s["ratio_service_over_sql"][k]
        print(
            f"{'ratio service / SQL, ' + k + ' lines':<46}{ratio['ratio']:>12.3f}{'>= 0.5':>12}"
            f"   {'meets' if s['meets']['ratio_' + k] else 'BELOW'}   per repeat "
            + ", ".join(f"{x:.3f}" for x in ratio["per_repeat"])
        )
    print(rule)
    for kind in ("service_x4", "service_x1"):
        print(f"{LABELS[kind]:<46}{r[kind]:>12.1f}")
    print(
        f"{'4 processes / 1 process':<46}{s['speedup_4_over_1']:>12.3f}{'> 1':>12}"
        f"   {'meets' if s['meets']['concurrent_faster'] else 'BELOW'}"
    )
    p = s["profile"]
    if p:
        print()
        print(f"Service breakdown over {p['posts']} posts per phase (in-process, statements timed):")
        for phase, f in p["phases"].items():
            sql = f" (hand-written SQL {f['sql_ms_per_call']:.2f} ms)" if "sql_ms_per_call" in f else ""
            print(
                f"   {phase}: {f['ms_per_call']:.2f} ms per post{sql}; {f['statements_per_call']:g} statements "
                f"+ COMMIT {f['sql_and_commit_ms_per_call']:.2f} ms, Python {f['python_ms_per_call']:.2f} ms"
            )
            for cat, v in f["by_category"].items():
                print(f"      {cat:<34}{v['per_call']:>6g} per post {v['ms_per_call']:>9.3f} ms per post")
        print(f"   cProfile: {os.path.relpath(p['profile_file'], PROJECT_DIR)}")


def summarize_reports(measured: dict) -> dict:
    worst = max(
        d["ms"][r]
        for d in measured["dates"].values()
        for r in ("trial_balance", "balance_sheet", "income_statement")
    )
    slower = [
        f"{label} {r}"
        for label, d in measured["dates"].items()
        for r, x in d["ratio_to_group_by"].items()
        if x > 1
    ]
    return {
        **measured,
        "worst_service_ms": worst,
        "slower_than_group_by": slower,
        "meets": worst <= TARGET_REPORT_MS and not slower,
    }


def print_reports(s: dict, lines: int, loaded: dict) -> None:
    print()
    dates = s["dates"]
    rule = cli.print_table_header(
        f"2. reports at {lines:,} lines, ms", 40, tuple(f"as of {d['as_of']}" for d in dates.values()), 18
    )
    for report in ("trial_balance", "balance_sheet", "income_statement", "group_by"):
        print(f"{LABELS[report]:<40}" + "".join(f"{d['ms'][report]:>18.2f}" for d in dates.values()))
    print(rule)
    for report in ("trial_balance", "balance_sheet", "income_statement"):
        print(
            f"{'ratio ' + report + ' / GROUP BY':<40}"
            + "".join(f"{d['ratio_to_group_by'][report]:>18.4f}" for d in dates.values())
        )
    verdict = "meets" if s["meets"] else "BELOW"
    print(
        f"slowest service report {s['worst_service_ms']:.2f} ms (target <= {TARGET_REPORT_MS} ms, never slower "
        f"than the GROUP BY): {verdict}"
    )
    st = s["settings"]
    print(
        f"max_parallel_workers_per_gather = {st['max_parallel_workers_per_gather']} (Django's connection: "
        f"{st['max_parallel_workers_per_gather_django']}); the bare GROUP BY plans "
        f"{st['group_by_workers_planned']} workers"
    )
    how = f"reused (loaded {loaded['loaded_at']})" if loaded["reused"] else "loaded in this run"
    print(
        f"ledger: {loaded['lines']:,} lines {how}: loading took {loaded['seconds']:.1f} s "
        f"({loaded['lines'] / loaded['seconds']:,.0f} lines/s), then VACUUM (ANALYZE) {loaded['vacuum_seconds']:.1f} s"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli.exit_on_sigterm()
    env = infra.django_env(database=DATABASE, cache_url=CACHE_URL)
    prepare_database(DATABASE, env)
    checked = setup_django(env)
    from bench.financeiro import data, posting, reports

    load_before = os.getloadavg()
    loaded = posted = reported = checks = None
    with psycopg.connect(posting.dsn()) as conn:
        accounts, periods = data.ensure_chart(conn), data.ensure_periods(conn)
        if args.only != "posting":
            loaded = ensure_ledger(conn, args, accounts, periods)
        if args.only != "reports":
            posted = measure_posting(conn, args, accounts)
        posting.db().close()  # forked children may have left it unusable
        if args.only != "posting":
            checks = reports.check()
            print(
                "check: the service's trial balance equals the GROUP BY over the lines at every date",
                flush=True,
            )
            reported = summarize_reports(reports.measure(args.rounds))
        held = conn.execute("SELECT count(*) FROM financeiro_journalline").fetchone()[0]
    load = {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]}
    print()
    print(
        f"financeiro service vs hand-written SQL, median of {args.repeats} repeats (reports: {args.rounds} "
        f"rounds); {os.cpu_count()} CPUs shared by the bench and PostgreSQL. Load average before "
        f"{load['before']}, after {load['after']}."
    )
    print(
        f"Service {checked['backend']}, {checked['db_engine']}, no broker; the ledger holds {held:,} lines."
    )
    if posted:
        print_posting(posted, args)
    if reported:
        print_reports(reported, args.lines, loaded)
    meta = {
        **cli.host_meta(),
        **{
            k: getattr(args, k)
            for k in ("entries", "duration", "repeats", "warmup", "lines", "seed", "rounds")
        },
        "only": args.only,
        "database": DATABASE,
        "checked": checked,
        "load_average_1_5_15_min": load,
        "ledger_lines_at_end": held,
        "periods": len(periods),
        "targets": {"entries_per_s": TARGET_PER_S, "ratio": TARGET_RATIO, "report_ms": TARGET_REPORT_MS},
    }
    document = {
        "benchmark": "financeiro",
        "meta": meta,
        "load": loaded,
        "posting": posted,
        "reports": reported,
        "checks": checks,
    }
    cli.write_results(RESULTS_FILE, document)
    return 0


if __name__ == "__main__":
    cli.run_main(main, "financeiro bench", stopped="its processes stopped")
