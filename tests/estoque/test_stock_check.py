"""`manage.py stock_check`: the running totals against the ledger. The ledger is
built through the services; corruption comes from raw SQL, as a script or a bad
migration would do it, within the database's own constraints."""

import uuid
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from erp.db import alias
from estoque import reconciliation, services
from estoque.contract import Line, ReceiptLine
from estoque.models import Product, StockCommand, StockLevel
from estoque.reconciliation import Difference
from tests.estoque.factories import ProductFactory, WarehouseFactory, stocked

pytestmark = pytest.mark.django_db(databases="__all__")


def sql(statement: str, params=()) -> None:
    with connections[alias("estoque")].cursor() as cursor:
        cursor.execute(statement, params)


def stock_check(*args) -> str:
    out = StringIO()
    call_command("stock_check", *args, stdout=out)
    return out.getvalue()


def failing_stock_check(*args) -> tuple[str, CommandError]:
    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("stock_check", *args, stdout=out)
    return out.getvalue(), failed.value


@pytest.fixture
def ledger():
    """Paper received into MAIN at two costs, some moved to STORE, some reserved there."""
    main = WarehouseFactory(code="MAIN")
    store = WarehouseFactory(code="STORE")
    paper = stocked(main, quantity=10, unit_cost="3.3333", sku="PAPER")
    services.receive(
        warehouse_id=main.pk,
        reference="second-receipt",
        lines=[ReceiptLine(product_id=paper.pk, quantity=Decimal("5"), unit_cost=Decimal("4.1000"))],
    )
    services.transfer(
        from_warehouse_id=main.pk,
        to_warehouse_id=store.pk,
        lines=[Line(product_id=paper.pk, quantity=Decimal("6"))],
        reference="to-the-store",
    )
    services.reserve(
        order_ref="order-1", warehouse_id=store.pk, lines=[Line(product_id=paper.pk, quantity=Decimal("2"))]
    )
    pens = stocked(main, quantity="7.250", unit_cost="1.1000", sku="PENS")
    return {"main": main, "store": store, "paper": paper, "pens": pens}


def level(product, warehouse) -> StockLevel:
    return StockLevel.objects.get(product=product, warehouse=warehouse)


def test_a_ledger_kept_by_the_services_is_clean(ledger):
    assert reconciliation.reconcile() == []
    output = stock_check()
    assert output.strip() == (
        "Stock OK: 2 product(s), 2 warehouse(s), 3 level(s), 5 move(s) and 1 active reservation(s) agree."
    )


def test_a_level_that_disagrees_with_its_moves_is_named_and_fails(ledger):
    sql(
        "UPDATE estoque_stocklevel SET on_hand = on_hand + 1 WHERE id = %s",
        [level(ledger["paper"], ledger["main"]).pk],
    )

    output, failed = failing_stock_check()

    assert failed.returncode == 1 and "2 stock difference(s)" in str(failed)
    lines = output.splitlines()
    assert lines == [
        "PAPER -: product on hand vs the sum of its stock levels: expected 16.000, actual 15.000",
        "PAPER MAIN: on hand at the warehouse vs the sum of its stock moves: expected 9.000, actual 10.000",
    ]
    assert reconciliation.reconcile() == [
        Difference("PAPER", "", reconciliation.PRODUCT_ON_HAND_LEVELS, Decimal("16.000"), Decimal("15.000")),
        Difference("PAPER", "MAIN", reconciliation.LEVEL_ON_HAND, Decimal("9.000"), Decimal("10.000")),
    ]


def test_a_product_total_that_disagrees_with_its_levels_and_moves(ledger):
    sql("UPDATE estoque_product SET on_hand = on_hand - 0.25 WHERE sku = 'PENS'")

    output, _ = failing_stock_check()

    assert "PENS -: product on hand vs the sum of its stock levels: expected 7.250, actual 7.000" in output
    assert "PENS -: product on hand vs the sum of its stock moves: expected 7.250, actual 7.000" in output
    assert "PAPER" not in output


def test_a_stock_value_one_cent_off_its_moves(ledger):
    value = Product.objects.get(sku="PAPER").stock_value
    sql("UPDATE estoque_product SET stock_value = stock_value + 0.01 WHERE sku = 'PAPER'")

    output, _ = failing_stock_check()

    assert output.splitlines() == [
        f"PAPER -: product stock value vs the sum of its moves' values: expected {value}, "
        f"actual {value + Decimal('0.01')}"
    ]


