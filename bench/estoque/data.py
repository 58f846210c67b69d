"""The benchmark's data: a fresh warehouse and stocked products before every
measured run, the orders both paths carry out, and a snapshot of the effects
(counts and sums), so a run of hand-written SQL can be checked against the
service's. Import after ``django.setup()``."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from django.db import connections
from django.db.models import Count, Sum

from erp import services as registry
from erp.db import alias
from erp.events import all_subscriptions, unsubscribe
from erp.models import Delivery, InboxRecord, OutboxEvent
from estoque.contract import ReceiptLine
from estoque.models import (
    Product,
    Replenishment,
    Reservation,
    StockCommand,
    StockLevel,
    StockMove,
    Warehouse,
)

PRODUCTS = 30  # order lines spread over these, three distinct per order
LINE_OFFSETS = (0, 7, 13)  # order i takes products i, i+7, i+13 (mod PRODUCTS)
INITIAL_STOCK = Decimal("1000000.000")  # per product: no run comes close to using it up
HOT_STOCK = Decimal("100000000.000")
TABLES = tuple(
    model._meta.db_table
    for model in (
        Reservation,
        StockMove,
        Replenishment,
        StockLevel,
        StockCommand,
        Product,
        Warehouse,
        Delivery,
        InboxRecord,
        OutboxEvent,
    )
)


def service():
    """estoque as vendas will call it: through the registry, typed by the contract."""
    return registry.get("estoque")


def db():
    return connections[alias("estoque")]


def dsn() -> str:
    """The psycopg DSN of estoque's database, for the hand-written SQL."""
    s = db().settings_dict
    return (
        f"host={s['HOST'] or '127.0.0.1'} port={s['PORT'] or 5432} user={s['USER']} "
        f"password={s['PASSWORD']} dbname={s['NAME']}"
    )


def drop_subscribers() -> list[str]:
    """Remove every subscriber of an estoque event from this process: with none,
    publish() writes only the outbox row (no Delivery rows, no hand-over on
    commit), which is what the hand-written SQL writes too. Returns "name (event type)"."""
    found = [s for s in all_subscriptions() if s.event_type.startswith("estoque.")]
    for subscription in found:
        unsubscribe(subscription.name)
    return [f"{s.name} ({s.event_type})" for s in found]


@dataclass(frozen=True)
class Stock:
    warehouse_id: UUID
    product_ids: tuple[UUID, ...]  # in SKU order, so order i gets the same SKUs (and costs) in every run
    hot_id: UUID


def reset() -> Stock:
    """Empty estoque's and the relay's tables, then one warehouse, PRODUCTS
    products and a hot one, stocked by one receipt through the service."""
    with db().cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
    warehouse = Warehouse.objects.create(code="BENCH", name="Bench warehouse")
    products = Product.objects.bulk_create(
        [Product(sku=f"BENCH-{i:03d}", name=f"Bench product {i}") for i in range(PRODUCTS)]
    )
    hot = Product.objects.create(sku="BENCH-HOT", name="Bench hot product")
    lines = [
        ReceiptLine(
            product_id=p.pk, quantity=INITIAL_STOCK, unit_cost=Decimal("2.3456") + i * Decimal("0.0101")
        )
        for i, p in enumerate(products)
    ]
    lines.append(ReceiptLine(product_id=hot.pk, quantity=HOT_STOCK, unit_cost=Decimal("1.0000")))
    service().receive(warehouse_id=warehouse.pk, reference="bench-stock", lines=lines)
    return Stock(warehouse_id=warehouse.pk, product_ids=tuple(p.pk for p in products), hot_id=hot.pk)


def order_lines(stock: Stock, i: int) -> list[tuple[UUID, Decimal]]:
    """Order ``i``'s three lines: distinct products, quantities 1 to 3."""
    n = len(stock.product_ids)
    return [
        (stock.product_ids[(i + offset) % n], Decimal(1 + (i + k) % 3).quantize(Decimal("0.001")))
        for k, offset in enumerate(LINE_OFFSETS)
    ]


def order_ref(i: int) -> str:
    return f"SO-BENCH-{i:06d}"


def effects() -> dict:
    """What the runs left in the database, without ids and timestamps: equal for
    the service and the hand-written SQL given the same orders."""

    def grouped(model, field, **extra):
        rows = model.objects.values(field).annotate(n=Count("pk"), **extra).order_by(field)
        return {r[field]: {k: str(v) for k, v in r.items() if k != field} for r in rows}

    levels = StockLevel.objects.aggregate(on_hand=Sum("on_hand"), reserved=Sum("reserved"))
    products = Product.objects.aggregate(on_hand=Sum("on_hand"), value=Sum("stock_value"))
    moves = StockMove.objects.aggregate(value=Sum("value"))
    return {
        "commands": grouped(StockCommand, "status"),
        "reservations": grouped(Reservation, "status", quantity=Sum("quantity")),
        "moves": grouped(StockMove, "kind", quantity=Sum("quantity"), value=Sum("value")),
        "outbox": grouped(OutboxEvent, "event_type"),
        "deliveries": Delivery.objects.count(),
        "levels": {k: str(v) for k, v in levels.items()},
        "products": {k: str(v) for k, v in products.items()},
        # The invariant that ties valuation to the ledger: product value = sum of move values.
        "value_matches_ledger": products["value"] == moves["value"],
    }
