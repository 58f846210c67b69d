"""Where the service path's time goes, in the bench process: ``n`` three-line
orders reserved then shipped through the contract with every SQL statement
timed by category (COMMIT apart; the rest of each call is Python), the same
for the hand-written SQL's wall time, then a cProfile of separate orders
written to bench/results/estoque.profile.txt. Import after ``django.setup()``."""

from __future__ import annotations

import cProfile
import re
import time
from pathlib import Path

from bench.common.sqlprofile import StatementTimer, write_profile
from bench.estoque import data, orders

CATEGORIES = (
    ("savepoint", re.compile(r"^(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)")),
    ("select warehouse", re.compile(r'^SELECT .* FROM "estoque_warehouse"', re.S)),
    ("insert command (claim)", re.compile(r"^INSERT INTO estoque_stockcommand", re.I)),
    ("lock command", re.compile(r'^SELECT .* FROM "estoque_stockcommand".* FOR (NO KEY )?UPDATE', re.S)),
    ("select reservations", re.compile(r'^SELECT .* FROM "estoque_reservation"', re.S)),
    ("lock products", re.compile(r'^SELECT .* FROM "estoque_product".* FOR (NO KEY )?UPDATE', re.S)),
    ("lock levels", re.compile(r'^SELECT .* FROM "estoque_stocklevel".* FOR (NO KEY )?UPDATE', re.S)),
    ("update levels", re.compile(r'^UPDATE "estoque_stocklevel"')),
    ("update products", re.compile(r'^UPDATE "estoque_product"')),
    ("update reservations", re.compile(r'^UPDATE "estoque_reservation"')),
    ("update command", re.compile(r'^UPDATE "estoque_stockcommand"')),
    ("insert reservations", re.compile(r'^INSERT INTO "estoque_reservation"')),
    ("insert moves", re.compile(r'^INSERT INTO "estoque_stockmove"')),
    ("insert outbox", re.compile(r"erp_outboxevent")),
    ("company (timezone)", re.compile(r'"core_')),
)
PHASES = ("reserve", "ship")


def _phase_figures(timer: StatementTimer, phase: str, wall: list[float]) -> dict:
    n = len(wall)
    sql = timer.sql_seconds(phase)
    return {
        "ms_per_call": round(sum(wall) / n * 1000, 3),
        "statements_per_call": round(timer.statements(phase) / n, 2),
        "sql_and_commit_ms_per_call": round(sql / n * 1000, 3),
        "python_ms_per_call": round((sum(wall) - sql) / n * 1000, 3),
        "by_category": timer.per_call(phase, n),
    }


def _service_calls(stock: data.Stock, first: int, n: int, timer: StatementTimer | None = None):
    path = orders.PATHS["service"](stock)
    wall: dict[str, list[float]] = {phase: [] for phase in PHASES}
    refs = [(data.order_ref(i), data.order_lines(stock, i)) for i in range(first, first + n)]
    for phase in PHASES:
        if timer:
            timer.phase = phase
        for ref, lines in refs:
            a = time.perf_counter()
            path.reserve(ref, lines) if phase == "reserve" else path.ship(ref)
            wall[phase].append(time.perf_counter() - a)
    return wall


def _sql_calls(stock: data.Stock, first: int, n: int) -> dict[str, float]:
    path = orders.PATHS["sql"](stock)
    refs = [(data.order_ref(i), data.order_lines(stock, i)) for i in range(first, first + n)]
    try:
        a = time.perf_counter()
        for ref, lines in refs:
            path.reserve(ref, lines)
        b = time.perf_counter()
        for ref, _lines in refs:
            path.ship(ref)
        c = time.perf_counter()
    finally:
        path.close()
    return {"reserve": round((b - a) / n * 1000, 3), "ship": round((c - b) / n * 1000, 3)}


def profile(n: int, profile_path: Path) -> dict:
    stock = data.reset()
    connection = data.db()
    connection.ensure_connection()
    _service_calls(stock, 0, 20)  # warm: caches, the company timezone
    timer = StatementTimer(CATEGORIES)
    with timer.recording(connection):
        wall = _service_calls(stock, 100, n, timer)
    sql_ms = _sql_calls(stock, 100 + n, n)
    profiler = cProfile.Profile()
    profiler.enable()
    _service_calls(stock, 100 + 2 * n, n)
    profiler.disable()
    write_profile(
        profiler,
        profile_path,
        f"cProfile of {n} three-line orders through the estoque service (reserve, then ship), in-process",
    )
    return {
        "orders": n,
        **{phase: _phase_figures(timer, phase, wall[phase]) for phase in PHASES},
        "sql_ms_per_call": sql_ms,
        "profile_file": str(profile_path),
    }
