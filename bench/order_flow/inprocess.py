"""What the bench process does with its own Django (import after
``django.setup()``): the data the flow needs, and, without any load, the SQL
statements of each step (every database, through the full request path of the
Django test client) and a profile of confirms."""

from __future__ import annotations

import cProfile
import json
import re
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from uuid import UUID

from django.db import connections
from django.db.models import Count
from django.test import Client

from bench.common.sqlprofile import StatementTimer, write_profile
from erp import services as registry
from estoque import services as estoque_services
from estoque.contract import ReceiptLine
from estoque.models import Product, Warehouse
from vendas import services as vendas_services
from vendas.models import Customer, SalesOrder

ORDERS = "/api/v1/vendas/orders/"
STEPS = ("create", "confirm", "ship")
WAREHOUSE, CUSTOMER, SKU_PREFIX = "BENCH-OF", "BENCH-OF", "BENCH-OF-"
RECEIVED = Decimal("1000000.000")  # per product and run: no run comes close to using it up
UNIT_PRICE = "12.50"

_APPS = ("vendas", "estoque", "financeiro", "erp", "core", "workflows", "auth", "django", "axes")
CATEGORIES = [
    ("savepoint", re.compile(r"^(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)")),
    *(
        (f"{verb} {app}_*", re.compile(rf'^\s*{verb}\b.*?[\s"(]{app}_', re.S | re.I))
        for verb in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")
        for app in _APPS
    ),
]


@dataclass(frozen=True)
class Fixture:
    warehouse_id: UUID
    product_ids: tuple[UUID, ...]
    customer_id: UUID


def prepare(products: int) -> tuple[Fixture, str]:
    """The warehouse, ``products`` products and the customer (credit limit 0: no
    credit check, so no approval), created on the first run and reused after;
    every run receives RECEIVED more of each product through estoque's contract."""
    warehouse = Warehouse.objects.filter(code=WAREHOUSE).first() or estoque_services.warehouse_create(
        code=WAREHOUSE, name="Order flow bench"
    )
    skus = [f"{SKU_PREFIX}{i:04d}" for i in range(products)]
    found = {p.sku: p for p in Product.objects.filter(sku__in=skus)}
    for sku in skus:
        if sku not in found:
            found[sku] = estoque_services.product_create(sku=sku, name=f"Order flow product {sku[-4:]}")
    ids = tuple(found[sku].pk for sku in skus)
    registry.get("estoque").receive(
        warehouse_id=warehouse.pk,
        reference=f"bench-order-flow-{time.time_ns()}",
        lines=[ReceiptLine(product_id=pk, quantity=RECEIVED, unit_cost=Decimal("7.2500")) for pk in ids],
    )
    customer = Customer.objects.filter(code=CUSTOMER).first()
    if customer is None:
        customer = vendas_services.customer_create(
            code=CUSTOMER, name="Order flow bench customer", credit_limit=Decimal("0"), payment_terms_days=30
        )
    elif customer.credit_limit != 0 or not customer.is_active:
        customer = vendas_services.customer_update(customer, credit_limit=Decimal("0"), is_active=True)
    note = (
        f"warehouse {WAREHOUSE}, {products} products ({SKU_PREFIX}0000...) with {RECEIVED:,.0f} more each "
        f"received this run, customer {CUSTOMER} with credit limit 0"
    )
    return Fixture(warehouse.pk, ids, customer.pk), note


def order_body(fixture: Fixture, product_ids) -> dict:
    return {
        "customer": str(fixture.customer_id),
        "warehouse": str(fixture.warehouse_id),
        "lines": [{"product": str(p), "quantity": "1", "unit_price": UNIT_PRICE} for p in product_ids],
    }


def _client(token: str) -> Client:
    return Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT="application/json")


def _post(client: Client, path: str, body: dict | None, expect: int) -> dict:
    response = client.post(path, json.dumps(body) if body else None, content_type="application/json")
    if response.status_code != expect:
        raise RuntimeError(
            f"in-process POST {path} answered {response.status_code}: {response.content[:500]!r}"
        )
    return response.json()


def _products(fixture: Fixture, first: int, lines: int) -> list[UUID]:
    n = len(fixture.product_ids)
    return [fixture.product_ids[(first + k) % n] for k in range(lines)]


def _flow(client: Client, fixture: Fixture, lines: int, first: int, timer: StatementTimer | None) -> dict:
    """One order through the three steps; each step's wall time in seconds."""
    products, wall = _products(fixture, first, lines), {}
    for step in STEPS:
        if timer:
            timer.phase = step
        a = time.perf_counter()
        if step == "create":
            order = _post(client, ORDERS, order_body(fixture, products), 201)["id"]
        else:
            _post(client, f"{ORDERS}{order}/{step}/", None, 200)
        wall[step] = time.perf_counter() - a
    return wall


