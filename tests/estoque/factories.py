"""estoque's factories. Rows with stock go through the services (a receipt), so
levels, moves and valuation always agree, as they would in production."""

from decimal import Decimal

import factory

from estoque import services
from estoque.contract import ReceiptLine
from estoque.models import Product, Warehouse


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse

    code = factory.Sequence(lambda n: f"WH{n:03d}")
    name = factory.Sequence(lambda n: f"Warehouse {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    unit = "un"


def stocked(
    warehouse: Warehouse | None = None,
    *,
    quantity: Decimal | str | int = 10,
    unit_cost: Decimal | str = "2.5000",
    reference: str | None = None,
    **product_fields,
) -> Product:
    """A product with ``quantity`` received into ``warehouse`` at ``unit_cost``."""
    warehouse = warehouse or WarehouseFactory()
    product = ProductFactory(**product_fields)
    services.receive(
        warehouse_id=warehouse.pk,
        reference=reference or f"factory-receipt-{product.sku}",
        lines=[ReceiptLine(product_id=product.pk, quantity=Decimal(quantity), unit_cost=Decimal(unit_cost))],
    )
    product.refresh_from_db()
    return product
