"""A command's round trips to the database do not grow with its lines: a 30-line
order costs what a 1-line order costs (locks, updates and inserts are set-wise)."""

from decimal import Decimal
from itertools import count

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from erp import services as registry
from erp.db import alias
from estoque.contract import CountLine, Line, ReceiptLine
from tests.estoque.factories import ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db(databases="__all__")

SIZES = (1, 10, 30)
refs = count()


@pytest.fixture
def stock():
    return registry.get("estoque")


@pytest.fixture
def world(stock):
    """Two warehouses and 30 products with stock in the first (and the company's
    timezone already read, as it is in a running process)."""
    north, south = WarehouseFactory(), WarehouseFactory()
    products = [ProductFactory() for _ in range(max(SIZES))]
    stock.receive(
        warehouse_id=north.pk,
        reference="NF-setup",
        lines=[
            ReceiptLine(product_id=p.pk, quantity=Decimal("1000"), unit_cost=Decimal("1.2345"))
            for p in products
        ],
    )
    return north, south, products


def queries(run) -> int:
    with CaptureQueriesContext(connections[alias("estoque")]) as captured:
        run()
    return len(captured.captured_queries)


def counts(command) -> dict[int, int]:
    return {size: queries(lambda size=size: command(size)) for size in SIZES}


def same_for_every_size(found: dict[int, int]) -> None:
    assert len(set(found.values())) == 1, f"queries by number of lines: {found}"


def test_receive(stock, world):
    north, _, products = world

    def receive(size):
        lines = [
            ReceiptLine(product_id=p.pk, quantity=Decimal("2"), unit_cost=Decimal("3.3333"))
            for p in products[:size]
        ]
        stock.receive(warehouse_id=north.pk, reference=f"NF-{next(refs)}", lines=lines)

    same_for_every_size(counts(receive))


def test_reserve_ship_and_release(stock, world):
    north, _, products = world

    def lines(size):
        return [Line(product_id=p.pk, quantity=Decimal("1.5")) for p in products[:size]]

    def reserve(size):
        stock.reserve(order_ref=f"SO-{size}", warehouse_id=north.pk, lines=lines(size))

    def ship(size):
        stock.ship(order_ref=f"SO-{size}")

    def release(size):
        stock.reserve(order_ref=f"SO-r{size}", warehouse_id=north.pk, lines=lines(size))
        stock.release(order_ref=f"SO-r{size}")

    same_for_every_size(counts(reserve))
    same_for_every_size(counts(ship))
    same_for_every_size(counts(release))
    # Repeats answer from the record, also in constant round trips.
    same_for_every_size(counts(reserve))
    same_for_every_size(counts(ship))


def test_adjust_and_transfer(stock, world):
    north, south, products = world

    def adjust(size):
        lines = [CountLine(product_id=p.pk, counted_quantity=Decimal("999")) for p in products[:size]]
        stock.adjust(warehouse_id=north.pk, reason="count", lines=lines)

    def transfer(size):
        lines = [Line(product_id=p.pk, quantity=Decimal("1")) for p in products[:size]]
        stock.transfer(from_warehouse_id=north.pk, to_warehouse_id=south.pk, lines=lines)

    same_for_every_size(counts(adjust))
    same_for_every_size(counts(transfer))
