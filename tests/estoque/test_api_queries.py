"""Every estoque list endpoint costs the same number of queries for a page of 5
rows as for a page of 50: no query per row (what a growing catalogue would
otherwise pay on each page)."""

from decimal import Decimal

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from erp import services as registry
from erp.db import alias
from estoque.contract import Line, ReceiptLine
from tests.estoque.factories import ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db(databases="__all__")

API = "/api/v1/estoque/"
ROWS = 60


@pytest.fixture
def catalogue():
    """60 products received into one warehouse (60 levels, 60 moves), all reserved
    in part (60 reservations), and 60 more warehouses."""
    warehouse = WarehouseFactory()
    WarehouseFactory.create_batch(ROWS - 1)
    products = ProductFactory.create_batch(ROWS)
    stock = registry.get("estoque")
    stock.receive(
        warehouse_id=warehouse.pk,
        reference="NF-BULK",
        lines=[ReceiptLine(product_id=p.pk, quantity=Decimal(5), unit_cost=Decimal(1)) for p in products],
    )
    stock.reserve(
        order_ref="SO-BULK",
        warehouse_id=warehouse.pk,
        lines=[Line(product_id=p.pk, quantity=Decimal(1)) for p in products],
    )


def queries_for(client, path: str, params: dict, page_size: int) -> int:
    """Queries on every database the request may touch (one, or several when split)."""
    aliases = sorted({"default", alias("estoque")})
    contexts = [CaptureQueriesContext(connections[name]) for name in aliases]
    for context in contexts:
        context.__enter__()
    try:
        response = client.get(path, {**params, "page_size": page_size})
    finally:
        for context in reversed(contexts):
            context.__exit__(None, None, None)
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == page_size
    return sum(len(context.captured_queries) for context in contexts)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("products/", {}),
        ("warehouses/", {}),
        ("stock/", {}),
        ("stock/", {"below_reorder": "false", "ordering": "-available_quantity"}),
        ("moves/", {}),
        ("moves/", {"kind": "receipt", "search": "SKU"}),
        ("reservations/", {}),
        ("reservations/", {"status": "active"}),
    ],
)
def test_a_list_page_costs_the_same_queries_whatever_its_size(client_as, catalogue, path, params):
    client = client_as("viewer")
    client.get(f"{API}products/")  # warm caches (roles, company settings) out of the count
    url = f"{API}{path}"
    small, large = queries_for(client, url, params, 5), queries_for(client, url, params, 50)
    assert small == large
    assert large <= 6  # the user, their roles, the count and the page
