"""Stock under concurrent requests, on PostgreSQL: every call runs in a thread of
its own, on its own database connection, released together by a barrier so
they really collide. No oversell, no deadlock, one effect per reference, and
the levels equal the ledger afterwards."""

from decimal import Decimal

import pytest

from erp import services as registry
from estoque.contract import (
    BelowReservedError,
    CountLine,
    InsufficientStockError,
    Line,
    ReceiptLine,
    ReservationReleasedError,
)
from estoque.models import Reservation, StockLevel, StockMove
from tests.concurrency import burst, outcomes
from tests.estoque.factories import WarehouseFactory, stocked
from tests.estoque.test_valuation import assert_stock_agrees, posted_by_finance

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

D = Decimal
ONE = D("1")


@pytest.fixture
def stock():
    return registry.get("estoque")


def assert_level(product, warehouse, *, on_hand, reserved) -> None:
    level = StockLevel.objects.get(product=product, warehouse=warehouse)
    assert (level.on_hand, level.reserved) == (D(on_hand), D(reserved))


def test_fifty_reservations_for_ten_units_never_oversell(stock):
    warehouse = WarehouseFactory()
    product = stocked(warehouse, quantity=10)
    for attempt in range(3):
        refs = [f"SO-{attempt}-{n}" for n in range(50)]
        results = burst(
            [
                lambda ref=ref: stock.reserve(
                    order_ref=ref,
                    warehouse_id=warehouse.pk,
                    lines=[Line(product_id=product.pk, quantity=ONE)],
                )
                for ref in refs
            ]
        )

        # No deadlock, no serialization failure: only a reservation or "not enough stock".
        assert outcomes(results) == {"ReservationInfo": 10, "InsufficientStockError": 40}, results
        short = [r for r in results if isinstance(r, InsufficientStockError)]
        assert all(s.short[0].available == 0 and s.short[0].requested == ONE for s in short)
        assert_level(product, warehouse, on_hand=10, reserved=10)
        assert Reservation.objects.filter(status="active").count() == 10
        assert_stock_agrees()

        # Give the stock back (concurrently as well) for the next round.
        held = [r.order_ref for r in results if not isinstance(r, Exception)]
        released = burst([lambda ref=ref: stock.release(order_ref=ref) for ref in held])
        assert outcomes(released) == {"ReservationInfo": 10}
        assert_level(product, warehouse, on_hand=10, reserved=0)


def test_multi_line_reservations_in_opposite_orders_do_not_deadlock(stock):
    warehouse = WarehouseFactory()
    a, b, c = (stocked(warehouse, quantity=10) for _ in range(3))
    forward = [Line(product_id=p.pk, quantity=ONE) for p in (a, b, c)]
    calls = [
        lambda n=n: stock.reserve(
            order_ref=f"SO-{n}", warehouse_id=warehouse.pk, lines=forward if n % 2 else forward[::-1]
        )
        for n in range(20)
    ]

    results = burst(calls)

    assert outcomes(results) == {"ReservationInfo": 10, "InsufficientStockError": 10}, results
    for product in (a, b, c):
        assert_level(product, warehouse, on_hand=10, reserved=10)
    # All or nothing: every reservation holds all three lines, the refused ones none.
    assert Reservation.objects.count() == 30
    assert_stock_agrees()


def test_transfers_into_a_new_warehouse_in_opposite_orders_do_not_deadlock(stock):
    """The destination's levels do not exist yet: each transfer creates them."""
    north, south = WarehouseFactory(), WarehouseFactory()
    products = [stocked(north, quantity=10) for _ in range(3)]
    forward = [Line(product_id=p.pk, quantity=ONE) for p in products]
    calls = [
        lambda n=n: stock.transfer(
            from_warehouse_id=north.pk, to_warehouse_id=south.pk, lines=forward if n % 2 else forward[::-1]
        )
        for n in range(20)
    ]

    results = burst(calls)

    assert outcomes(results) == {"Transfer": 10, "InsufficientStockError": 10}, results
    for product in products:
        assert_level(product, north, on_hand=0, reserved=0)
        assert_level(product, south, on_hand=10, reserved=0)
    assert_stock_agrees()


