"""estoque's contract, in-process, as another app calls it: every command, its
idempotency by reference, its errors (nothing changed after one) and the events
it publishes, read back from the outbox exactly as subscribers will."""

from decimal import Decimal
from uuid import uuid4

import pytest

from erp import services as registry
from erp.db import alias
from erp.models import OutboxEvent
from estoque.contract import (
    BelowReservedError,
    CountLine,
    InactiveProductError,
    InsufficientStockError,
    InvalidStockInputError,
    Line,
    ReceiptLine,
    ReferenceConflictError,
    ReservationConsumedError,
    ReservationNotFoundError,
    ReservationReleasedError,
    StockService,
    UnknownProductError,
    UnknownWarehouseError,
)
from estoque.models import Product, Reservation, StockCommand, StockLevel, StockMove
from tests.estoque.factories import ProductFactory, WarehouseFactory, stocked

pytestmark = pytest.mark.django_db(databases="__all__")

D = Decimal


@pytest.fixture
def stock() -> StockService:
    return registry.get("estoque")


@pytest.fixture
def wh():
    return WarehouseFactory()


def outbox(event_type: str) -> list[dict]:
    rows = OutboxEvent.objects.using(alias("estoque")).filter(event_type=event_type).order_by("created_at")
    return [row.payload for row in rows]


def all_events() -> int:
    return OutboxEvent.objects.using(alias("estoque")).count()


def level(product, warehouse) -> StockLevel:
    return StockLevel.objects.get(product=product, warehouse=warehouse)


def snapshot() -> tuple:
    """Everything a command could change: rows per table and every level."""
    return (
        StockMove.objects.count(),
        StockCommand.objects.count(),
        Reservation.objects.count(),
        all_events(),
        sorted(StockLevel.objects.values_list("product_id", "warehouse_id", "on_hand", "reserved")),
        sorted(Product.objects.values_list("id", "on_hand", "stock_value", "average_cost")),
    )


def fields(error) -> list[str]:
    return [e.field for e in error.errors]


# --- receive -------------------------------------------------------------------


def test_receive_adds_stock_value_and_average_and_publishes(stock, wh):
    a, b = ProductFactory(sku="A-1"), ProductFactory(sku="B-1")
    receipt = stock.receive(
        warehouse_id=wh.pk,
        reference="NF-1",
        lines=[
            ReceiptLine(product_id=b.pk, quantity=D("3"), unit_cost=D("1.3333")),
            ReceiptLine(product_id=a.pk, quantity=D("2.5"), unit_cost=D("10")),
        ],
    )

    assert receipt.reference == "NF-1" and receipt.warehouse_id == wh.pk
    assert [(m.sku, m.kind, m.quantity, m.unit_cost, m.value) for m in receipt.moves] == [
        ("A-1", "receipt", D("2.5"), D("10"), D("25.00")),
        ("B-1", "receipt", D("3"), D("1.3333"), D("4.00")),
    ]
    assert receipt.value == D("29.00")
    b.refresh_from_db()
    assert (b.on_hand, b.stock_value, b.average_cost) == (D("3"), D("4.00"), D("1.3333"))
    assert level(b, wh).on_hand == D("3")

    [event] = outbox("estoque.StockReceived")
    assert event == {
        "receipt_id": str(receipt.id),
        "warehouse_id": str(wh.pk),
        "reference": "NF-1",
        "received_on": receipt.received_on.isoformat(),
        "lines": [
            {
                "product_id": str(a.pk),
                "sku": "A-1",
                "quantity": "2.500",
                "unit_cost": "10.0000",
                "value": "25.00",
            },
            {
                "product_id": str(b.pk),
                "sku": "B-1",
                "quantity": "3.000",
                "unit_cost": "1.3333",
                "value": "4.00",
            },
        ],
        "value": "29.00",
    }


def test_receive_recomputes_the_moving_average(stock, wh):
    product = stocked(wh, quantity=10, unit_cost="2.0000")
    stock.receive(
        warehouse_id=wh.pk,
        reference="NF-2",
        lines=[ReceiptLine(product_id=product.pk, quantity=D("5"), unit_cost=D("5.0000"))],
    )
    product.refresh_from_db()
    assert (product.on_hand, product.stock_value, product.average_cost) == (D("15"), D("45.00"), D("3.0000"))


