"""Part 2: one hot product, C connections each reserving one unit at a time for
a fixed time, through the service contract, by the hand-written SQL, or the
bare conditional UPDATE (autocommit) as the ceiling.

Each connection is a process of its own (forked from the bench process after
``django.setup()``, Django's connections closed first), as gunicorn or Celery
workers would be: threads would share one GIL, so the service's Python would be
serialised and its row-lock waits hidden behind it, while the SQL baseline
spends most of its time outside the GIL. Import after ``django.setup()``.
"""

from __future__ import annotations

import os
import time
import traceback
from decimal import Decimal

from django.db import connections

from bench.common import forks
from bench.common.stats import percentiles_ms
from bench.estoque import data, handwritten
from erp.models import OutboxEvent
from estoque.contract import Line
from estoque.models import Reservation, StockCommand, StockLevel

KINDS = ("service_4", "sql_4", "service_1", "sql_1", "bare_1", "bare_4")
WARMUP_OPS = 5  # per process, before the common start (not counted)
ONE = Decimal("1.000")


def _operation(kind: str, stock: data.Stock, worker: int):
    """(the callable doing one reservation, given a counter for its ref; the
    callable closing its connection)."""
    path = kind.split("_")[0]
    if path == "service":
        svc = data.service()
        lines = [Line(product_id=stock.hot_id, quantity=ONE)]

        def op(i: int) -> None:
            svc.reserve(order_ref=f"HOT-{worker}-{i}", warehouse_id=stock.warehouse_id, lines=lines)

        return op, connections.close_all
    conn = handwritten.connect(data.dsn(), autocommit=path == "bare")
    if path == "sql":
        return (
            lambda i: handwritten.reserve_one(conn, f"HOT-{worker}-{i}", stock.warehouse_id, stock.hot_id),
            conn.close,
        )
    return lambda i: handwritten.bare_update(conn, stock.warehouse_id, stock.hot_id), conn.close


def _child(kind: str, stock: data.Stock, worker: int, duration: float, barrier, results) -> None:
    close = None
    try:
        op, close = _operation(kind, stock, worker)
        for i in range(WARMUP_OPS):
            op(-1 - i)
        barrier.wait()
        start = time.monotonic()
        deadline = start + duration
        i, took = 0, []
        now = start
        while now < deadline:
            op(i)
            after = time.monotonic()
            took.append(after - now)
            now = after
            i += 1
        results.put({"worker": worker, "count": i, "start": start, "end": now, "took": took})
    except BaseException:  # noqa: BLE001 - reported to the parent, which fails the run
        results.put({"worker": worker, "error": traceback.format_exc()})
        barrier.abort()
    finally:
        if close is not None:
            close()  # the process ends with os._exit: nothing else would say goodbye to PostgreSQL


def run(kind: str, duration: float) -> dict:
    """Fresh data, then ``kind``'s processes for ``duration`` seconds from one start."""
    stock = data.reset()
    processes = int(kind.split("_")[1])
    connections.close_all()  # forked children open their own
    reports = forks.run_together(
        processes,
        _child,
        lambda w: (kind, stock, w, duration),
        timeout=60 + duration,
        what=f"{kind}: a reserving process",
    )
    total = sum(r["count"] for r in reports)
    elapsed = max(r["end"] for r in reports) - min(r["start"] for r in reports)
    took = [t for r in reports for t in r["took"]]
    return {
        "kind": kind,
        "processes": processes,
        "duration_s": duration,
        "count": total,
        "elapsed_s": round(elapsed, 4),
        "per_s": round(total / elapsed, 1),
        "latency": percentiles_ms(took),
        "checks": _checks(kind, stock, total + WARMUP_OPS * processes),
        "pid": os.getpid(),
    }


def _checks(kind: str, stock: data.Stock, expected: int) -> dict:
    """Every reservation left its rows (service, sql) and its unit in the level."""
    level = StockLevel.objects.get(product_id=stock.hot_id, warehouse_id=stock.warehouse_id)
    found = {
        "reserved": int(level.reserved),
        "reservations": Reservation.objects.filter(product_id=stock.hot_id).count(),
        "commands": StockCommand.objects.filter(kind=StockCommand.Kind.RESERVATION).count(),
        "outbox": OutboxEvent.objects.filter(event_type="estoque.StockReserved").count(),
    }
    rows = 0 if kind.startswith("bare") else expected
    wanted = {"reserved": expected, "reservations": rows, "commands": rows, "outbox": rows}
    if found != wanted:
        raise RuntimeError(f"{kind}: the database does not hold what was reserved: {found} != {wanted}")
    return found
