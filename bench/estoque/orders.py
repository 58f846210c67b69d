"""Part 1: N three-line orders reserved and then shipped, one after another on
one connection, through the service contract or by the hand-written SQL.
Import after ``django.setup()``."""

from __future__ import annotations

import time

from bench.estoque import data, handwritten
from estoque.contract import Line

KINDS = ("service", "sql")


class _Service:
    def __init__(self, stock: data.Stock):
        self.svc = data.service()
        self.warehouse_id = stock.warehouse_id

    def reserve(self, ref: str, lines) -> None:
        self.svc.reserve(
            order_ref=ref,
            warehouse_id=self.warehouse_id,
            lines=[Line(product_id=p, quantity=q) for p, q in lines],
        )

    def ship(self, ref: str) -> None:
        self.svc.ship(order_ref=ref)

    def close(self) -> None:
        pass


class _Sql:
    def __init__(self, stock: data.Stock):
        self.conn = handwritten.connect(data.dsn())
        self.warehouse_id = stock.warehouse_id

    def reserve(self, ref: str, lines) -> None:
        handwritten.reserve(self.conn, ref, self.warehouse_id, lines)

    def ship(self, ref: str) -> None:
        handwritten.ship(self.conn, ref)

    def close(self) -> None:
        self.conn.close()


PATHS = {"service": _Service, "sql": _Sql}


def run(kind: str, n: int) -> dict:
    """Fresh data, then n reserves, then n ships; rates and the effects left."""
    stock = data.reset()
    orders = [(data.order_ref(i), data.order_lines(stock, i)) for i in range(n)]
    path = PATHS[kind](stock)
    try:
        t0 = time.perf_counter()
        for ref, lines in orders:
            path.reserve(ref, lines)
        t1 = time.perf_counter()
        for ref, _lines in orders:
            path.ship(ref)
        t2 = time.perf_counter()
    finally:
        path.close()
    return {
        "kind": kind,
        "n": n,
        "reserve_s": round(t1 - t0, 4),
        "ship_s": round(t2 - t1, 4),
        "reserve_per_s": round(n / (t1 - t0), 1),
        "ship_per_s": round(n / (t2 - t1), 1),
        "orders_per_s": round(n / (t2 - t0), 1),
        "effects": data.effects(),
    }