def test_receive_repeat_is_the_same_receipt_with_no_second_effect(stock, wh):
    a, b = ProductFactory(), ProductFactory()
    lines = [
        ReceiptLine(product_id=a.pk, quantity=D("1"), unit_cost=D("2")),
        ReceiptLine(product_id=b.pk, quantity=D("4"), unit_cost=D("0.5")),
    ]
    first = stock.receive(warehouse_id=wh.pk, reference="NF-3", lines=lines)
    before = snapshot()

    # The same data, lines in another order and numbers written differently.
    again = stock.receive(
        warehouse_id=wh.pk,
        reference="NF-3",
        lines=[
            ReceiptLine(product_id=b.pk, quantity=D("4.000"), unit_cost=D("0.5000")),
            ReceiptLine(product_id=a.pk, quantity=D("1.0"), unit_cost=D("2.00")),
        ],
    )

    assert again == first
    assert snapshot() == before
    assert len(outbox("estoque.StockReceived")) == 1


@pytest.mark.parametrize(
    "change",
    ["quantity", "unit_cost", "warehouse", "product"],
)
def test_receive_same_reference_other_data_is_a_conflict(stock, wh, change):
    product = ProductFactory()
    stock.receive(
        warehouse_id=wh.pk,
        reference="NF-4",
        lines=[ReceiptLine(product_id=product.pk, quantity=D("1"), unit_cost=D("2"))],
    )
    before = snapshot()
    other = {
        "quantity": {"lines": [ReceiptLine(product_id=product.pk, quantity=D("2"), unit_cost=D("2"))]},
        "unit_cost": {"lines": [ReceiptLine(product_id=product.pk, quantity=D("1"), unit_cost=D("3"))]},
        "warehouse": {"warehouse_id": WarehouseFactory().pk},
        "product": {
            "lines": [ReceiptLine(product_id=ProductFactory().pk, quantity=D("1"), unit_cost=D("2"))]
        },
    }[change]
    before = snapshot()
    arguments = {
        "warehouse_id": wh.pk,
        "reference": "NF-4",
        "lines": [ReceiptLine(product_id=product.pk, quantity=D("1"), unit_cost=D("2"))],
    } | other

    with pytest.raises(ReferenceConflictError):
        stock.receive(**arguments)
    assert snapshot() == before


def test_receive_unknown_and_inactive_products_name_their_lines(stock, wh):
    good, inactive = ProductFactory(), ProductFactory(is_active=False)
    before = snapshot()

    with pytest.raises(UnknownProductError) as unknown:
        stock.receive(
            warehouse_id=wh.pk,
            reference="NF-5",
            lines=[
                ReceiptLine(product_id=good.pk, quantity=D("1"), unit_cost=D("1")),
                ReceiptLine(product_id=uuid4(), quantity=D("1"), unit_cost=D("1")),
            ],
        )
    assert fields(unknown.value) == ["lines.1.product"]

    with pytest.raises(InactiveProductError) as off:
        stock.receive(
            warehouse_id=wh.pk,
            reference="NF-5",
            lines=[
                ReceiptLine(product_id=inactive.pk, quantity=D("1"), unit_cost=D("1")),
                ReceiptLine(product_id=good.pk, quantity=D("1"), unit_cost=D("1")),
            ],
        )
    assert fields(off.value) == ["lines.0.product"]
    # A refused command records nothing: the reference is still free.
    assert snapshot() == before
    stock.receive(
        warehouse_id=wh.pk,
        reference="NF-5",
        lines=[ReceiptLine(product_id=good.pk, quantity=D("1"), unit_cost=D("1"))],
    )


def test_unknown_and_inactive_warehouse(stock):
    product = ProductFactory()
    closed = WarehouseFactory(is_active=False)
    line = [ReceiptLine(product_id=product.pk, quantity=D("1"), unit_cost=D("1"))]
    for warehouse_id in (uuid4(), closed.pk):
        with pytest.raises(UnknownWarehouseError) as caught:
            stock.receive(warehouse_id=warehouse_id, reference="NF-6", lines=line)
        assert fields(caught.value) == ["warehouse"]
    with pytest.raises(UnknownWarehouseError) as caught:
        stock.reserve(
            order_ref="SO-6", warehouse_id=closed.pk, lines=[Line(product_id=product.pk, quantity=D("1"))]
        )
    assert fields(caught.value) == ["warehouse"]
    with pytest.raises(UnknownWarehouseError):
        stock.availability(warehouse_id=uuid4(), product_ids=[product.pk])
    assert all_events() == 0


