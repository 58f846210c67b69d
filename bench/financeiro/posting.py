"""The posting part: entries posted one per transaction, through the service
contract or by the hand-written SQL, into the ledger as the run found it (the
loaded N lines, or an empty one), and removed again afterwards.

- ``run``: n two-line or five-line entries one after another on one connection;
- ``run_concurrent``: 1 or 4 processes posting entries of the workload mix
  through the service for the same time from one start. Each is a process of
  its own (forked after ``django.setup()``, Django's connections closed first),
  as gunicorn or Celery workers would be: threads would share one GIL;
- ``profile``: every statement of the service's posts timed by category;
- ``Scratch``: what the part posted is removed at its end (entries of source
  ``bench-post`` and their lines, deleted with triggers off for that
  transaction, and the day balances put back from a copy taken before), so
  the reports part reads exactly the N loaded lines and the next run can reuse them.

Import after ``django.setup()``."""

from __future__ import annotations

import cProfile
import random
import re
import time
import traceback
from pathlib import Path

import psycopg
from django.db import connections

from bench.common import forks
from bench.common.sqlprofile import StatementTimer, write_profile
from bench.financeiro import data, handwritten, load
from erp import services as registry
from erp.db import alias
from financeiro.contract import EntryLineInput

KINDS = ("service_2", "sql_2", "service_5", "sql_5")
CONCURRENT_KINDS = ("service_x4", "service_x1")
WARMUP_POSTS = 5  # per process, before the common start (not counted)
CATEGORIES = (
    ("savepoint", re.compile(r"^(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)")),
    ("select accounts", re.compile(r'^SELECT .* FROM "financeiro_account"', re.S)),
    ("select period", re.compile(r'^SELECT .* FROM "financeiro_fiscalperiod"', re.S)),
    ("select entry by source", re.compile(r'^SELECT .* FROM "financeiro_journalentry"', re.S)),
    ("select its lines", re.compile(r'^SELECT .* FROM "financeiro_journalline"', re.S)),
    ("insert entry + lines", re.compile(r"^\s*WITH entry AS \(\s*INSERT", re.S)),
)


def service():
    return registry.get("financeiro")


def db():
    return connections[alias("financeiro")]


def dsn() -> str:
    """The psycopg DSN of financeiro's database, for the hand-written SQL."""
    s = db().settings_dict
    return (
        f"host={s['HOST'] or '127.0.0.1'} port={s['PORT'] or 5432} user={s['USER']} "
        f"password={s['PASSWORD']} dbname={s['NAME']}"
    )


def _inputs(entry: data.Entry):
    day, lines = entry
    return day, [EntryLineInput(account_id=a, debit=data.cents(d), credit=data.cents(c)) for a, d, c in lines]


