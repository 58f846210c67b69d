"""Moving-average valuation on awkward numbers: whatever mix of receipts,
issues, counts and transfers, the value received (plus adjustments) equals the
value issued plus the stock value, to the cent, at every step; the quantities of
products, levels and the ledger agree; and the events finance posts carry the
very values of the moves, so its inventory account equals estoque's stock value."""

from collections import defaultdict
from decimal import Decimal
from itertools import count

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erp import services as registry
from erp.db import alias
from erp.models import OutboxEvent
from estoque.contract import CountLine, Line, ReceiptLine
from estoque.models import Product, Reservation, StockLevel, StockMove
from tests.estoque.factories import ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db(databases="__all__")

D = Decimal
ZERO = D("0")


def posted_by_finance() -> dict[str, Decimal]:
    """Per product, the inventory balance a subscriber builds from the events alone."""
    balance: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for event in OutboxEvent.objects.using(alias("estoque")).filter(event_type__startswith="estoque."):
        payload = event.payload
        if event.event_type == "estoque.StockReceived":
            for line in payload["lines"]:
                balance[line["product_id"]] += D(line["value"])
            assert D(payload["value"]) == sum((D(line["value"]) for line in payload["lines"]), ZERO)
        elif event.event_type == "estoque.StockIssued":
            for line in payload["lines"]:
                balance[line["product_id"]] -= D(line["value"])
            assert D(payload["value"]) == sum((D(line["value"]) for line in payload["lines"]), ZERO)
        elif event.event_type == "estoque.StockAdjusted":
            for line in payload["lines"]:
                balance[line["product_id"]] += D(line["value_delta"])
            assert D(payload["value_delta"]) == sum(
                (D(line["value_delta"]) for line in payload["lines"]), ZERO
            )
    return balance


def assert_stock_agrees() -> None:
    """Every invariant between products, levels, reservations, the ledger and the events."""
    moves = defaultdict(lambda: ZERO)
    for product_id, warehouse_id, quantity in StockMove.objects.values_list(
        "product_id", "warehouse_id"
    ).annotate(q=Sum("quantity")):
        moves[(product_id, warehouse_id)] = quantity
    held = defaultdict(lambda: ZERO)
    active = Reservation.objects.filter(status=Reservation.Status.ACTIVE)
    for product_id, warehouse_id, quantity in active.values_list("product_id", "warehouse_id").annotate(
        q=Sum("quantity")
    ):
        held[(product_id, warehouse_id)] = quantity
    for level in StockLevel.objects.all():
        pair = (level.product_id, level.warehouse_id)
        assert level.on_hand == moves[pair], pair
        assert level.reserved == held[pair], pair
        assert 0 <= level.reserved <= level.on_hand
    finance = posted_by_finance()
    for product in Product.objects.all():
        by_kind = dict(
            StockMove.objects.filter(product=product).values_list("kind").annotate(v=Sum("value")).order_by()
        )
        received, adjusted = by_kind.get("receipt", ZERO), by_kind.get("adjustment", ZERO)
        issued = -by_kind.get("issue", ZERO)
        # Transfers move quantity between warehouses, never value out of the product.
        assert by_kind.get("transfer_in", ZERO) + by_kind.get("transfer_out", ZERO) == 0
        assert received + adjusted == issued + product.stock_value, product.sku
        assert finance[str(product.pk)] == product.stock_value, product.sku
        on_hand = StockMove.objects.filter(product=product).aggregate(q=Sum("quantity"))["q"] or ZERO
        levels = StockLevel.objects.filter(product=product).aggregate(q=Sum("on_hand"))["q"] or ZERO
        assert product.on_hand == on_hand == levels, product.sku
        assert product.stock_value >= 0 and product.average_cost >= 0
        if product.on_hand == 0:
            assert product.stock_value == D("0.00")


@pytest.fixture
def stock():
    return registry.get("estoque")


def test_awkward_costs_end_at_exactly_zero(stock):
    north, south = WarehouseFactory(), WarehouseFactory()
    product = ProductFactory()
    refs = count()

    def receive(quantity, unit_cost, warehouse=north):
        stock.receive(
            warehouse_id=warehouse.pk,
            reference=f"NF-{next(refs)}",
            lines=[ReceiptLine(product_id=product.pk, quantity=D(quantity), unit_cost=D(unit_cost))],
        )
        assert_stock_agrees()

    def ship(quantity, warehouse=north):
        ref = f"SO-{next(refs)}"
        stock.reserve(
            order_ref=ref,
            warehouse_id=warehouse.pk,
            lines=[Line(product_id=product.pk, quantity=D(quantity))],
        )
        shipment = stock.ship(order_ref=ref)
        assert_stock_agrees()
        return shipment

    def count_to(quantity, warehouse=north):
        stock.adjust(
            warehouse_id=warehouse.pk,
            reason="count",
            lines=[CountLine(product_id=product.pk, counted_quantity=D(quantity))],
        )
        assert_stock_agrees()

    receive("3", "1.3333")  # 4.00
    assert ship("1").value == D("1.33")  # a third of 4.00
    receive("7", "2.1111")  # 14.78
    # Many cheap units: the 4-place average alone would misprice an issue by cents.
    receive("12345.678", "0.0007")  # 8.64
    ship("9876.543")
    receive("0.001", "9999.9999")  # 10.00 for a thousandth of a unit
    ship("2.333")
    count_to("5.5")  # down
    stock.transfer(
        from_warehouse_id=north.pk,
        to_warehouse_id=south.pk,
        lines=[Line(product_id=product.pk, quantity=D("2.2"))],
    )
    assert_stock_agrees()
    count_to("3.3", south)  # up, at the average cost
    ship("0.001", south)
    receive("1", "0.0001", south)  # worth 0.00
    product.refresh_from_db()
    assert product.on_hand > 0

    # Issue every last unit, from both warehouses: nothing of the value may be left.
    for warehouse in (north, south):
        remaining = StockLevel.objects.get(product=product, warehouse=warehouse).on_hand
        ship(remaining, warehouse)
    product.refresh_from_db()
    assert (product.on_hand, product.stock_value) == (D("0"), D("0.00"))
    assert str(product.stock_value) == "0.00"
    # The average stays at its last value once the stock runs out (the next count's cost).
    assert product.average_cost > 0