@pytest.mark.parametrize(
    ("line", "field", "code"),
    [
        ({"quantity": D("0")}, "lines.0.quantity", "min_value"),
        ({"quantity": D("-1")}, "lines.0.quantity", "min_value"),
        ({"quantity": D("1.0001")}, "lines.0.quantity", "max_decimal_places"),
        ({"quantity": D("NaN")}, "lines.0.quantity", "invalid"),
        ({"quantity": D("Infinity")}, "lines.0.quantity", "invalid"),
        ({"quantity": D("1E+30")}, "lines.0.quantity", "max_value"),
        ({"quantity": D("1E+400")}, "lines.0.quantity", "max_value"),
        ({"quantity": 1.5}, "lines.0.quantity", "invalid"),
        ({"quantity": True}, "lines.0.quantity", "invalid"),
        ({"unit_cost": D("-0.0001")}, "lines.0.unit_cost", "min_value"),
        ({"unit_cost": D("0.00001")}, "lines.0.unit_cost", "max_decimal_places"),
        ({"unit_cost": D("1E+20")}, "lines.0.unit_cost", "max_value"),
        ({"product_id": "not-a-uuid"}, "lines.0.product", "invalid"),
    ],
)
def test_bad_receipt_lines_are_refused_per_field(stock, wh, line, field, code):
    product = ProductFactory()
    values = {"product_id": product.pk, "quantity": D("1"), "unit_cost": D("1")} | line
    before = snapshot()
    with pytest.raises(InvalidStockInputError) as caught:
        stock.receive(warehouse_id=wh.pk, reference="NF-7", lines=[ReceiptLine(**values)])
    assert [(e.field, e.code) for e in caught.value.errors] == [(field, code)]
    assert snapshot() == before


def test_bad_command_shapes(stock, wh):
    product = ProductFactory()
    line = Line(product_id=product.pk, quantity=D("1"))
    cases = [
        ({"lines": []}, "lines"),
        ({"lines": [line, Line(product_id=product.pk, quantity=D("2"))]}, "lines.1.product"),
        ({"order_ref": "  "}, "order_ref"),
        ({"order_ref": "x" * 256}, "order_ref"),
        ({"order_ref": "a\x00b"}, "order_ref"),
        ({"warehouse_id": "nope"}, "warehouse"),
    ]
    for change, field in cases:
        arguments = {"order_ref": "SO-8", "warehouse_id": wh.pk, "lines": [line]} | change
        with pytest.raises(InvalidStockInputError) as caught:
            stock.reserve(**arguments)
        assert fields(caught.value) == [field], change
    assert Reservation.objects.count() == 0


# --- reserve, release, ship -----------------------------------------------------


def test_reserve_holds_stock_and_repeats_are_the_same_reservation(stock, wh):
    a = stocked(wh, quantity=10, sku="A-2")
    b = stocked(wh, quantity=5, sku="B-2")
    lines = [Line(product_id=b.pk, quantity=D("2")), Line(product_id=a.pk, quantity=D("3"))]
    first = stock.reserve(order_ref="SO-1", warehouse_id=wh.pk, lines=lines)

    assert first.status == "active" and first.warehouse_id == wh.pk and first.order_ref == "SO-1"
    assert sorted((r.sku, r.quantity) for r in first.lines) == [("A-2", D("3")), ("B-2", D("2"))]
    assert (level(a, wh).reserved, level(b, wh).reserved) == (D("3"), D("2"))
    [available_a, available_b] = stock.availability(warehouse_id=wh.pk, product_ids=[a.pk, b.pk])
    assert (available_a.on_hand, available_a.reserved, available_a.available) == (D("10"), D("3"), D("7"))
    assert available_b.available == D("3")
    before = snapshot()

    assert stock.reserve(order_ref="SO-1", warehouse_id=wh.pk, lines=lines) == first
    assert stock.reserve(order_ref="SO-1", warehouse_id=wh.pk, lines=lines[::-1]) == first
    assert snapshot() == before