class Scratch:
    """``with Scratch(conn):`` the posting part; afterwards the ledger is as before."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def __enter__(self):
        with self.conn.transaction():
            self.last_line = self.conn.execute(
                "SELECT coalesce(max(id), 0) FROM financeiro_journalline"
            ).fetchone()[0]
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS bench_financeiro_daybalance (LIKE financeiro_accountdaybalance)"
            )
            self.conn.execute("TRUNCATE bench_financeiro_daybalance")
            self.conn.execute(
                "INSERT INTO bench_financeiro_daybalance SELECT * FROM financeiro_accountdaybalance"
            )
        return self

    def __exit__(self, *exc) -> None:
        with self.conn.transaction():
            self.conn.execute("SET LOCAL session_replication_role = replica")  # no immutability trigger
            self.conn.execute("DELETE FROM financeiro_journalline WHERE id > %s", (self.last_line,))
            self.conn.execute("DELETE FROM financeiro_journalentry WHERE source = %s", (data.POST_SOURCE,))
            self.conn.execute("TRUNCATE financeiro_accountdaybalance")
            self.conn.execute(
                "INSERT INTO financeiro_accountdaybalance SELECT * FROM bench_financeiro_daybalance"
            )
        load.vacuum(self.conn)


def run(kind: str, n: int, *, accounts: list) -> dict:
    """n entries of 2 or 5 lines (the same n in every run of that size)."""
    path, k = kind.split("_")
    entries = data.entries(f"post-{k}", accounts, n, int(k))
    memo = f"bench {kind}"
    if path == "service":
        svc, calls = service(), [_inputs(e) for e in entries]
        t0 = time.perf_counter()
        for day, lines in calls:
            svc.post_entry(date=day, lines=lines, memo=memo, source=data.POST_SOURCE)
        seconds = time.perf_counter() - t0
    else:
        calls = [handwritten.prepared(e) for e in entries]
        with handwritten.connect(dsn()) as conn:
            t0 = time.perf_counter()
            for args in calls:
                handwritten.post(conn, *args, memo)
            seconds = time.perf_counter() - t0
    return {"kind": kind, "n": n, "seconds": round(seconds, 4), "entries_per_s": round(n / seconds, 1)}


def _child(worker: int, accounts: list, duration: float, barrier, results) -> None:
    try:
        svc, rng = service(), random.Random(f"concurrent-{worker}")

        def post() -> None:
            k = 5 if rng.random() < data.FIVE_LINE_SHARE else 2
            day, lines = _inputs(data.draw_entry(rng, accounts, k))
            svc.post_entry(date=day, lines=lines, memo=f"bench concurrent {worker}", source=data.POST_SOURCE)

        for _ in range(WARMUP_POSTS):
            post()
        barrier.wait()
        start = now = time.monotonic()
        deadline, count = start + duration, 0
        while now < deadline:
            post()
            count += 1
            now = time.monotonic()
        results.put({"worker": worker, "count": count, "start": start, "end": now})
    except BaseException:  # noqa: BLE001 - reported to the parent, which fails the run
        results.put({"worker": worker, "error": traceback.format_exc()})
        barrier.abort()
    finally:
        connections.close_all()  # the process ends with os._exit: say goodbye to PostgreSQL


def run_concurrent(kind: str, duration: float, *, accounts: list) -> dict:
    processes = int(kind.removeprefix("service_x"))
    connections.close_all()  # forked children open their own
    reports = forks.run_together(
        processes,
        _child,
        lambda w: (w, accounts, duration),
        timeout=60 + duration,
        what=f"{kind}: a posting process",
    )
    total = sum(r["count"] for r in reports)
    elapsed = max(r["end"] for r in reports) - min(r["start"] for r in reports)
    return {
        "kind": kind,
        "processes": processes,
        "count": total,
        "elapsed_s": round(elapsed, 4),
        "entries_per_s": round(total / elapsed, 1),
    }


def profile(n: int, accounts: list, profile_path: Path) -> dict:
    """Statements and their time per post: 2-line and 5-line entries, then 2-line
    ones carrying a ``source_ref`` (the idempotent path automatic postings take);
    the hand-written SQL's time per post next to it; a cProfile of 2-line posts."""
    svc = service()
    timer = StatementTimer(CATEGORIES)
    phases = {"2 lines": (2, False), "5 lines": (5, False), "2 lines, source_ref": (2, True)}
    figures = {}
    for i, (phase, (k, with_ref)) in enumerate(phases.items()):
        calls = [_inputs(e) for e in data.entries(f"profile-{k}", accounts, n, k)]
        timer.phase = phase
        wall = 0.0
        with timer.recording(db()):
            for j, (day, lines) in enumerate(calls):
                ref = f"P{time.time_ns()}-{i}-{j}" if with_ref else ""
                a = time.perf_counter()
                svc.post_entry(
                    date=day, lines=lines, memo="bench profile", source=data.POST_SOURCE, source_ref=ref
                )
                wall += time.perf_counter() - a
        sql = timer.sql_seconds(phase)
        figures[phase] = {
            "ms_per_call": round(wall / n * 1000, 3),
            "statements_per_call": round(timer.statements(phase) / n, 2),
            "sql_and_commit_ms_per_call": round(sql / n * 1000, 3),
            "python_ms_per_call": round((wall - sql) / n * 1000, 3),
            "by_category": timer.per_call(phase, n),
        }
    for k in (2, 5):
        calls = [handwritten.prepared(e) for e in data.entries(f"profile-{k}", accounts, n, k)]
        with handwritten.connect(dsn()) as conn:
            a = time.perf_counter()
            for args in calls:
                handwritten.post(conn, *args, "bench profile")
            figures[f"{k} lines"]["sql_ms_per_call"] = round((time.perf_counter() - a) / n * 1000, 3)
    calls = [_inputs(e) for e in data.entries("profile-cprofile", accounts, n, 2)]
    profiler = cProfile.Profile()
    profiler.enable()
    for day, lines in calls:
        svc.post_entry(date=day, lines=lines, memo="bench profile", source=data.POST_SOURCE)
    profiler.disable()
    write_profile(profiler, profile_path, f"cProfile of {n} two-line posts through the financeiro service")
    return {"posts": n, "phases": figures, "profile_file": str(profile_path)}
