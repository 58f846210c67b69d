"""Hand-written statements for estoque's hot paths on PostgreSQL.

The services call these where the ORM's per-object work would dominate a
reservation or a shipment (bench/estoque measures it): one statement per step,
whatever the number of lines, with arrays bound as parameters (``unnest``).
Other databases (SQLite, the quick start) take the portable ORM path: each
function here says what it replaces, and the services choose with
:func:`fast`.

Level rows are always locked in product order (a ``MATERIALIZED`` CTE with
``ORDER BY … FOR NO KEY UPDATE``), as everywhere in estoque, so these
statements cannot deadlock with the ORM's ordered locks.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from django.db import connections
from django.utils import timezone

from erp.db import alias
from estoque.models import Product, StockCommand

APP = "estoque"


def _connection():
    return connections[alias(APP)]


def fast() -> bool:
    """True where these statements run (PostgreSQL)."""
    return _connection().vendor == "postgresql"


_WAREHOUSE_AND_PRODUCTS = """
SELECT product.id, product.sku, product.is_active, product.reorder_point, product.reorder_quantity
FROM estoque_warehouse AS warehouse
LEFT JOIN estoque_product AS product ON product.id = ANY(%(products)s::uuid[])
WHERE warehouse.id = %(warehouse)s AND warehouse.is_active
"""


def products_in_active_warehouse(
    *, warehouse_id: UUID, product_ids: Sequence[UUID]
) -> dict[UUID, Product] | None:
    """The products (id, sku, active flag, reorder point and quantity) by id,
    read in the statement that checks the warehouse: None when the warehouse
    is unknown or inactive. Replaces two ORM reads."""
    with _connection().cursor() as cursor:
        cursor.execute(_WAREHOUSE_AND_PRODUCTS, {"warehouse": warehouse_id, "products": list(product_ids)})
        rows = cursor.fetchall()
    if not rows:
        return None
    return {
        row[0]: Product(
            id=row[0], sku=row[1], is_active=row[2], reorder_point=row[3], reorder_quantity=row[4]
        )
        for row in rows
        if row[0] is not None
    }


_LOCK_PRODUCTS = """
SELECT id, sku, on_hand, stock_value, average_cost FROM estoque_product
WHERE id = ANY(%(products)s::uuid[]) ORDER BY id FOR NO KEY UPDATE
"""


def lock_valuations(product_ids: Iterable[UUID]) -> dict[UUID, Product]:
    """The products' valuation (sku, on_hand, stock_value, average_cost),
    locked in id order, as Product instances holding only those fields, for
    :func:`save_products` to write back (replaces an ORM ``select_for_update``)."""
    with _connection().cursor() as cursor:
        cursor.execute(_LOCK_PRODUCTS, {"products": list(product_ids)})
        rows = cursor.fetchall()
    return {
        row[0]: Product(id=row[0], sku=row[1], on_hand=row[2], stock_value=row[3], average_cost=row[4])
        for row in rows
    }


_CHANGE_LEVELS = """
WITH locked AS MATERIALIZED (
    SELECT id, product_id FROM estoque_stocklevel
    WHERE warehouse_id = %(warehouse)s AND product_id = ANY(%(products)s::uuid[])
    ORDER BY product_id
    FOR NO KEY UPDATE
)
UPDATE estoque_stocklevel AS level
SET on_hand = level.on_hand + change.on_hand,
    reserved = level.reserved + change.reserved,
    updated_at = %(now)s
FROM locked
JOIN unnest(%(products)s::uuid[], %(on_hand)s::numeric[], %(reserved)s::numeric[])
    AS change (product_id, on_hand, reserved) ON change.product_id = locked.product_id
WHERE level.id = locked.id
  AND (NOT %(conditional)s OR level.on_hand - level.reserved >= change.reserved)