def test_reserve_same_order_ref_other_data_is_a_conflict(stock, wh):
    a, b = stocked(wh, quantity=10), stocked(wh, quantity=10)
    stock.reserve(order_ref="SO-2", warehouse_id=wh.pk, lines=[Line(product_id=a.pk, quantity=D("1"))])
    before = snapshot()
    others = [
        {"lines": [Line(product_id=a.pk, quantity=D("2"))]},
        {"lines": [Line(product_id=b.pk, quantity=D("1"))]},
        {"lines": [Line(product_id=a.pk, quantity=D("1")), Line(product_id=b.pk, quantity=D("1"))]},
        {"warehouse_id": WarehouseFactory().pk},
    ]
    for other in others:
        arguments = {
            "order_ref": "SO-2",
            "warehouse_id": wh.pk,
            "lines": [Line(product_id=a.pk, quantity=D("1"))],
        }
        with pytest.raises(ReferenceConflictError):
            stock.reserve(**(arguments | other))
    assert snapshot() == before


def test_reserve_is_all_or_nothing_and_names_every_short_line(stock, wh):
    a = stocked(wh, quantity=5, sku="A-3")
    b = stocked(wh, quantity=2, sku="B-3")
    c = stocked(wh, quantity=1, sku="C-3")
    missing = ProductFactory(sku="D-3")  # no stock in this warehouse at all
    stock.reserve(order_ref="SO-3a", warehouse_id=wh.pk, lines=[Line(product_id=b.pk, quantity=D("1.5"))])
    before = snapshot()

    with pytest.raises(InsufficientStockError) as caught:
        stock.reserve(
            order_ref="SO-3",
            warehouse_id=wh.pk,
            lines=[
                Line(product_id=a.pk, quantity=D("5")),  # fits exactly
                Line(product_id=b.pk, quantity=D("1")),
                Line(product_id=c.pk, quantity=D("1")),  # fits
                Line(product_id=missing.pk, quantity=D("0.001")),
            ],
        )

    error = caught.value
    assert [(s.product_id, s.sku, s.requested, s.available) for s in error.short] == [
        (b.pk, "B-3", D("1"), D("0.5")),
        (missing.pk, "D-3", D("0.001"), D("0")),
    ]
    assert error.extra["lines"] == [
        {"product": str(b.pk), "sku": "B-3", "requested": "1.000", "available": "0.500"},
        {"product": str(missing.pk), "sku": "D-3", "requested": "0.001", "available": "0.000"},
    ]
    assert snapshot() == before
    # Nothing was claimed either: the order_ref can still be used once stock is there.
    stock.reserve(order_ref="SO-3", warehouse_id=wh.pk, lines=[Line(product_id=a.pk, quantity=D("5"))])


def test_reserve_unknown_and_inactive_products(stock, wh):
    good = stocked(wh, quantity=5)
    off = stocked(wh, quantity=5)
    Product.objects.filter(pk=off.pk).update(is_active=False)
    before = snapshot()
    with pytest.raises(UnknownProductError) as unknown:
        stock.reserve(
            order_ref="SO-4",
            warehouse_id=wh.pk,
            lines=[Line(product_id=uuid4(), quantity=D("1")), Line(product_id=good.pk, quantity=D("1"))],
        )
    assert fields(unknown.value) == ["lines.0.product"]
    with pytest.raises(InactiveProductError) as inactive:
        stock.reserve(
            order_ref="SO-4",
            warehouse_id=wh.pk,
            lines=[Line(product_id=good.pk, quantity=D("1")), Line(product_id=off.pk, quantity=D("1"))],
        )
    assert fields(inactive.value) == ["lines.1.product"]
    assert snapshot() == before


def test_release_gives_stock_back_and_the_order_ref_is_spent(stock, wh):
    a = stocked(wh, quantity=4)
    lines = [Line(product_id=a.pk, quantity=D("3"))]
    stock.reserve(order_ref="SO-5", warehouse_id=wh.pk, lines=lines)

    released = stock.release(order_ref="SO-5")
    assert released.status == "released" and released.warehouse_id == wh.pk
    assert [(r.product_id, r.quantity) for r in released.lines] == [(a.pk, D("3"))]
    assert level(a, wh).reserved == 0
    assert Reservation.objects.get(order_ref="SO-5").status == "released"
    before = snapshot()

    assert stock.release(order_ref="SO-5") == released
    assert snapshot() == before
    with pytest.raises(ReservationReleasedError):
        stock.reserve(order_ref="SO-5", warehouse_id=wh.pk, lines=lines)
    with pytest.raises(ReservationReleasedError):
        stock.ship(order_ref="SO-5")
    assert snapshot() == before
    [event] = outbox("estoque.ReservationReleased")
    assert event["order_ref"] == "SO-5" and event["lines"][0]["quantity"] == "3.000"


