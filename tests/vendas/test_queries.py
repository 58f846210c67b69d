"""An order's requests cost the same number of SQL statements whatever its
number of lines (bench/order_flow's target), and a page of orders the same
for 5 rows as for 50."""

from contextlib import contextmanager

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from tests.estoque.factories import WarehouseFactory, stocked
from tests.queries import queries_for
from tests.vendas.factories import CustomerFactory, draft, line

pytestmark = pytest.mark.django_db(databases="__all__")

API = "/api/v1/vendas/"


@contextmanager
def counted():
    contexts = [CaptureQueriesContext(connections[name]) for name in connections]
    for context in contexts:
        context.__enter__()
    counts: list[int] = []
    try:
        yield counts
    finally:
        for context in contexts:
            context.__exit__(None, None, None)
        counts.append(sum(len(context) for context in contexts))


def statements_per_step(client, lines: int) -> dict[str, int]:
    warehouse, buyer = WarehouseFactory(), CustomerFactory()
    products = [stocked(warehouse, quantity=10) for _ in range(lines)]
    body = {
        "customer": str(buyer.pk),
        "warehouse": str(warehouse.pk),
        "lines": [{"product": str(p.pk), "quantity": "1", "unit_price": "2.50"} for p in products],
    }
    steps = {}
    with counted() as count:
        created = client.post(f"{API}orders/", body, format="json")
    assert created.status_code == 201, created.content
    steps["create"] = count[0]
    order = created.json()["id"]
    for step in ("confirm", "ship"):
        with counted() as count:
            response = client.post(f"{API}orders/{order}/{step}/")
        assert response.status_code == 200, response.content
        steps[step] = count[0]
    return steps


def test_create_confirm_and_ship_cost_the_same_statements_for_1_and_12_lines(client_as):
    client = client_as("sales")
    statements_per_step(client, 1)  # warm the per-process caches (company, roles)
    assert statements_per_step(client, 1) == statements_per_step(client, 12)


def test_a_page_of_orders_costs_the_same_for_5_rows_as_for_50(client_as):
    warehouse = WarehouseFactory()
    product = stocked(warehouse, quantity=100)
    buyer = CustomerFactory()
    for _ in range(5):
        draft(line(product), line(product, "2"), customer=buyer, warehouse=warehouse)
    viewer = client_as("viewer")
    few = queries_for(viewer, f"{API}orders/?page_size=5")
    for _ in range(45):
        draft(line(product), customer=buyer, warehouse=warehouse)
    assert queries_for(viewer, f"{API}orders/?page_size=50") == few