def test_issuing_part_takes_a_rounded_share_and_the_last_unit_takes_what_is_left(stock):
    warehouse = WarehouseFactory()
    product = ProductFactory()
    stock.receive(
        warehouse_id=warehouse.pk,
        reference="NF-thirds",
        lines=[ReceiptLine(product_id=product.pk, quantity=D("3"), unit_cost=D("0.3333"))],
    )  # 1.00 for three
    values = []
    for n in range(3):
        stock.reserve(
            order_ref=f"SO-t{n}",
            warehouse_id=warehouse.pk,
            lines=[Line(product_id=product.pk, quantity=D("1"))],
        )
        values.append(stock.ship(order_ref=f"SO-t{n}").value)
    # 1.00 / 3 = 0.33, then 0.67 / 2 = 0.335 -> 0.34, then the rest.
    assert values == [D("0.33"), D("0.34"), D("0.33")]
    assert sum(values) == D("1.00")
    assert_stock_agrees()


quantities = st.one_of(
    st.decimals(min_value=D("0.001"), max_value=D("50"), places=3),
    st.decimals(min_value=D("50"), max_value=D("100000"), places=3),
)
costs = st.one_of(
    st.decimals(min_value=D("0"), max_value=D("20"), places=4),
    st.sampled_from([D("1.3333"), D("2.1111"), D("9999.9999"), D("0.0001"), D("0.0049"), D("0.0050")]),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("receive"), st.integers(0, 1), st.integers(0, 1), quantities, costs),
        st.tuples(st.just("ship"), st.integers(0, 1), st.integers(0, 1), quantities),
        st.tuples(st.just("count"), st.integers(0, 1), st.integers(0, 1), quantities | st.just(D("0"))),
        st.tuples(st.just("transfer"), st.integers(0, 1), st.integers(0, 1), quantities),
        st.tuples(st.just("ship_all"), st.integers(0, 1)),
    ),
    min_size=1,
    max_size=10,
)


class RollbackError(Exception):
    """Undoes one example's rows."""


@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=operations)
def test_any_sequence_keeps_value_and_quantities_in_agreement(stock, steps):
    # One savepoint per example, rolled back: each sequence starts from nothing.
    try:
        with transaction.atomic(using=alias("estoque")):
            run_sequence(stock, steps)
            raise RollbackError
    except RollbackError:
        pass


def run_sequence(stock, steps) -> None:
    warehouses = [WarehouseFactory(), WarehouseFactory()]
    products = [ProductFactory(), ProductFactory()]
    refs = count()

    def available(product, warehouse) -> Decimal:
        [entry] = stock.availability(warehouse_id=warehouse.pk, product_ids=[product.pk])
        return entry.available

    def ship(lines, warehouse):
        ref = f"SO-{next(refs)}"
        stock.reserve(order_ref=ref, warehouse_id=warehouse.pk, lines=lines)
        shipment = stock.ship(order_ref=ref)
        moves = StockMove.objects.filter(reference=ref, kind="issue")
        assert sorted(-m.value for m in moves) == sorted(line.value for line in shipment.lines)

    for step in steps:
        kind, w = step[0], warehouses[step[1]]
        if kind == "receive":
            product, quantity, unit_cost = products[step[2]], step[3], step[4]
            receipt = stock.receive(
                warehouse_id=w.pk,
                reference=f"NF-{next(refs)}",
                lines=[ReceiptLine(product_id=product.pk, quantity=quantity, unit_cost=unit_cost)],
            )
            assert receipt.value == (quantity * unit_cost).quantize(D("0.01"), rounding="ROUND_HALF_UP")
        elif kind == "ship":
            product = products[step[2]]
            quantity = min(step[3], available(product, w))
            if quantity > 0:
                ship([Line(product_id=product.pk, quantity=quantity)], w)
        elif kind == "count":
            stock.adjust(
                warehouse_id=w.pk,
                reason="count",
                lines=[CountLine(product_id=products[step[2]].pk, counted_quantity=step[3])],
            )
        elif kind == "transfer":
            product = products[step[2]]
            quantity = min(step[3], available(product, w))
            if quantity > 0:
                stock.transfer(
                    from_warehouse_id=w.pk,
                    to_warehouse_id=warehouses[1 - step[1]].pk,
                    lines=[Line(product_id=product.pk, quantity=quantity)],
                )
        else:
            lines = [Line(product_id=p.pk, quantity=available(p, w)) for p in products if available(p, w) > 0]
            if lines:
                ship(lines, w)
        assert_stock_agrees()

    # Finally issue everything left, everywhere: the value must come out at 0.00 exactly.
    for w in warehouses:
        lines = [Line(product_id=p.pk, quantity=available(p, w)) for p in products if available(p, w) > 0]
        if lines:
            ship(lines, w)
    assert_stock_agrees()
    for product in Product.objects.filter(pk__in=[p.pk for p in products]):
        assert (product.on_hand, product.stock_value) == (D("0"), D("0.00"))