def test_release_of_an_unknown_order_ref_leaves_a_tombstone(stock, wh):
    a = stocked(wh, quantity=4)
    tombstone = stock.release(order_ref="SO-late")
    assert (tombstone.status, tombstone.warehouse_id, tombstone.lines) == ("released", None, ())
    assert stock.release(order_ref="SO-late") == tombstone
    before = snapshot()

    # The caller gave up and released; its reserve arrives late and must not hold stock.
    with pytest.raises(ReservationReleasedError):
        stock.reserve(order_ref="SO-late", warehouse_id=wh.pk, lines=[Line(product_id=a.pk, quantity=D("1"))])
    with pytest.raises(ReservationReleasedError):
        stock.ship(order_ref="SO-late")
    assert snapshot() == before
    assert level(a, wh).reserved == 0


def test_ship_issues_the_reservation_at_the_average_cost(stock, wh):
    a = stocked(wh, quantity=3, unit_cost="1.0000", sku="A-6")
    stock.receive(
        warehouse_id=wh.pk,
        reference="NF-6b",
        lines=[ReceiptLine(product_id=a.pk, quantity=D("1"), unit_cost=D("2"))],
    )  # 4 units worth 5.00: average 1.25
    b = stocked(wh, quantity=2, unit_cost="0.3333", sku="B-6")  # 2 units worth 0.67
    stock.reserve(
        order_ref="SO-6",
        warehouse_id=wh.pk,
        lines=[Line(product_id=b.pk, quantity=D("1")), Line(product_id=a.pk, quantity=D("3"))],
    )

    shipment = stock.ship(order_ref="SO-6")

    assert shipment.order_ref == "SO-6" and shipment.warehouse_id == wh.pk
    assert [(s.sku, s.quantity, s.unit_cost, s.value) for s in shipment.lines] == [
        ("A-6", D("3"), D("1.25"), D("3.75")),
        ("B-6", D("1"), D("0.34"), D("0.34")),  # half of 0.67, rounded half up
    ]
    assert shipment.value == D("4.09")
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.on_hand, a.stock_value) == (D("1"), D("1.25"))
    assert (b.on_hand, b.stock_value) == (D("1"), D("0.33"))
    assert (level(a, wh).on_hand, level(a, wh).reserved) == (D("1"), D("0"))
    assert set(Reservation.objects.filter(order_ref="SO-6").values_list("status", flat=True)) == {"consumed"}
    issues = StockMove.objects.filter(kind="issue").order_by("product__sku")
    assert [(m.quantity, m.value) for m in issues] == [(D("-3"), D("-3.75")), (D("-1"), D("-0.34"))]

    [event] = outbox("estoque.StockIssued")
    assert event == {
        "order_ref": "SO-6",
        "warehouse_id": str(wh.pk),
        "issued_on": shipment.shipped_on.isoformat(),
        "lines": [
            {
                "product_id": str(a.pk),
                "sku": "A-6",
                "quantity": "3.000",
                "unit_cost": "1.2500",
                "value": "3.75",
            },
            {
                "product_id": str(b.pk),
                "sku": "B-6",
                "quantity": "1.000",
                "unit_cost": "0.3400",
                "value": "0.34",
            },
        ],
        "value": "4.09",
    }
    before = snapshot()
    assert stock.ship(order_ref="SO-6") == shipment
    assert snapshot() == before

    with pytest.raises(ReservationConsumedError):
        stock.release(order_ref="SO-6")
    # A repeat of the reserve that was shipped answers the consumed reservation.
    assert (
        stock.reserve(
            order_ref="SO-6",
            warehouse_id=wh.pk,
            lines=[Line(product_id=a.pk, quantity=D("3")), Line(product_id=b.pk, quantity=D("1"))],
        ).status
        == "consumed"
    )
    assert snapshot() == before


def test_ship_of_an_unknown_order_ref(stock):
    with pytest.raises(ReservationNotFoundError):
        stock.ship(order_ref="SO-none")
    assert StockCommand.objects.count() == 0


# --- adjust -------------------------------------------------------------------