def test_twins_of_one_reference_have_one_effect(stock):
    warehouse = WarehouseFactory()
    product = stocked(warehouse, quantity=10)
    lines = [Line(product_id=product.pk, quantity=D("3"))]
    receipt = [ReceiptLine(product_id=product.pk, quantity=D("5"), unit_cost=D("1.1111"))]

    reservations = burst(
        [
            lambda: stock.reserve(order_ref="SO-twin", warehouse_id=warehouse.pk, lines=lines)
            for _ in range(10)
        ]
    )
    receipts = burst(
        [
            lambda: stock.receive(warehouse_id=warehouse.pk, reference="NF-twin", lines=receipt)
            for _ in range(10)
        ]
    )
    shipments = burst([lambda: stock.ship(order_ref="SO-twin") for _ in range(10)])

    for results in (reservations, receipts, shipments):
        assert not [r for r in results if isinstance(r, Exception)], results
        assert all(r == results[0] for r in results)
    assert_level(product, warehouse, on_hand=12, reserved=0)
    assert StockMove.objects.filter(reference="NF-twin").count() == 1
    assert StockMove.objects.filter(reference="SO-twin").count() == 1
    assert_stock_agrees()


def test_release_racing_a_late_reserve_never_holds_stock(stock):
    """The caller gave up (release) while its reserve was still on the way:
    whichever lands first, nothing stays held."""
    warehouse = WarehouseFactory()
    product = stocked(warehouse, quantity=10)
    lines = [Line(product_id=product.pk, quantity=ONE)]
    calls = []
    for n in range(10):
        calls.append(lambda n=n: stock.reserve(order_ref=f"SO-{n}", warehouse_id=warehouse.pk, lines=lines))
        calls.append(lambda n=n: stock.release(order_ref=f"SO-{n}"))

    results = burst(calls)

    errors = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(e, ReservationReleasedError) for e in errors), errors
    assert_level(product, warehouse, on_hand=10, reserved=0)
    assert_stock_agrees()


KINDS = ("ship", "release", "receive", "transfer", "reserve", "adjust")  # the mix's calls, in order


def test_a_mix_of_every_command_keeps_the_invariants(stock):
    north, south = WarehouseFactory(), WarehouseFactory()
    a = stocked(north, quantity=40, unit_cost="1.3333")
    b = stocked(north, quantity=40, unit_cost="2.1111")
    for n in range(10):
        stock.reserve(
            order_ref=f"SO-{n}",
            warehouse_id=north.pk,
            lines=[Line(product_id=a.pk, quantity=D("2")), Line(product_id=b.pk, quantity=D("1.5"))],
        )
    calls = []
    for n in range(5):
        calls.append(lambda n=n: stock.ship(order_ref=f"SO-{n}"))
        calls.append(lambda n=n: stock.release(order_ref=f"SO-{n + 5}"))
        calls.append(
            lambda n=n: stock.receive(
                warehouse_id=north.pk,
                reference=f"NF-{n}",
                lines=[
                    ReceiptLine(product_id=b.pk, quantity=D("0.7"), unit_cost=D("9.9999")),
                    ReceiptLine(product_id=a.pk, quantity=D("1"), unit_cost=D("0.0101")),
                ],
            )
        )
        calls.append(
            lambda n=n: stock.transfer(
                from_warehouse_id=north.pk,
                to_warehouse_id=south.pk,
                lines=[Line(product_id=b.pk, quantity=D("3")), Line(product_id=a.pk, quantity=D("4"))],
            )
        )
        calls.append(
            lambda n=n: stock.reserve(
                order_ref=f"SO-new-{n}",
                warehouse_id=north.pk,
                lines=[Line(product_id=a.pk, quantity=D("3")), Line(product_id=b.pk, quantity=D("3"))],
            )
        )
        calls.append(
            lambda n=n: stock.adjust(
                warehouse_id=north.pk if n % 2 else south.pk,
                reason="count",
                lines=[
                    CountLine(product_id=b.pk, counted_quantity=D("20")),
                    CountLine(product_id=a.pk, counted_quantity=D("25")),
                ],
            )
        )

    results = burst(calls)

    # Only the refusals the state can explain; never a deadlock or a database error.
    allowed = (InsufficientStockError, BelowReservedError)
    bad = [
        (KINDS[i % len(KINDS)], str(r))
        for i, r in enumerate(results)
        if isinstance(r, Exception) and not isinstance(r, allowed)
    ]
    assert not bad, bad
    assert_stock_agrees()
    finance = posted_by_finance()
    for product in (a, b):
        product.refresh_from_db()
        assert finance[str(product.pk)] == product.stock_value
