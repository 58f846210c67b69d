"""The baseline: reserve and ship written by hand in SQL through psycopg, with
the database effects of ``estoque.services`` (the same rows in the same tables,
one transaction per command, the same row locks in the same order) and the
same checks (active warehouse and products, enough available stock), but no
ORM, no model instances and no contract dataclasses.

One psycopg connection per process, psycopg's defaults (it prepares a statement
server-side after its fifth use; Django's backend binds client-side). Arrays
(``unnest``) keep every statement's text the same whatever the line count.
Importable without Django set up.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

import psycopg

MONEY = Decimal("0.01")
COST = Decimal("0.0001")

INSERT_COMMAND = """
INSERT INTO estoque_stockcommand (id, kind, reference, fingerprint, status, warehouse_id, to_warehouse_id,
    reason, created_by, created_at, occurred_on, shipped_at, shipped_on, released_at)
VALUES (%s, 'reservation', %s, %s, 'active', %s, NULL, '', NULL, %s, %s, NULL, NULL, NULL)
ON CONFLICT (kind, reference) DO NOTHING RETURNING id"""
LOCK_LEVELS = """
SELECT l.product_id, p.sku, p.is_active, l.on_hand - l.reserved
FROM estoque_stocklevel l
JOIN estoque_product p ON p.id = l.product_id
JOIN estoque_warehouse w ON w.id = l.warehouse_id AND w.is_active
WHERE l.warehouse_id = %s AND l.product_id = ANY(%s)
ORDER BY l.product_id FOR NO KEY UPDATE OF l"""
RESERVE_LEVELS = """
UPDATE estoque_stocklevel l SET reserved = l.reserved + v.quantity, updated_at = %s
FROM unnest(%s::uuid[], %s::numeric[]) AS v(product_id, quantity)
WHERE l.warehouse_id = %s AND l.product_id = v.product_id"""
INSERT_RESERVATIONS = """
INSERT INTO estoque_reservation (id, command_id, order_ref, product_id, warehouse_id, quantity, status,
    created_at, updated_at)
SELECT v.id, %s, %s, v.product_id, %s, v.quantity, 'active', %s, %s
FROM unnest(%s::uuid[], %s::uuid[], %s::numeric[]) AS v(id, product_id, quantity)"""
INSERT_OUTBOX = """
INSERT INTO erp_outboxevent (id, event_type, version, occurred_at, payload, created_at)
VALUES (%s, %s, 1, %s, %s::jsonb, %s)"""

CLAIM_SHIPMENT = """
UPDATE estoque_stockcommand SET status = 'consumed', shipped_at = %s, shipped_on = %s
WHERE kind = 'reservation' AND reference = %s AND status = 'active'
RETURNING id, warehouse_id, created_by"""
CONSUME_RESERVATIONS = """
UPDATE estoque_reservation SET status = 'consumed', updated_at = %s
WHERE command_id = %s AND status = 'active'
RETURNING product_id, quantity"""
LOCK_PRODUCTS = """
SELECT id, sku, on_hand, stock_value, average_cost FROM estoque_product
WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE"""
ISSUE_PRODUCTS = """
UPDATE estoque_product p SET on_hand = p.on_hand - v.quantity, stock_value = p.stock_value - v.value,
    updated_at = %s
FROM unnest(%s::uuid[], %s::numeric[], %s::numeric[]) AS v(id, quantity, value)
WHERE p.id = v.id"""
ISSUE_LEVELS = """
UPDATE estoque_stocklevel l SET on_hand = l.on_hand - v.quantity, reserved = l.reserved - v.quantity,
    updated_at = %s
FROM unnest(%s::uuid[], %s::numeric[]) AS v(product_id, quantity)
WHERE l.warehouse_id = %s AND l.product_id = v.product_id"""
INSERT_MOVES = """
INSERT INTO estoque_stockmove (id, command_id, product_id, warehouse_id, kind, quantity, unit_cost, value,
    reference, created_by, created_at)