def test_adjust_sets_on_hand_to_the_count_at_the_average_cost(stock, wh):
    a = stocked(wh, quantity=10, unit_cost="1.5000", sku="A-7")
    b = stocked(wh, quantity=3, unit_cost="2.0000", sku="B-7")
    c = stocked(wh, quantity=1, unit_cost="1.0000", sku="C-7")

    adjustment = stock.adjust(
        warehouse_id=wh.pk,
        reason="Cycle count",
        reference="COUNT-1",
        lines=[
            CountLine(product_id=a.pk, counted_quantity=D("7")),
            CountLine(product_id=b.pk, counted_quantity=D("4.5")),
            CountLine(product_id=c.pk, counted_quantity=D("1")),  # unchanged: no move
        ],
    )

    assert [(m.sku, m.quantity, m.value) for m in adjustment.moves] == [
        ("A-7", D("-3"), D("-4.50")),
        ("B-7", D("1.5"), D("3.00")),
    ]
    assert adjustment.value_delta == D("-1.50") and adjustment.reason == "Cycle count"
    assert (level(a, wh).on_hand, level(b, wh).on_hand, level(c, wh).on_hand) == (D("7"), D("4.5"), D("1"))
    a.refresh_from_db()
    assert (a.on_hand, a.stock_value, a.average_cost) == (D("7"), D("10.50"), D("1.5"))

    [event] = outbox("estoque.StockAdjusted")
    assert event == {
        "adjustment_id": str(adjustment.id),
        "warehouse_id": str(wh.pk),
        "reason": "Cycle count",
        "adjusted_on": adjustment.adjusted_on.isoformat(),
        "lines": [
            {"product_id": str(a.pk), "sku": "A-7", "quantity_delta": "-3.000", "value_delta": "-4.50"},
            {"product_id": str(b.pk), "sku": "B-7", "quantity_delta": "1.500", "value_delta": "3.00"},
        ],
        "value_delta": "-1.50",
    }
    before = snapshot()
    again = stock.adjust(
        warehouse_id=wh.pk,
        reason="Cycle count",
        reference="COUNT-1",
        lines=[
            CountLine(product_id=c.pk, counted_quantity=D("1")),
            CountLine(product_id=b.pk, counted_quantity=D("4.5")),
            CountLine(product_id=a.pk, counted_quantity=D("7")),
        ],
    )
    assert again == adjustment
    assert snapshot() == before
    with pytest.raises(ReferenceConflictError):
        stock.adjust(
            warehouse_id=wh.pk,
            reason="Another reason",
            reference="COUNT-1",
            lines=[CountLine(product_id=a.pk, counted_quantity=D("7"))],
        )
    assert snapshot() == before


def test_adjust_to_zero_takes_the_whole_value_and_counts_a_product_never_stocked(stock, wh):
    a = stocked(wh, quantity=3, unit_cost="0.3333")
    fresh = ProductFactory()
    stock.adjust(
        warehouse_id=wh.pk,
        reason="Found and lost",
        lines=[
            CountLine(product_id=a.pk, counted_quantity=D("0")),
            CountLine(product_id=fresh.pk, counted_quantity=D("2")),
        ],
    )
    a.refresh_from_db()
    fresh.refresh_from_db()
    assert (a.on_hand, a.stock_value) == (D("0"), D("0.00"))
    # Never received: no cost known, so the found units are worth nothing yet.
    assert (fresh.on_hand, fresh.stock_value) == (D("2"), D("0.00"))
    assert level(fresh, wh).on_hand == D("2")


def test_adjust_below_reserved_is_refused(stock, wh):
    a = stocked(wh, quantity=10)
    b = stocked(wh, quantity=10)
    stock.reserve(order_ref="SO-9", warehouse_id=wh.pk, lines=[Line(product_id=a.pk, quantity=D("4"))])
    before = snapshot()
    with pytest.raises(BelowReservedError) as caught:
        stock.adjust(
            warehouse_id=wh.pk,
            reason="Count",
            lines=[
                CountLine(product_id=b.pk, counted_quantity=D("1")),
                CountLine(product_id=a.pk, counted_quantity=D("3.999")),
            ],
        )
    assert [e["field"] for e in caught.value.extra["errors"]] == ["lines.1.counted_quantity"]
    assert snapshot() == before
    # Counting exactly what is reserved is fine.
    stock.adjust(
        warehouse_id=wh.pk, reason="Count", lines=[CountLine(product_id=a.pk, counted_quantity=D("4"))]
    )
    assert (level(a, wh).on_hand, level(a, wh).reserved) == (D("4"), D("4"))


