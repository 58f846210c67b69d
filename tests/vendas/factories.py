"""vendas' factories. Customers are plain rows; orders go through the services
(priced, numbered), with stock received in estoque first, as in production."""

from __future__ import annotations

from decimal import Decimal

import factory

from tests.estoque.factories import WarehouseFactory, stocked
from vendas import services
from vendas.contract import OrderLineInput
from vendas.models import Customer, SalesOrder


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    code = factory.Sequence(lambda n: f"C{n:04d}")
    name = factory.Sequence(lambda n: f"Customer {n} Ltda")
    tax_id = factory.Sequence(lambda n: f"12.345.678/0001-{n % 100:02d}")
    email = factory.Sequence(lambda n: f"buyer{n}@example.com")
    credit_limit = Decimal("0.00")
    payment_terms_days = 30


def line(product, quantity="1", unit_price="10.00", **fields) -> OrderLineInput:
    return OrderLineInput(
        product_id=product.pk,
        quantity=Decimal(quantity),
        unit_price=None if unit_price is None else Decimal(unit_price),
        **{k: Decimal(v) for k, v in fields.items()},
    )


def draft(*lines: OrderLineInput, customer=None, warehouse=None, actor_id=None, **fields) -> SalesOrder:
    """A draft; with no lines, one line of a product stocked with 10 units."""
    warehouse = warehouse or WarehouseFactory()
    lines = lines or (line(stocked(warehouse, quantity=10)),)
    return services.order_create(
        customer_id=(customer or CustomerFactory()).pk,
        warehouse_id=warehouse.pk,
        lines=list(lines),
        actor_id=actor_id,
        **fields,
    )