SELECT v.id, %s, v.product_id, %s, 'issue', v.quantity, v.unit_cost, v.value, %s, %s, %s
FROM unnest(%s::uuid[], %s::uuid[], %s::numeric[], %s::numeric[], %s::numeric[])
    AS v(id, product_id, quantity, unit_cost, value)"""

# Part 2: one line, the availability check in the UPDATE itself (no SELECT … FOR UPDATE).
RESERVE_ONE = """
UPDATE estoque_stocklevel l SET reserved = l.reserved + %s, updated_at = %s
FROM estoque_product p, estoque_warehouse w
WHERE l.product_id = %s AND l.warehouse_id = %s AND l.on_hand - l.reserved >= %s
    AND p.id = l.product_id AND p.is_active AND w.id = l.warehouse_id AND w.is_active
RETURNING p.sku"""
BARE_UPDATE = """
UPDATE estoque_stocklevel SET reserved = reserved + 1
WHERE product_id = %s AND warehouse_id = %s AND on_hand - reserved >= 1"""


class RefusedError(RuntimeError):
    """What the service would raise as a domain error (never expected in the bench)."""


def connect(dsn: str, *, autocommit: bool = False) -> psycopg.Connection:
    return psycopg.connect(dsn, autocommit=autocommit)


def _fingerprint(warehouse_id: UUID, lines) -> str:
    text = f"{warehouse_id}|" + "|".join(f"{p}:{q}" for p, q in sorted(lines))
    return hashlib.sha256(text.encode()).hexdigest()


def _outbox(cur, event_type: str, payload: dict, now: datetime) -> None:
    cur.execute(INSERT_OUTBOX, (uuid.uuid4(), event_type, now, json.dumps(payload), now))


def reserve(conn: psycopg.Connection, order_ref: str, warehouse_id: UUID, lines) -> None:
    """``lines``: (product_id, quantity) pairs. One transaction."""
    now = datetime.now(UTC)
    product_ids = [p for p, _q in lines]
    quantities = [q for _p, q in lines]
    with conn.cursor() as cur:
        try:
            cur.execute(
                INSERT_COMMAND,
                (uuid.uuid4(), order_ref, _fingerprint(warehouse_id, lines), warehouse_id, now, now.date()),
            )
            claimed = cur.fetchone()
            if claimed is None:
                raise RefusedError(f"{order_ref} already reserved")
            command_id = claimed[0]
            cur.execute(LOCK_LEVELS, (warehouse_id, product_ids))
            found = {row[0]: row for row in cur.fetchall()}
            for product_id, quantity in lines:
                row = found.get(product_id)
                if row is None or not row[2] or row[3] < quantity:
                    raise RefusedError(f"{order_ref}: cannot reserve {quantity} of {product_id}")
            cur.execute(RESERVE_LEVELS, (now, product_ids, quantities, warehouse_id))
            cur.execute(
                INSERT_RESERVATIONS,
                (
                    command_id, order_ref, warehouse_id, now, now,
                    [uuid.uuid4() for _ in lines], product_ids, quantities,
                ),
            )  # fmt: skip
            payload = {
                "order_ref": order_ref,
                "warehouse_id": str(warehouse_id),
                "lines": [{"product_id": str(p), "sku": found[p][1], "quantity": str(q)} for p, q in lines],
            }
            _outbox(cur, "estoque.StockReserved", payload, now)
        except BaseException:
            conn.rollback()
            raise
    conn.commit()


def _issue_value(on_hand: Decimal, stock_value: Decimal, quantity: Decimal) -> Decimal:
    """The share of the running value an issue takes (all of it for the last unit)."""
    if quantity >= on_hand:
        return stock_value
    return min((stock_value * quantity / on_hand).quantize(MONEY, rounding=ROUND_HALF_UP), stock_value)


def ship(conn: psycopg.Connection, order_ref: str) -> None:
    """Consume the reservation into issue moves at the running value. One transaction."""
    now = datetime.now(UTC)
    with conn.cursor() as cur:
        try:
            cur.execute(CLAIM_SHIPMENT, (now, now.date(), order_ref))
            claimed = cur.fetchone()
            if claimed is None:
                raise RefusedError(f"{order_ref}: no active reservation")
            command_id, warehouse_id, created_by = claimed
            cur.execute(CONSUME_RESERVATIONS, (now, command_id))
            held = cur.fetchall()
            cur.execute(LOCK_PRODUCTS, ([p for p, _q in held],))
            products = {row[0]: row for row in cur.fetchall()}
            ids, quantities, values, costs, payload_lines = [], [], [], [], []
            for product_id, quantity in sorted(held):
                _id, sku, on_hand, stock_value, average_cost = products[product_id]
                value = _issue_value(on_hand, stock_value, quantity)
                cost = (
                    abs(value / quantity).quantize(COST, rounding=ROUND_HALF_UP) if quantity else average_cost
                )
                ids.append(product_id)
                quantities.append(quantity)
                values.append(value)
                costs.append(cost)
                payload_lines.append(
                    {
                        "product_id": str(product_id),
                        "sku": sku,
                        "quantity": str(quantity),
                        "unit_cost": str(cost),
                        "value": str(value),
                    }
                )
            cur.execute(ISSUE_PRODUCTS, (now, ids, quantities, values))
            cur.execute(ISSUE_LEVELS, (now, ids, quantities, warehouse_id))
            cur.execute(
                INSERT_MOVES,
                (
                    command_id, warehouse_id, order_ref, created_by, now,
                    [uuid.uuid4() for _ in ids], ids, [-q for q in quantities], costs, [-v for v in values],
                ),
            )  # fmt: skip
            payload = {
                "order_ref": order_ref,
                "warehouse_id": str(warehouse_id),
                "issued_on": now.date().isoformat(),
                "lines": payload_lines,
                "value": str(sum(values, Decimal("0.00"))),
            }
            _outbox(cur, "estoque.StockIssued", payload, now)
        except BaseException:
            conn.rollback()
            raise
    conn.commit()


def reserve_one(conn: psycopg.Connection, order_ref: str, warehouse_id: UUID, product_id: UUID) -> None:
    """Part 2: one unit of one product, the conditional UPDATE as the lock and the check."""
    now = datetime.now(UTC)
    quantity = Decimal("1.000")
    with conn.cursor() as cur:
        try:
            cur.execute(
                INSERT_COMMAND,
                (
                    uuid.uuid4(), order_ref, _fingerprint(warehouse_id, [(product_id, quantity)]),
                    warehouse_id, now, now.date(),
                ),
            )  # fmt: skip
            claimed = cur.fetchone()
            if claimed is None:
                raise RefusedError(f"{order_ref} already reserved")
            cur.execute(RESERVE_ONE, (quantity, now, product_id, warehouse_id, quantity))
            updated = cur.fetchone()
            if updated is None:
                raise RefusedError(f"{order_ref}: not enough stock")
            cur.execute(
                INSERT_RESERVATIONS,
                (claimed[0], order_ref, warehouse_id, now, now, [uuid.uuid4()], [product_id], [quantity]),
            )
            payload = {
                "order_ref": order_ref,
                "warehouse_id": str(warehouse_id),
                "lines": [{"product_id": str(product_id), "sku": updated[0], "quantity": str(quantity)}],
            }
            _outbox(cur, "estoque.StockReserved", payload, now)
        except BaseException:
            conn.rollback()
            raise
    conn.commit()


def bare_update(conn: psycopg.Connection, warehouse_id: UUID, product_id: UUID) -> None:
    """The ceiling: the conditional UPDATE alone, autocommit (``conn`` in autocommit)."""
    if conn.execute(BARE_UPDATE, (product_id, warehouse_id)).rowcount != 1:
        raise RefusedError("not enough stock")