def test_adjust_needs_a_reason(stock, wh):
    a = stocked(wh, quantity=1)
    with pytest.raises(InvalidStockInputError) as caught:
        stock.adjust(
            warehouse_id=wh.pk, reason=" ", lines=[CountLine(product_id=a.pk, counted_quantity=D("0"))]
        )
    assert fields(caught.value) == ["reason"]


# --- transfer -----------------------------------------------------------------


def test_transfer_moves_available_stock_between_warehouses(stock, wh):
    other = WarehouseFactory()
    a = stocked(wh, quantity=10, unit_cost="1.1111", sku="A-8")
    b = stocked(wh, quantity=2, unit_cost="3.0000", sku="B-8")
    value_before = (a.stock_value, b.stock_value)

    transfer = stock.transfer(
        from_warehouse_id=wh.pk,
        to_warehouse_id=other.pk,
        reference="TR-1",
        lines=[Line(product_id=b.pk, quantity=D("2")), Line(product_id=a.pk, quantity=D("4"))],
    )

    assert (transfer.from_warehouse_id, transfer.to_warehouse_id) == (wh.pk, other.pk)
    # Per line, out of the source first, then into the destination.
    assert [(m.sku, m.kind, m.warehouse_id, m.quantity) for m in transfer.moves] == [
        ("A-8", "transfer_out", wh.pk, D("-4")),
        ("A-8", "transfer_in", other.pk, D("4")),
        ("B-8", "transfer_out", wh.pk, D("-2")),
        ("B-8", "transfer_in", other.pk, D("2")),
    ]
    assert (level(a, wh).on_hand, level(a, other).on_hand) == (D("6"), D("4"))
    assert (level(b, wh).on_hand, level(b, other).on_hand) == (D("0"), D("2"))
    a.refresh_from_db()
    b.refresh_from_db()
    # The value is the product's, wherever it lies.
    assert (a.stock_value, b.stock_value) == value_before
    assert (a.on_hand, b.on_hand) == (D("10"), D("2"))

    [event] = outbox("estoque.StockTransferred")
    assert event == {
        "transfer_id": str(transfer.id),
        "from_warehouse_id": str(wh.pk),
        "to_warehouse_id": str(other.pk),
        "transferred_on": transfer.transferred_on.isoformat(),
        "lines": [
            {"product_id": str(b.pk), "sku": "B-8", "quantity": "2.000"},
            {"product_id": str(a.pk), "sku": "A-8", "quantity": "4.000"},
        ],
    }
    before = snapshot()
    assert (
        stock.transfer(
            from_warehouse_id=wh.pk,
            to_warehouse_id=other.pk,
            reference="TR-1",
            lines=[Line(product_id=a.pk, quantity=D("4")), Line(product_id=b.pk, quantity=D("2"))],
        )
        == transfer
    )
    assert snapshot() == before
    with pytest.raises(ReferenceConflictError):
        stock.transfer(
            from_warehouse_id=other.pk,
            to_warehouse_id=wh.pk,
            reference="TR-1",
            lines=[Line(product_id=a.pk, quantity=D("4")), Line(product_id=b.pk, quantity=D("2"))],
        )
    assert snapshot() == before


def test_transfer_more_than_available_is_refused(stock, wh):
    other = WarehouseFactory()
    a = stocked(wh, quantity=5, sku="A-9")
    b = stocked(wh, quantity=5, sku="B-9")
    stock.reserve(order_ref="SO-10", warehouse_id=wh.pk, lines=[Line(product_id=a.pk, quantity=D("2"))])
    before = snapshot()
    with pytest.raises(InsufficientStockError) as caught:
        stock.transfer(
            from_warehouse_id=wh.pk,
            to_warehouse_id=other.pk,
            lines=[Line(product_id=a.pk, quantity=D("3.001")), Line(product_id=b.pk, quantity=D("5"))],
        )
    assert [(s.sku, s.requested, s.available) for s in caught.value.short] == [("A-9", D("3.001"), D("3"))]
    assert snapshot()[:4] == before[:4]
    assert not StockLevel.objects.filter(warehouse=other, on_hand__gt=0).exists()