def _recording(timer: StatementTimer) -> ExitStack:
    stack = ExitStack()
    for connection in connections.all():
        stack.enter_context(timer.recording(connection))
    return stack


def statements(token: str, fixture: Fixture, line_counts: tuple[int, ...], orders: int) -> dict:
    """Per line count, ``orders`` orders one after the other, after one
    unmeasured order of each size has warmed the caches: the statements each
    step runs on every database (COMMITs apart: the most frequent count, and
    every order's, since a cache refill can add one now and then), and its
    milliseconds, SQL + COMMIT against Python."""
    client = _client(token)
    for lines in line_counts:
        _flow(client, fixture, lines, 0, None)
    result = {}
    for lines in line_counts:
        per_order, timer, wall = [], StatementTimer(CATEGORIES), dict.fromkeys(STEPS, 0.0)
        with _recording(timer):
            for i in range(orders):
                before = {step: timer.statements(step) for step in STEPS}
                for step, seconds in _flow(client, fixture, lines, lines * (i + 1), timer).items():
                    wall[step] += seconds
                per_order.append({step: timer.statements(step) - before[step] for step in STEPS})
        commits = {step: timer.count[step].get("COMMIT", 0) // orders for step in STEPS}
        result[str(lines)] = {
            step: {
                "statements": Counter(o[step] for o in per_order).most_common(1)[0][0] - commits[step],
                "per_order": [o[step] - commits[step] for o in per_order],
                "commits": commits[step],
                "ms": round(wall[step] / orders * 1000, 2),
                "sql_and_commit_ms": round(timer.sql_seconds(step) / orders * 1000, 2),
                "python_ms": round((wall[step] - timer.sql_seconds(step)) / orders * 1000, 2),
                "by_category": timer.per_call(step, orders),
            }
            for step in STEPS
        }
    return result


def profile_confirms(token: str, fixture: Fixture, n: int, lines: int, path: Path) -> dict:
    """``n`` confirms of ``lines``-line drafts through the test client, one after
    the other: their statements timed by category, the rest Python; then a
    cProfile of ``n`` more, written to ``path``."""
    client = _client(token)
    drafts = [
        _post(client, ORDERS, order_body(fixture, _products(fixture, i, lines)), 201)["id"]
        for i in range(2 * n)
    ]
    timer, wall = StatementTimer(CATEGORIES), 0.0
    timer.phase = "confirm"
    with _recording(timer):
        for order in drafts[:n]:
            a = time.perf_counter()
            _post(client, f"{ORDERS}{order}/confirm/", None, 200)
            wall += time.perf_counter() - a
    profiler = cProfile.Profile()
    profiler.enable()
    for order in drafts[n:]:
        _post(client, f"{ORDERS}{order}/confirm/", None, 200)
    profiler.disable()
    header = f"cProfile of {n} confirms of {lines}-line orders through the Django test client"
    write_profile(profiler, path, header, top=60)
    for order in drafts:  # leave nothing confirmed behind: ship them (the worker invoices them)
        _post(client, f"{ORDERS}{order}/ship/", None, 200)
    sql = timer.sql_seconds("confirm")
    return {
        "confirms": n,
        "lines": lines,
        "ms_per_confirm": round(wall / n * 1000, 3),
        "sql_and_commit_ms": round(sql / n * 1000, 3),
        "python_ms": round((wall - sql) / n * 1000, 3),
        "statements": round((timer.statements("confirm") - timer.count["confirm"]["COMMIT"]) / n, 2),
        "commits": round(timer.count["confirm"]["COMMIT"] / n, 2),
        "by_category": timer.per_call("confirm", n),
        "profile_file": str(path),
    }


def invoicing(since, timeout: float) -> dict:
    """Wait until the worker has invoiced every order of this run that shipped;
    how many there were and how long after the call the last one took."""
    orders = SalesOrder.objects.filter(customer__code=CUSTOMER, created_at__gte=since)
    a = time.monotonic()
    while True:
        waiting = orders.filter(status=SalesOrder.Status.SHIPPED).count()
        if not waiting or time.monotonic() - a > timeout:
            break
        time.sleep(0.5)
    counts = dict(orders.order_by().values_list("status").annotate(n=Count("pk")))
    return {"by_status": counts, "still_shipped": waiting, "waited_s": round(time.monotonic() - a, 1)}
