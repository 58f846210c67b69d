"""Does the stock agree with its ledger? The checks behind ``manage.py stock_check``.

The services keep running totals (a level's ``on_hand`` and ``reserved``, a
product's ``on_hand`` and ``stock_value``) beside the append-only ledger of
moves; the totals must always equal what the ledger and the active
reservations add up to. Each check is one SQL statement that aggregates both
sides with GROUP BY and returns only the rows that disagree, so it reads a
consistent snapshot even while stock moves, and costs a few scans of the moves
table however large it is, not a query per product.

Portable SQL: the quick start runs on SQLite, which keeps decimals as floats,
so two sums are "different" when they differ by half a unit of the column's
last place or more. On PostgreSQL (exact numerics, values stored with exactly
that many places) that is the same as being unequal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import connections
from django.utils.translation import gettext_lazy as _

from erp.db import alias
from estoque.models import Product, Reservation, StockLevel, StockMove, Warehouse

APP = "estoque"
QUANTITY = Decimal("0.001")
MONEY = Decimal("0.01")

LEVEL_ON_HAND = "level_on_hand"
LEVEL_RESERVED = "level_reserved"
PRODUCT_ON_HAND_LEVELS = "product_on_hand_levels"
PRODUCT_ON_HAND_MOVES = "product_on_hand_moves"
PRODUCT_STOCK_VALUE = "product_stock_value"
VALUE_WITHOUT_STOCK = "value_without_stock"

DESCRIPTIONS = {
    LEVEL_ON_HAND: _("on hand at the warehouse vs the sum of its stock moves"),
    LEVEL_RESERVED: _("reserved at the warehouse vs the sum of its active reservations"),
    PRODUCT_ON_HAND_LEVELS: _("product on hand vs the sum of its stock levels"),
    PRODUCT_ON_HAND_MOVES: _("product on hand vs the sum of its stock moves"),
    PRODUCT_STOCK_VALUE: _("product stock value vs the sum of its moves' values"),
    VALUE_WITHOUT_STOCK: _("stock value of a product with nothing on hand"),
}


@dataclass(frozen=True)
class Difference:
    """One total that disagrees with what it is the total of.

    ``warehouse`` is the warehouse's code, or "" for a product-wide total;
    ``expected`` is what the ledger (or the reservations) add up to, ``actual``
    what the running total holds."""

    sku: str
    warehouse: str
    check: str
    expected: Decimal
    actual: Decimal

    @property
    def description(self) -> str:
        return str(DESCRIPTIONS[self.check])

    def __str__(self) -> str:
        return _("%(sku)s %(warehouse)s: %(what)s: expected %(expected)s, actual %(actual)s") % {
            "sku": self.sku,
            "warehouse": self.warehouse or "-",
            "what": self.description,
            "expected": self.expected,
            "actual": self.actual,
        }


@dataclass(frozen=True)
class Totals:
    """What a clean check covered (for its summary line)."""

    products: int
    warehouses: int
    levels: int
    moves: int
    active_reservations: int


def reconcile(*, sku: str | None = None) -> list[Difference]:
    """Every difference between estoque's running totals and its ledger, for
    all products or the one with ``sku``; ordered by SKU, warehouse, check."""
    differences = [*_level_differences(sku), *_product_differences(sku), *_value_without_stock(sku)]
    return sorted(differences, key=lambda d: (d.sku, d.warehouse, d.check))


def totals(*, sku: str | None = None) -> Totals:
    products = Product.objects.using(alias(APP))
    levels = StockLevel.objects.using(alias(APP))
    moves = StockMove.objects.using(alias(APP))
    reservations = Reservation.objects.using(alias(APP)).filter(status=Reservation.Status.ACTIVE)
    if sku is not None:
        products = products.filter(sku=sku)
        levels, moves = levels.filter(product__sku=sku), moves.filter(product__sku=sku)
        reservations = reservations.filter(product__sku=sku)
    return Totals(
        products=products.count(),
        warehouses=Warehouse.objects.using(alias(APP)).count(),
        levels=levels.count(),
        moves=moves.count(),
        active_reservations=reservations.count(),
    )


# --- The statements ----------------------------------------------------------------

TABLES = {
    "product": Product._meta.db_table,
    "warehouse": Warehouse._meta.db_table,
    "level": StockLevel._meta.db_table,
    "move": StockMove._meta.db_table,
    "reservation": Reservation._meta.db_table,
}

# Per product × warehouse: the level's on_hand against its moves, its reserved
# against its active reservations. UNION ALL rather than a join, so a pair that
# has moves but no level (or a level but no moves) shows up too.
LEVELS_SQL = """
SELECT p.sku, w.code, pairs.moved, pairs.on_hand, pairs.held, pairs.reserved
FROM (
    SELECT product_id, warehouse_id,
           SUM(moved) AS moved, SUM(on_hand) AS on_hand, SUM(held) AS held, SUM(reserved) AS reserved
    FROM (
        SELECT product_id, warehouse_id, quantity AS moved, 0 AS on_hand, 0 AS held, 0 AS reserved
        FROM {move} WHERE {only}
        UNION ALL
        SELECT product_id, warehouse_id, 0, on_hand, 0, reserved FROM {level} WHERE {only}
        UNION ALL
        SELECT product_id, warehouse_id, 0, 0, quantity, 0 FROM {reservation}
        WHERE status = %s AND {only}
    ) AS sides
    GROUP BY product_id, warehouse_id
    HAVING ABS(SUM(moved) - SUM(on_hand)) >= {q} OR ABS(SUM(held) - SUM(reserved)) >= {q}
) AS pairs
JOIN {product} p ON p.id = pairs.product_id
JOIN {warehouse} w ON w.id = pairs.warehouse_id
"""

# Per product: its on_hand against its levels and its moves, its stock_value
# against its moves' values.
PRODUCTS_SQL = """
SELECT p.sku, p.on_hand, p.stock_value,
       COALESCE(levels.on_hand, 0), COALESCE(moves.quantity, 0), COALESCE(moves.value, 0)