RETURNING level.product_id, level.on_hand - level.reserved, level.replenishment_pending
"""


def change_levels(
    *, warehouse_id: UUID, changes: Sequence[tuple[UUID, Decimal, Decimal]], only_if_available: bool
) -> dict[UUID, tuple[Decimal, bool]]:
    """Add ``(on_hand, reserved)`` deltas to the warehouse's level of each
    product, in one statement that locks the levels in product order. With
    ``only_if_available``, a level changes only while its available stock
    covers the reserved delta (the condition is rechecked on the newest row
    version, so concurrent reservations never oversell).

    Returns product id → (available after, replenishment pending) for the
    levels changed; a product missing from it had no level or too little."""
    changes = sorted(changes)
    with _connection().cursor() as cursor:
        cursor.execute(
            _CHANGE_LEVELS,
            {
                "warehouse": warehouse_id,
                "products": [product_id for product_id, _, _ in changes],
                "on_hand": [on_hand for _, on_hand, _ in changes],
                "reserved": [reserved for _, _, reserved in changes],
                "now": timezone.now(),
                "conditional": only_if_available,
            },
        )
        return {product_id: (available, pending) for product_id, available, pending in cursor.fetchall()}


_SAVE_LEVELS = """
UPDATE estoque_stocklevel AS level
SET on_hand = saved.on_hand, reserved = saved.reserved,
    replenishment_pending = saved.pending, updated_at = %(now)s
FROM unnest(%(ids)s::bigint[], %(on_hand)s::numeric[], %(reserved)s::numeric[], %(pending)s::boolean[])
    AS saved (id, on_hand, reserved, pending)
WHERE level.id = saved.id
"""


def _write_back(sql: str, rows: Sequence, arrays: dict[str, str]) -> None:
    """Run ``sql`` with one array per parameter (``{parameter: attribute}``)
    and ``now``, stamping each row's ``updated_at``."""
    now = timezone.now()
    for row in rows:
        row.updated_at = now
    params = {name: [getattr(row, attribute) for row in rows] for name, attribute in arrays.items()}
    with _connection().cursor() as cursor:
        cursor.execute(sql, {"now": now, **params})


def save_levels(levels: Sequence) -> None:
    """Write locked levels' quantities and flags back (replaces ``bulk_update``,
    whose CASE per row and field costs more than the rest of a reservation)."""
    _write_back(
        _SAVE_LEVELS,
        levels,
        {"ids": "pk", "on_hand": "on_hand", "reserved": "reserved", "pending": "replenishment_pending"},
    )


_SAVE_PRODUCTS = """
UPDATE estoque_product AS product
SET on_hand = saved.on_hand, stock_value = saved.stock_value,
    average_cost = saved.average_cost, updated_at = %(now)s
FROM unnest(%(ids)s::uuid[], %(on_hand)s::numeric[], %(value)s::numeric[], %(cost)s::numeric[])
    AS saved (id, on_hand, stock_value, average_cost)
WHERE product.id = saved.id
"""


def save_products(products: Sequence) -> None:
    """Write locked products' valuation back (replaces ``bulk_update``)."""
    _write_back(
        _SAVE_PRODUCTS,
        products,
        {"ids": "pk", "on_hand": "on_hand", "value": "stock_value", "cost": "average_cost"},
    )


_CLAIM_SHIPMENT = """
WITH command AS (
    UPDATE estoque_stockcommand
    SET status = 'consumed', shipped_at = %(now)s, shipped_on = %(today)s
    WHERE kind = 'reservation' AND reference = %(reference)s AND status = 'active'
    RETURNING id, warehouse_id, created_by
)
UPDATE estoque_reservation AS reservation SET status = 'consumed', updated_at = %(now)s
FROM command
WHERE reservation.command_id = command.id AND reservation.status = 'active'
RETURNING command.id, command.warehouse_id, command.created_by, reservation.product_id, reservation.quantity
"""


