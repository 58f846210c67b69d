"""The database itself refuses stock that could not exist: code that bypasses
the services (a raw UPDATE, a script, a bug) cannot break the invariants.
Each statement runs in its own savepoint on estoque's database, through raw SQL."""

import uuid
from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, InternalError, connections, transaction
from django.utils import timezone

from erp.db import alias
from estoque.models import Product, StockLevel, StockMove
from tests.estoque.factories import ProductFactory, WarehouseFactory, stocked

pytestmark = pytest.mark.django_db(databases="__all__")


def db() -> str:
    return alias("estoque")


def refused(sql: str, params=(), error: type[Exception] = IntegrityError) -> Exception:
    """Run ``sql`` in a savepoint; it must fail with ``error`` (and change nothing)."""
    with (
        pytest.raises(error) as caught,
        transaction.atomic(using=db()),
        connections[db()].cursor() as cursor,
    ):
        cursor.execute(sql, params)
    return caught.value


@pytest.fixture
def level():
    warehouse = WarehouseFactory()
    product = stocked(warehouse, quantity=5, unit_cost="2.0000")
    return StockLevel.objects.get(product=product, warehouse=warehouse)


def test_level_on_hand_below_zero(level):
    refused("UPDATE estoque_stocklevel SET on_hand = -1, reserved = 0 WHERE id = %s", [level.pk])
    level.refresh_from_db()
    assert level.on_hand == Decimal("5.000")


def test_level_reserved_below_zero(level):
    refused("UPDATE estoque_stocklevel SET reserved = -0.001 WHERE id = %s", [level.pk])


def test_level_reserved_above_on_hand(level):
    refused("UPDATE estoque_stocklevel SET reserved = 5.001 WHERE id = %s", [level.pk])
    level.refresh_from_db()
    assert level.reserved == 0


def test_reserved_equal_to_on_hand_is_allowed(level):
    with connections[db()].cursor() as cursor:
        cursor.execute("UPDATE estoque_stocklevel SET reserved = on_hand WHERE id = %s", [level.pk])
    level.refresh_from_db()
    assert level.reserved == level.on_hand


def test_second_level_for_the_same_product_and_warehouse(level):
    refused(
        "INSERT INTO estoque_stocklevel (product_id, warehouse_id, on_hand, reserved, "
        "replenishment_pending, updated_at) VALUES (%s, %s, 0, 0, false, now())",
        [level.product_id, level.warehouse_id],
    )
    assert StockLevel.objects.filter(product=level.product_id).count() == 1


def test_duplicate_sku():
    product = ProductFactory(sku="DUP-1")
    refused(
        "INSERT INTO estoque_product (id, sku, name, description, unit, reorder_point, reorder_quantity, "
        "is_active, on_hand, stock_value, average_cost, created_at, updated_at) "
        "VALUES (%s, %s, 'x', '', 'un', 0, 0, true, 0, 0, 0, now(), now())",
        [uuid.uuid4(), product.sku],
    )
    assert Product.objects.filter(sku="DUP-1").count() == 1


def test_product_on_hand_below_zero(level):
    refused("UPDATE estoque_product SET on_hand = -1 WHERE id = %s", [level.product_id])


def test_product_stock_value_below_zero(level):
    refused("UPDATE estoque_product SET stock_value = -0.01 WHERE id = %s", [level.product_id])
    assert Product.objects.get(pk=level.product_id).stock_value == Decimal("10.00")


def test_no_stock_means_no_value(level):
    refused("UPDATE estoque_product SET on_hand = 0, stock_value = 0.01 WHERE id = %s", [level.product_id])
    # Both zero together is the state after issuing the last unit.
    with connections[db()].cursor() as cursor:
        cursor.execute(
            "UPDATE estoque_product SET on_hand = 0, stock_value = 0 WHERE id = %s", [level.product_id]
        )


def test_product_average_cost_below_zero(level):
    refused("UPDATE estoque_product SET average_cost = -0.0001 WHERE id = %s", [level.product_id])


def test_stock_moves_are_append_only(level):
    move = StockMove.objects.get(product=level.product_id)
    update = refused("UPDATE estoque_stockmove SET quantity = 1 WHERE id = %s", [move.pk], DatabaseError)
    delete = refused("DELETE FROM estoque_stockmove WHERE id = %s", [move.pk], DatabaseError)
    for error in (update, delete):
        # The trigger's own refusal, not some other failure.
        assert isinstance(error, (IntegrityError, InternalError))
        assert "append-only" in str(error)
    move.refresh_from_db()
    assert move.quantity == Decimal("5.000")


def test_stock_move_quantity_zero(level):
    move = StockMove.objects.get(product=level.product_id)
    refused(
        "INSERT INTO estoque_stockmove (id, command_id, product_id, warehouse_id, kind, quantity, unit_cost, "
        "value, reference, created_at) VALUES (%s, %s, %s, %s, 'receipt', 0, 1, 0, '', now())",
        [uuid.uuid4(), move.command_id, move.product_id, move.warehouse_id],
    )


def test_second_open_replenishment_for_a_pair(level):
    insert = (
        "INSERT INTO estoque_replenishment (id, product_id, warehouse_id, thread_id, proposed_quantity, "
        "status, created_at) VALUES (%s, %s, %s, %s, 10, %s, now())"
    )
    pair = [level.product_id, level.warehouse_id]
    with connections[db()].cursor() as cursor:
        cursor.execute(insert, [uuid.uuid4(), *pair, uuid.uuid4(), "open"])
        # Closed runs do not count: history may hold any number of them.
        cursor.execute(insert, [uuid.uuid4(), *pair, uuid.uuid4(), "received"])
        cursor.execute(insert, [uuid.uuid4(), *pair, uuid.uuid4(), "expired"])
    refused(insert, [uuid.uuid4(), *pair, uuid.uuid4(), "open"])


def test_duplicate_kind_and_reference_command():
    insert = (
        "INSERT INTO estoque_stockcommand (id, kind, reference, fingerprint, status, reason, created_at, "
        "occurred_on) VALUES (%s, %s, 'REF-1', '', %s, '', %s, %s)"
    )
    now, today = timezone.now(), date.today()
    with connections[db()].cursor() as cursor:
        cursor.execute(insert, [uuid.uuid4(), "receipt", "done", now, today])
        # The same reference under another kind is another command.
        cursor.execute(insert, [uuid.uuid4(), "reservation", "active", now, today])
    refused(insert, [uuid.uuid4(), "receipt", "done", now, today])