FROM {product} p
LEFT JOIN (
    SELECT product_id, SUM(on_hand) AS on_hand FROM {level} WHERE {only} GROUP BY product_id
) AS levels ON levels.product_id = p.id
LEFT JOIN (
    SELECT product_id, SUM(quantity) AS quantity, SUM(value) AS value
    FROM {move} WHERE {only} GROUP BY product_id
) AS moves ON moves.product_id = p.id
WHERE ({sku_only})
  AND (ABS(p.on_hand - COALESCE(levels.on_hand, 0)) >= {q}
       OR ABS(p.on_hand - COALESCE(moves.quantity, 0)) >= {q}
       OR ABS(p.stock_value - COALESCE(moves.value, 0)) >= {m})
"""

# The database refuses this (estoque_product_no_stock_no_value); checked anyway,
# for a database restored or migrated without its constraints.
VALUE_WITHOUT_STOCK_SQL = """
SELECT p.sku, p.stock_value FROM {product} p
WHERE ({sku_only}) AND ABS(p.on_hand) < {q} AND ABS(p.stock_value) >= {m}
"""


def _filters(sku: str | None) -> tuple[dict[str, str], list]:
    """The placeholders of a statement: the SQL that limits it to one SKU (or
    to nothing) with the parameter each limit takes, and the tolerances."""
    # Half a unit of the last place, written into the SQL: a bound parameter would
    # reach SQLite as text, which never compares equal to or above a number.
    tolerances = {"q": str(QUANTITY / 2), "m": str(MONEY / 2)}
    if sku is None:
        return {"only": "1 = 1", "sku_only": "1 = 1", **tolerances}, []
    only = f"product_id IN (SELECT id FROM {TABLES['product']} WHERE sku = %s)"  # noqa: S608 - model names
    return {"only": only, "sku_only": "p.sku = %s", **tolerances}, [sku]


def _rows(sql: str, params: Iterable) -> list[tuple]:
    with connections[alias(APP)].cursor() as cursor:
        cursor.execute(sql, list(params))
        return cursor.fetchall()


def _decimal(value, places: Decimal) -> Decimal:
    # str() first: SQLite answers floats, whose repr rounds back to the stored decimal.
    return Decimal(str(value if value is not None else 0)).quantize(places)


def _level_differences(sku: str | None) -> list[Difference]:
    filters, one = _filters(sku)
    sql = LEVELS_SQL.format(**TABLES, **filters)
    params = [*one, *one, Reservation.Status.ACTIVE.value, *one]
    differences = []
    for product_sku, code, moved, on_hand, held, reserved in _rows(sql, params):
        pairs = [(LEVEL_ON_HAND, moved, on_hand), (LEVEL_RESERVED, held, reserved)]
        differences += _differing(product_sku, code, pairs, QUANTITY)
    return differences


def _product_differences(sku: str | None) -> list[Difference]:
    filters, one = _filters(sku)
    sql = PRODUCTS_SQL.format(**TABLES, **filters)
    params = [*one, *one, *one]
    differences = []
    for product_sku, on_hand, value, levels, moved, moved_value in _rows(sql, params):
        differences += _differing(
            product_sku,
            "",
            [(PRODUCT_ON_HAND_LEVELS, levels, on_hand), (PRODUCT_ON_HAND_MOVES, moved, on_hand)],
        )
        differences += _differing(product_sku, "", [(PRODUCT_STOCK_VALUE, moved_value, value)], MONEY)
    return differences


def _value_without_stock(sku: str | None) -> list[Difference]:
    filters, one = _filters(sku)
    sql = VALUE_WITHOUT_STOCK_SQL.format(**TABLES, **filters)
    return [
        Difference(
            sku=product_sku,
            warehouse="",
            check=VALUE_WITHOUT_STOCK,
            expected=Decimal("0.00"),
            actual=_decimal(value, MONEY),
        )
        for product_sku, value in _rows(sql, one)
    ]


def _differing(sku: str, warehouse: str, checks, places: Decimal = QUANTITY) -> list[Difference]:
    """The (check, expected, actual) triples of a row that actually differ."""
    differences = []
    for check, expected, actual in checks:
        expected, actual = _decimal(expected, places), _decimal(actual, places)
        if expected != actual:
            differences.append(
                Difference(sku=sku, warehouse=warehouse, check=check, expected=expected, actual=actual)
            )
    return differences