def claim_shipment(
    *, order_ref: str, now: datetime, today: date
) -> tuple[UUID, UUID, UUID | None, list[tuple[UUID, Decimal]]] | None:
    """Mark an active reservation and its lines consumed, in one statement:
    (command id, warehouse id, created by, [(product id, quantity)] in product
    order), or None when ``order_ref`` has no active reservation (unknown,
    released, already shipped: the portable path tells which)."""
    with _connection().cursor() as cursor:
        cursor.execute(_CLAIM_SHIPMENT, {"now": now, "today": today, "reference": order_ref})
        rows = cursor.fetchall()
    if not rows:
        return None
    command_id, warehouse_id, created_by = rows[0][:3]
    return command_id, warehouse_id, created_by, sorted((row[3], row[4]) for row in rows)


_RESERVATIONS_OF_CLAIMED = """
INSERT INTO estoque_reservation
    (id, command_id, order_ref, product_id, warehouse_id, quantity, status, created_at, updated_at)
SELECT held.id, claimed.id, %s, held.product_id, %s, held.quantity, 'active', %s, %s
FROM claimed, unnest(%s::uuid[], %s::uuid[], %s::numeric[]) AS held (id, product_id, quantity)
RETURNING command_id
"""


def claim(command: StockCommand, *, reservations: Sequence[tuple[UUID, Decimal]] = ()) -> bool:
    """Insert ``command`` unless its (kind, reference) is taken: True when it
    was inserted. Portable (``INSERT … ON CONFLICT DO NOTHING RETURNING``). On
    PostgreSQL the new command's ``reservations`` (product id, quantity) are
    inserted by the same statement; elsewhere the caller inserts them."""
    connection = _connection()
    fields = StockCommand._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    values = [field.get_db_prep_save(getattr(command, field.attname), connection) for field in fields]
    insert = (
        f"INSERT INTO {StockCommand._meta.db_table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))}) "  # noqa: S608 - names from the model
        "ON CONFLICT (kind, reference) DO NOTHING RETURNING id"
    )
    if reservations and fast():
        sql = f"WITH claimed AS ({insert}) {_RESERVATIONS_OF_CLAIMED}"
        values += [
            command.reference,
            command.warehouse_id,
            command.created_at,
            command.created_at,
            [uuid.uuid4() for _ in reservations],
            [product_id for product_id, _ in reservations],
            [quantity for _, quantity in reservations],
        ]
    else:
        sql = insert
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        inserted = cursor.fetchone() is not None
    if inserted:
        command._state.adding = False
        command._state.db = connection.alias
    return inserted


_INSERT_MOVES = """
INSERT INTO estoque_stockmove
    (id, command_id, product_id, warehouse_id, kind, quantity, unit_cost, value, reference, created_by, created_at)
SELECT move.id, %(command)s, move.product_id, %(warehouse)s, %(kind)s, move.quantity, move.unit_cost,
       move.value, %(reference)s, %(created_by)s, %(now)s
FROM unnest(%(ids)s::uuid[], %(products)s::uuid[], %(quantities)s::numeric[], %(costs)s::numeric[],
            %(values)s::numeric[]) AS move (id, product_id, quantity, unit_cost, value)
"""


def insert_moves(
    *,
    command_id: UUID,
    warehouse_id: UUID,
    kind: str,
    reference: str,
    created_by: UUID | None,
    now: datetime,
    lines: Iterable[tuple[UUID, Decimal, Decimal, Decimal]],
) -> list[UUID]:
    """Append one move per ``(product id, signed quantity, unit cost, signed
    value)`` in one statement (replaces ``bulk_create``); their ids, in order."""
    lines = list(lines)
    ids = [uuid.uuid4() for _ in lines]
    with _connection().cursor() as cursor:
        cursor.execute(
            _INSERT_MOVES,
            {
                "command": command_id,
                "warehouse": warehouse_id,
                "kind": kind,
                "reference": reference,
                "created_by": created_by,
                "now": now,
                "ids": ids,
                "products": [line[0] for line in lines],
                "quantities": [line[1] for line in lines],
                "costs": [line[2] for line in lines],
                "values": [line[3] for line in lines],
            },
        )
    return ids