def test_transfer_to_the_same_warehouse_is_refused(stock, wh):
    a = stocked(wh, quantity=5)
    before = snapshot()
    with pytest.raises(InvalidStockInputError) as caught:
        stock.transfer(
            from_warehouse_id=wh.pk, to_warehouse_id=wh.pk, lines=[Line(product_id=a.pk, quantity=D("1"))]
        )
    assert fields(caught.value) == ["to_warehouse"]
    with pytest.raises(UnknownWarehouseError) as unknown:
        stock.transfer(
            from_warehouse_id=wh.pk, to_warehouse_id=uuid4(), lines=[Line(product_id=a.pk, quantity=D("1"))]
        )
    assert fields(unknown.value) == ["to_warehouse"]
    assert snapshot() == before


# --- below the reorder point ---------------------------------------------------


def test_below_reorder_point_is_announced_once_while_a_replenishment_is_pending(stock, wh):
    a = stocked(wh, quantity=10, reorder_point=D("5"), reorder_quantity=D("20"), sku="A-10")
    stock.reserve(order_ref="SO-11", warehouse_id=wh.pk, lines=[Line(product_id=a.pk, quantity=D("5"))])
    assert outbox("estoque.StockBelowReorderPoint") == []  # 5 available is not below 5

    stock.reserve(order_ref="SO-12", warehouse_id=wh.pk, lines=[Line(product_id=a.pk, quantity=D("1"))])
    assert outbox("estoque.StockBelowReorderPoint") == [
        {
            "product_id": str(a.pk),
            "sku": "A-10",
            "warehouse_id": str(wh.pk),
            "available": "4.000",
            "reorder_point": "5.000",
            "reorder_quantity": "20.000",
        }
    ]
    assert level(a, wh).replenishment_pending is True

    # Lower still, by each command that takes stock away: no second announcement.
    stock.reserve(order_ref="SO-13", warehouse_id=wh.pk, lines=[Line(product_id=a.pk, quantity=D("1"))])
    stock.adjust(
        warehouse_id=wh.pk, reason="Count", lines=[CountLine(product_id=a.pk, counted_quantity=D("9"))]
    )
    stock.transfer(
        from_warehouse_id=wh.pk,
        to_warehouse_id=WarehouseFactory().pk,
        lines=[Line(product_id=a.pk, quantity=D("1"))],
    )
    assert len(outbox("estoque.StockBelowReorderPoint")) == 1

    # Once the replenishment is over (the flag cleared), a new drop is news again.
    StockLevel.objects.filter(product=a, warehouse=wh).update(replenishment_pending=False)
    stock.reserve(order_ref="SO-14", warehouse_id=wh.pk, lines=[Line(product_id=a.pk, quantity=D("0.5"))])
    assert [e["available"] for e in outbox("estoque.StockBelowReorderPoint")] == ["4.000", "0.500"]


def test_no_reorder_point_no_announcement(stock, wh):
    a = stocked(wh, quantity=2)
    stock.reserve(order_ref="SO-15", warehouse_id=wh.pk, lines=[Line(product_id=a.pk, quantity=D("2"))])
    assert outbox("estoque.StockBelowReorderPoint") == []


# --- reads ----------------------------------------------------------------------


def test_products_by_ids_and_skus(stock, wh):
    a = stocked(wh, quantity=4, unit_cost="1.2500", sku="P-B", name="Bolt")
    b = ProductFactory(sku="P-A", description="Nut", is_active=False)
    c = ProductFactory(sku="P-C")

    by_id = stock.products(ids=[a.pk, b.pk, uuid4()])
    assert [p.sku for p in by_id] == ["P-A", "P-B"]
    info = by_id[1]
    assert (info.id, info.name, info.on_hand, info.stock_value, info.average_cost, info.is_active) == (
        a.pk,
        "Bolt",
        D("4"),
        D("5.00"),
        D("1.25"),
        True,
    )
    assert by_id[0].is_active is False and by_id[0].description == "Nut"
    assert [p.id for p in stock.products(skus=["P-C", "nope"])] == [c.pk]
    assert [p.sku for p in stock.products(ids=[a.pk], skus=["P-C", "P-B"])] == ["P-B", "P-C"]
    assert stock.products(ids=[]) == []


def test_availability_has_one_entry_per_product_asked(stock, wh):
    a = stocked(wh, quantity=4)
    never = ProductFactory()
    entries = stock.availability(warehouse_id=wh.pk, product_ids=[never.pk, a.pk])
    assert [(e.product_id, e.on_hand, e.reserved, e.available) for e in entries] == [
        (never.pk, D("0"), D("0"), D("0")),
        (a.pk, D("4"), D("0"), D("4")),
    ]
    assert all(e.warehouse_id == wh.pk for e in entries)
