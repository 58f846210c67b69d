"""Confirms, cancels and shipments that really collide (each in a thread and
connection of its own, released together): the credit limit holds across a
customer's concurrent confirms, and a cancel racing a confirm or a shipment
never leaves stock held by a cancelled order or shipped for one."""

from decimal import Decimal

import pytest

from estoque.models import StockLevel
from tests.concurrency import burst, outcomes
from tests.estoque.factories import WarehouseFactory, stocked
from tests.vendas.factories import CustomerFactory, draft, line
from vendas import services
from vendas.models import SalesOrder

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def level(product) -> tuple[Decimal, Decimal]:
    row = StockLevel.objects.get(product=product)
    return row.on_hand, row.reserved


def test_concurrent_confirms_of_one_customer_cannot_both_slip_under_the_limit():
    warehouse = WarehouseFactory()
    product = stocked(warehouse, quantity=30)
    buyer = CustomerFactory(credit_limit=Decimal("100.00"))
    orders = [draft(line(product, "6", "10.00"), customer=buyer, warehouse=warehouse) for _ in range(4)]
    results = burst([lambda o=o: services.order_confirm(order_id=o.pk).status for o in orders])
    assert sorted(results) == ["confirmed", "pending_approval", "pending_approval", "pending_approval"]
    assert level(product) == (Decimal("30.000"), Decimal("6.000"))  # only the confirmed one holds stock


def test_a_cancel_racing_a_confirm_leaves_nothing_held():
    warehouse = WarehouseFactory()
    product = stocked(warehouse, quantity=10)
    for _ in range(5):
        order = draft(line(product, "3"), warehouse=warehouse)
        results = burst(
            [
                lambda order=order: services.order_confirm(order_id=order.pk),
                lambda order=order: services.order_cancel(order_id=order.pk, reason="race"),
            ]
        )
        assert set(outcomes(results)) <= {"SalesOrder", "OrderStateError"}, results
        assert SalesOrder.objects.get(pk=order.pk).status == "cancelled"
        assert level(product) == (Decimal("10.000"), Decimal("0.000"))


def test_a_cancel_racing_a_shipment_either_ships_or_releases_never_both():
    warehouse = WarehouseFactory()
    product = stocked(warehouse, quantity=20)
    shipped = 0
    for _ in range(5):
        order = draft(line(product, "2"), warehouse=warehouse)
        services.order_confirm(order_id=order.pk)
        burst(
            [
                lambda order=order: services.order_ship(order_id=order.pk),
                lambda order=order: services.order_cancel(order_id=order.pk, reason="race"),
            ]
        )
        status = SalesOrder.objects.get(pk=order.pk).status
        assert status in ("shipped", "invoiced", "cancelled")
        shipped += status != "cancelled"
        assert level(product) == (Decimal(20 - 2 * shipped).quantize(Decimal("0.001")), Decimal("0.000"))