def test_reserved_stock_without_its_reservation(ledger):
    sql("UPDATE estoque_reservation SET status = 'released' WHERE order_ref = 'order-1'")

    output, _ = failing_stock_check()

    assert output.splitlines() == [
        "PAPER STORE: reserved at the warehouse vs the sum of its active reservations: "
        "expected 0.000, actual 2.000"
    ]


def test_a_reserved_total_above_its_reservations(ledger):
    sql(
        "UPDATE estoque_stocklevel SET reserved = reserved + 1.5 WHERE id = %s",
        [level(ledger["paper"], ledger["store"]).pk],
    )
    output, _ = failing_stock_check()
    assert output.splitlines() == [
        "PAPER STORE: reserved at the warehouse vs the sum of its active reservations: "
        "expected 2.000, actual 3.500"
    ]


def test_a_move_the_totals_never_saw_even_where_there_is_no_level(ledger):
    """A move inserted behind the services' back, into a warehouse where the
    product has no level at all."""
    elsewhere = WarehouseFactory(code="FAR")
    command = StockCommand.objects.filter(kind=StockCommand.Kind.RECEIPT).first()
    sql(
        "INSERT INTO estoque_stockmove (id, command_id, product_id, warehouse_id, kind, quantity, unit_cost, "
        "value, reference, created_at) VALUES (%s, %s, %s, %s, 'receipt', 4, 2.5, 10.00, 'behind', %s)",
        [uuid.uuid4(), command.pk, ledger["pens"].pk, elsewhere.pk, timezone.now()],
    )

    output, failed = failing_stock_check()

    assert output.splitlines() == [
        "PENS -: product on hand vs the sum of its stock moves: expected 11.250, actual 7.250",
        "PENS -: product stock value vs the sum of its moves' values: expected 17.98, actual 7.98",
        "PENS FAR: on hand at the warehouse vs the sum of its stock moves: expected 4.000, actual 0.000",
    ]
    assert failed.returncode == 1


def test_stock_value_with_nothing_on_hand(ledger):
    """The database refuses this (a check constraint); a database restored
    without its constraints would not, and the check still sees it."""
    product = ProductFactory(sku="GHOST")
    sql("ALTER TABLE estoque_product DROP CONSTRAINT estoque_product_no_stock_no_value")  # this test only
    sql("UPDATE estoque_product SET stock_value = 5 WHERE id = %s", [product.pk])

    output, _ = failing_stock_check()

    assert output.splitlines() == [
        "GHOST -: product stock value vs the sum of its moves' values: expected 0.00, actual 5.00",
        "GHOST -: stock value of a product with nothing on hand: expected 0.00, actual 5.00",
    ]


def test_product_limits_the_check_to_one_sku(ledger):
    sql("UPDATE estoque_product SET stock_value = stock_value + 1 WHERE sku IN ('PAPER', 'PENS')")

    output, _ = failing_stock_check("--product", "PENS")
    assert output.splitlines() == [
        "PENS -: product stock value vs the sum of its moves' values: expected 7.98, actual 8.98"
    ]

    sql("UPDATE estoque_product SET stock_value = stock_value - 1 WHERE sku = 'PENS'")
    assert stock_check("--product", "PENS").strip() == (
        "Stock OK: 1 product(s), 2 warehouse(s), 1 level(s), 1 move(s) and 0 active reservation(s) agree."
    )


def test_an_unknown_sku_is_an_error_not_a_clean_check(ledger):
    output, failed = failing_stock_check("--product", "NOPE")
    assert "No product has the SKU NOPE." in str(failed) and output == ""


def test_the_check_costs_the_same_queries_for_two_products_or_twenty():
    warehouse = WarehouseFactory()

    def queries() -> int:
        with CaptureQueriesContext(connections[alias("estoque")]) as captured:
            assert reconciliation.reconcile() == []
        return len(captured)

    for _ in range(2):
        stocked(warehouse)
    few = queries()
    for _ in range(18):
        stocked(warehouse)
    assert queries() == few
