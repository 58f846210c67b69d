"""estoque's REST API as API.md states it: every endpoint's fields and status
codes, filters, search, ordering and pagination, who may write, and the 409s
that name what is short. Bad input is in test_api_bad_input.py."""

from decimal import Decimal
from uuid import uuid4

import pytest

from erp import services as registry
from estoque.contract import Line
from estoque.models import Product, StockLevel, StockMove, Warehouse
from tests.estoque.factories import ProductFactory, WarehouseFactory, stocked

pytestmark = pytest.mark.django_db(databases="__all__")

D = Decimal
API = "/api/v1/estoque/"
PROBLEM = "application/problem+json"
PRODUCT_FIELDS = {
    "id",
    "sku",
    "name",
    "description",
    "unit",
    "reorder_point",
    "reorder_quantity",
    "is_active",
    "average_cost",
    "on_hand",
    "stock_value",
}
MOVE_FIELDS = {
    "id",
    "product",
    "warehouse",
    "kind",
    "quantity",
    "unit_cost",
    "reference",
    "created_at",
    "created_by",
}


@pytest.fixture
def staff(client_as):
    return client_as("warehouse")


@pytest.fixture
def viewer(client_as):
    return client_as("viewer")


@pytest.fixture
def wh():
    return WarehouseFactory(code="MAIN")


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def assert_problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["detail"]
    if code:
        assert body["code"] == code
    return body


def receive(client, warehouse, *lines, reference="NF-1"):
    return client.post(
        f"{API}receipts/",
        {
            "warehouse": str(warehouse.pk),
            "reference": reference,
            "lines": [{"product": str(p.pk), "quantity": q, "unit_cost": c} for p, q, c in lines],
        },
    )


# --- products -----------------------------------------------------------------------------


def test_product_create_answers_every_contract_field_with_decimals_as_strings(staff):
    response = staff.post(
        f"{API}products/",
        {"sku": "BOLT-8", "name": "Bolt M8", "unit": "un", "reorder_point": "10", "reorder_quantity": "50.5"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= PRODUCT_FIELDS
    assert body["sku"] == "BOLT-8" and body["name"] == "Bolt M8" and body["description"] == ""
    assert body["reorder_point"] == "10.000" and body["reorder_quantity"] == "50.500"
    assert (body["on_hand"], body["stock_value"], body["average_cost"]) == ("0.000", "0.00", "0.0000")
    assert body["is_active"] is True
    assert Product.objects.get(pk=body["id"]).sku == "BOLT-8"


def test_product_valuation_fields_are_read_only(staff):
    response = staff.post(
        f"{API}products/",
        {"sku": "RO-1", "name": "x", "on_hand": "99", "stock_value": "9", "average_cost": "1"},
    )
    assert response.status_code == 201
    product = Product.objects.get(sku="RO-1")
    assert (product.on_hand, product.stock_value, product.average_cost) == (0, 0, 0)


def test_product_shows_its_valuation_after_a_receipt(staff, wh):
    product = stocked(wh, quantity="4", unit_cost="2.5000", sku="VAL-1")
    body = staff.get(f"{API}products/{product.pk}/").json()
    assert (body["on_hand"], body["stock_value"], body["average_cost"]) == ("4.000", "10.00", "2.5000")


def test_a_taken_sku_is_a_400_on_sku(staff):
    ProductFactory(sku="DUP-1")
    body = assert_problem(staff.post(f"{API}products/", {"sku": "DUP-1", "name": "Other"}), 400)
    assert [e["field"] for e in body["errors"]] == ["sku"]
    assert Product.objects.filter(sku="DUP-1").count() == 1


def test_product_patch_and_put_change_it(staff):
    product = ProductFactory(sku="P-1", name="Old")
    patched = staff.patch(f"{API}products/{product.pk}/", {"name": "New", "reorder_point": "3"})
    assert patched.status_code == 200, patched.content
    assert patched.json()["name"] == "New" and patched.json()["reorder_point"] == "3.000"
    put = staff.put(f"{API}products/{product.pk}/", {"sku": "P-1B", "name": "Renamed", "is_active": False})
    assert put.status_code == 200, put.content
    product.refresh_from_db()
    assert (product.sku, product.name, product.is_active) == ("P-1B", "Renamed", False)


def test_a_patch_to_a_taken_sku_is_a_400_and_changes_nothing(staff):
    ProductFactory(sku="TAKEN")
    product = ProductFactory(sku="MINE")
    body = assert_problem(staff.patch(f"{API}products/{product.pk}/", {"sku": "TAKEN"}), 400)
    assert body["errors"][0]["field"] == "sku"
    product.refresh_from_db()
    assert product.sku == "MINE"


def test_product_without_history_is_deleted(staff):
    product = ProductFactory()
    assert staff.delete(f"{API}products/{product.pk}/").status_code == 204
    assert not Product.objects.filter(pk=product.pk).exists()


def test_product_with_stock_history_cannot_be_deleted(staff, wh):
    product = stocked(wh)
    assert_problem(staff.delete(f"{API}products/{product.pk}/"), 409, "product_in_use")
    assert Product.objects.filter(pk=product.pk).exists()


def test_unknown_product_is_a_404_problem(staff):
    assert_problem(staff.get(f"{API}products/{uuid4()}/"), 404)
    assert_problem(staff.patch(f"{API}products/{uuid4()}/", {"name": "x"}), 404)
    assert_problem(staff.delete(f"{API}products/{uuid4()}/"), 404)
    assert_problem(staff.get(f"{API}products/not-a-uuid/"), 404)


def test_products_filter_by_sku_and_is_active_and_search_sku_or_name(viewer):
    ProductFactory(sku="AAA-1", name="Hammer")
    ProductFactory(sku="BBB-2", name="Screwdriver", is_active=False)
    ProductFactory(sku="CCC-3", name="Claw hammer")

    assert [p["sku"] for p in results(viewer.get(f"{API}products/", {"sku": "BBB-2"}))] == ["BBB-2"]
    assert [p["sku"] for p in results(viewer.get(f"{API}products/", {"is_active": "false"}))] == ["BBB-2"]
    assert [p["sku"] for p in results(viewer.get(f"{API}products/", {"is_active": "true"}))] == [
        "AAA-1",
        "CCC-3",
    ]
    assert [p["sku"] for p in results(viewer.get(f"{API}products/", {"search": "hammer"}))] == [
        "AAA-1",
        "CCC-3",
    ]
    assert [p["sku"] for p in results(viewer.get(f"{API}products/", {"search": "bbb"}))] == ["BBB-2"]


def test_products_are_sorted_by_sku_and_on_request_by_other_fields(viewer):
    ProductFactory(sku="B", name="zeta")
    ProductFactory(sku="A", name="yota")
    ProductFactory(sku="C", name="alpha")
    assert [p["sku"] for p in results(viewer.get(f"{API}products/"))] == ["A", "B", "C"]
    assert [p["sku"] for p in results(viewer.get(f"{API}products/", {"ordering": "name"}))] == ["C", "A", "B"]
    assert [p["sku"] for p in results(viewer.get(f"{API}products/", {"ordering": "-sku"}))] == ["C", "B", "A"]


def test_products_are_paginated(viewer):
    ProductFactory.create_batch(7)
    first = viewer.get(f"{API}products/", {"page_size": 3}).json()
    assert first["count"] == 7 and len(first["results"]) == 3
    assert first["previous"] is None and "page=2" in first["next"]
    last = viewer.get(f"{API}products/", {"page_size": 3, "page": 3}).json()
    assert len(last["results"]) == 1 and last["next"] is None


# --- warehouses ----------------------------------------------------------------------------


def test_warehouse_crud(staff):
    created = staff.post(f"{API}warehouses/", {"code": "NORTH", "name": "North"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert {"id", "code", "name", "is_active"} <= set(body)
    assert (body["code"], body["name"], body["is_active"]) == ("NORTH", "North", True)
    url = f"{API}warehouses/{body['id']}/"
    assert staff.get(url).json()["code"] == "NORTH"
    assert staff.patch(url, {"is_active": False}).json()["is_active"] is False
    assert staff.put(url, {"code": "N2", "name": "North 2"}).json()["code"] == "N2"
    assert staff.delete(url).status_code == 204
    assert not Warehouse.objects.filter(pk=body["id"]).exists()


def test_a_taken_warehouse_code_is_a_400_on_code(staff, wh):
    body = assert_problem(staff.post(f"{API}warehouses/", {"code": "MAIN", "name": "Again"}), 400)
    assert [e["field"] for e in body["errors"]] == ["code"]


def test_warehouse_with_history_cannot_be_deleted(staff, wh):
    stocked(wh)
    assert_problem(staff.delete(f"{API}warehouses/{wh.pk}/"), 409, "warehouse_in_use")
    assert Warehouse.objects.filter(pk=wh.pk).exists()


def test_warehouses_filter_search_and_order(viewer):
    WarehouseFactory(code="W-B", name="Beta depot")
    WarehouseFactory(code="W-A", name="Alpha depot", is_active=False)
    WarehouseFactory(code="W-C", name="Gamma store")
    assert [w["code"] for w in results(viewer.get(f"{API}warehouses/"))] == ["W-A", "W-B", "W-C"]
    assert [w["code"] for w in results(viewer.get(f"{API}warehouses/", {"is_active": "false"}))] == ["W-A"]
    assert [w["code"] for w in results(viewer.get(f"{API}warehouses/", {"code": "W-C"}))] == ["W-C"]
    assert [w["code"] for w in results(viewer.get(f"{API}warehouses/", {"search": "depot"}))] == [
        "W-A",
        "W-B",
    ]
    assert [w["code"] for w in results(viewer.get(f"{API}warehouses/", {"ordering": "-code"}))] == [
        "W-C",
        "W-B",
        "W-A",
    ]


# --- receipts, adjustments, transfers -------------------------------------------------------


def test_receipt_is_201_with_its_moves_and_stock_goes_up(staff, wh):
    a, b = ProductFactory(sku="A-1"), ProductFactory(sku="B-1")
    response = receive(staff, wh, (b, "3", "1.3333"), (a, "2.5", "10"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert {"id", "warehouse", "reference", "received_on", "value", "moves"} <= set(body)
    assert (body["warehouse"], body["reference"], body["value"]) == (str(wh.pk), "NF-1", "29.00")
    assert [(m["sku"], m["kind"], m["quantity"], m["unit_cost"], m["value"]) for m in body["moves"]] == [
        ("A-1", "receipt", "2.500", "10.0000", "25.00"),
        ("B-1", "receipt", "3.000", "1.3333", "4.00"),
    ]
    assert set(body["moves"][0]) >= MOVE_FIELDS
    assert body["moves"][0]["created_by"] == str(staff.user.pk)
    assert StockLevel.objects.get(product=b, warehouse=wh).on_hand == D("3")


def test_a_repeated_receipt_answers_the_same_receipt_without_a_second_effect(staff, wh):
    product = ProductFactory()
    first = receive(staff, wh, (product, "2", "1"))
    again = receive(staff, wh, (product, "2.000", "1.00"))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert StockMove.objects.count() == 1
    product.refresh_from_db()
    assert product.on_hand == D("2")


def test_trailing_zeros_do_not_count_as_decimal_places(staff, wh):
    product = ProductFactory()
    response = receive(staff, wh, (product, "2.500000", "1.25000000"))
    assert response.status_code == 201, response.content
    [move] = response.json()["moves"]
    assert (move["quantity"], move["unit_cost"]) == ("2.500", "1.2500")


def test_the_same_receipt_reference_with_other_data_is_a_409(staff, wh):
    product = ProductFactory()
    receive(staff, wh, (product, "2", "1"))
    assert_problem(receive(staff, wh, (product, "3", "1")), 409, "reference_conflict")
    assert StockMove.objects.count() == 1


def test_an_idempotency_key_replays_the_stored_receipt(staff, wh):
    product = ProductFactory()
    payload = {
        "warehouse": str(wh.pk),
        "reference": "NF-IK",
        "lines": [{"product": str(product.pk), "quantity": "1", "unit_cost": "1"}],
    }
    first = staff.post(f"{API}receipts/", payload, HTTP_IDEMPOTENCY_KEY="key-1")
    second = staff.post(f"{API}receipts/", payload, HTTP_IDEMPOTENCY_KEY="key-1")
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert StockMove.objects.count() == 1


def test_adjustment_sets_the_counted_quantity_and_answers_the_differences(staff, wh):
    up = stocked(wh, quantity="10", unit_cost="2.0000", sku="UP")
    down = stocked(wh, quantity="10", unit_cost="3.0000", sku="DOWN")
    same = stocked(wh, quantity="5", sku="SAME")
    response = staff.post(
        f"{API}adjustments/",
        {
            "warehouse": str(wh.pk),
            "reason": "Yearly count",
            "lines": [
                {"product": str(up.pk), "counted_quantity": "12"},
                {"product": str(down.pk), "counted_quantity": "7.5"},
                {"product": str(same.pk), "counted_quantity": "5"},
            ],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert {"id", "warehouse", "reason", "reference", "adjusted_on", "value_delta", "moves"} <= set(body)
    assert body["reason"] == "Yearly count" and body["reference"]
    assert [(m["sku"], m["kind"], m["quantity"], m["value"]) for m in body["moves"]] == [
        ("DOWN", "adjustment", "-2.500", "-7.50"),
        ("UP", "adjustment", "2.000", "4.00"),
    ]
    assert body["value_delta"] == "-3.50"
    assert StockLevel.objects.get(product=down, warehouse=wh).on_hand == D("7.5")


def test_adjustment_with_a_reference_is_idempotent(staff, wh):
    product = stocked(wh, quantity="10")
    payload = {
        "warehouse": str(wh.pk),
        "reason": "count",
        "reference": "COUNT-1",
        "lines": [{"product": str(product.pk), "counted_quantity": "8"}],
    }
    first = staff.post(f"{API}adjustments/", payload)
    again = staff.post(f"{API}adjustments/", payload)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert StockLevel.objects.get(product=product, warehouse=wh).on_hand == D("8")


def test_counting_less_than_is_reserved_is_a_409(staff, wh):
    product = stocked(wh, quantity="10")
    registry.get("estoque").reserve(
        order_ref="SO-1", warehouse_id=wh.pk, lines=[Line(product_id=product.pk, quantity=D("6"))]
    )
    response = staff.post(
        f"{API}adjustments/",
        {
            "warehouse": str(wh.pk),
            "reason": "count",
            "lines": [{"product": str(product.pk), "counted_quantity": "5"}],
        },
    )
    assert_problem(response, 409, "below_reserved")
    assert StockLevel.objects.get(product=product, warehouse=wh).on_hand == D("10")


def test_transfer_moves_stock_between_warehouses(staff, wh):
    other = WarehouseFactory(code="OTHER")
    product = stocked(wh, quantity="10", unit_cost="2.0000", sku="T-1")
    response = staff.post(
        f"{API}transfers/",
        {
            "from_warehouse": str(wh.pk),
            "to_warehouse": str(other.pk),
            "lines": [{"product": str(product.pk), "quantity": "4"}],
            "reference": "TR-1",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert {"id", "from_warehouse", "to_warehouse", "reference", "transferred_on", "moves"} <= set(body)
    assert (body["from_warehouse"], body["to_warehouse"], body["reference"]) == (
        str(wh.pk),
        str(other.pk),
        "TR-1",
    )
    assert sorted((m["warehouse"], m["kind"], m["quantity"]) for m in body["moves"]) == sorted(
        [(str(wh.pk), "transfer_out", "-4.000"), (str(other.pk), "transfer_in", "4.000")]
    )
    assert StockLevel.objects.get(product=product, warehouse=wh).on_hand == D("6")
    assert StockLevel.objects.get(product=product, warehouse=other).on_hand == D("4")
    product.refresh_from_db()
    assert (product.on_hand, product.stock_value) == (D("10"), D("20.00"))


def test_a_transfer_of_more_than_available_is_a_409_naming_each_short_line(staff, wh):
    other = WarehouseFactory()
    enough = stocked(wh, quantity="10", sku="ENOUGH")
    short = stocked(wh, quantity="3", sku="SHORT")
    response = staff.post(
        f"{API}transfers/",
        {
            "from_warehouse": str(wh.pk),
            "to_warehouse": str(other.pk),
            "lines": [
                {"product": str(enough.pk), "quantity": "5"},
                {"product": str(short.pk), "quantity": "3.5"},
            ],
        },
    )
    body = assert_problem(response, 409, "insufficient_stock")
    assert body["lines"] == [
        {"product": str(short.pk), "sku": "SHORT", "requested": "3.500", "available": "3.000"}
    ]
    assert "SHORT" in body["detail"]
    assert not StockMove.objects.filter(kind__startswith="transfer").exists()


def test_reserved_stock_is_not_available_to_transfer(staff, wh):
    product = stocked(wh, quantity="10", sku="HELD")
    registry.get("estoque").reserve(
        order_ref="SO-2", warehouse_id=wh.pk, lines=[Line(product_id=product.pk, quantity=D("8"))]
    )
    response = staff.post(
        f"{API}transfers/",
        {
            "from_warehouse": str(wh.pk),
            "to_warehouse": str(WarehouseFactory().pk),
            "lines": [{"product": str(product.pk), "quantity": "3"}],
        },
    )
    body = assert_problem(response, 409, "insufficient_stock")
    assert body["lines"][0]["available"] == "2.000"


# --- stock levels, moves, reservations ---------------------------------------------------------


def test_stock_levels_show_on_hand_reserved_and_available(viewer, wh):
    product = stocked(wh, quantity="10", sku="LVL-1")
    registry.get("estoque").reserve(
        order_ref="SO-3", warehouse_id=wh.pk, lines=[Line(product_id=product.pk, quantity=D("4"))]
    )
    [row] = results(viewer.get(f"{API}stock/"))
    assert {"product", "warehouse", "on_hand", "reserved", "available"} <= set(row)
    assert row["product"] == str(product.pk) and row["warehouse"] == str(wh.pk)
    assert (row["sku"], row["warehouse_code"]) == ("LVL-1", "MAIN")
    assert (row["on_hand"], row["reserved"], row["available"]) == ("10.000", "4.000", "6.000")


def test_stock_levels_filter_by_product_warehouse_and_below_reorder(viewer, wh):
    other = WarehouseFactory(code="OTHER")
    low = stocked(wh, quantity="3", sku="LOW", reorder_point=D("5"))
    ok = stocked(wh, quantity="9", sku="OK", reorder_point=D("5"))
    stocked(other, quantity="1", sku="ELSEWHERE")
    # Reserving makes a level low without changing on_hand: below_reorder reads available.
    registry.get("estoque").reserve(
        order_ref="SO-4", warehouse_id=wh.pk, lines=[Line(product_id=ok.pk, quantity=D("5"))]
    )

    def skus(**params):
        return [(r["sku"], r["warehouse_code"]) for r in results(viewer.get(f"{API}stock/", params))]

    assert skus(product=str(low.pk)) == [("LOW", "MAIN")]
    assert skus(warehouse=str(other.pk)) == [("ELSEWHERE", "OTHER")]
    assert skus(below_reorder="true") == [("LOW", "MAIN"), ("OK", "MAIN")]
    assert skus(below_reorder="false") == [("ELSEWHERE", "OTHER")]  # reorder point 0: never below
    assert skus(below_reorder="true", warehouse=str(other.pk)) == []
    assert [sku for sku, _ in skus(ordering="-available_quantity")] == ["OK", "LOW", "ELSEWHERE"]


def test_moves_list_the_ledger_with_signed_quantities_and_filters(staff, viewer, wh):
    other = WarehouseFactory(code="OTHER")
    product = stocked(wh, quantity="10", sku="MV-1", reference="NF-MV")
    second = stocked(wh, quantity="1", sku="MV-2")
    staff.post(
        f"{API}transfers/",
        {
            "from_warehouse": str(wh.pk),
            "to_warehouse": str(other.pk),
            "lines": [{"product": str(product.pk), "quantity": "4"}],
            "reference": "TR-MV",
        },
    )
    moves = results(viewer.get(f"{API}moves/"))
    assert len(moves) == 4
    assert MOVE_FIELDS | {"value", "sku"} <= set(moves[0])

    def kinds(**params):
        return sorted(
            (m["sku"], m["kind"], m["quantity"]) for m in results(viewer.get(f"{API}moves/", params))
        )

    assert kinds(product=str(product.pk)) == [
        ("MV-1", "receipt", "10.000"),
        ("MV-1", "transfer_in", "4.000"),
        ("MV-1", "transfer_out", "-4.000"),
    ]
    assert kinds(warehouse=str(other.pk)) == [("MV-1", "transfer_in", "4.000")]
    assert kinds(kind="transfer_out") == [("MV-1", "transfer_out", "-4.000")]
    assert kinds(reference="NF-MV") == [("MV-1", "receipt", "10.000")]
    assert kinds(product=str(second.pk), kind="receipt") == [("MV-2", "receipt", "1.000")]

    created = StockMove.objects.get(reference="NF-MV").created_at
    assert kinds(created_after=created.isoformat(), reference="NF-MV") == [("MV-1", "receipt", "10.000")]
    assert kinds(created_before=created.isoformat(), reference="NF-MV") == []
    assert len(results(viewer.get(f"{API}moves/", {"created_after": "2999-01-01T00:00:00Z"}))) == 0


def test_reservations_list_and_filter(viewer, wh):
    a = stocked(wh, quantity="10", sku="RS-A")
    b = stocked(wh, quantity="10", sku="RS-B")
    stock = registry.get("estoque")
    stock.reserve(order_ref="SO-10", warehouse_id=wh.pk, lines=[Line(product_id=a.pk, quantity=D("2"))])
    stock.reserve(
        order_ref="SO-11",
        warehouse_id=wh.pk,
        lines=[Line(product_id=a.pk, quantity=D("1")), Line(product_id=b.pk, quantity=D("3"))],
    )
    stock.release(order_ref="SO-10")

    rows = results(viewer.get(f"{API}reservations/"))
    assert len(rows) == 3
    assert {"id", "order_ref", "product", "warehouse", "quantity", "status"} <= set(rows[0])

    def found(**params):
        return sorted(
            (r["order_ref"], r["sku"], r["quantity"], r["status"])
            for r in results(viewer.get(f"{API}reservations/", params))
        )

    assert found(order_ref="SO-10") == [("SO-10", "RS-A", "2.000", "released")]
    assert found(status="active") == [
        ("SO-11", "RS-A", "1.000", "active"),
        ("SO-11", "RS-B", "3.000", "active"),
    ]
    assert found(product=str(b.pk)) == [("SO-11", "RS-B", "3.000", "active")]
    assert found(warehouse=str(wh.pk), status="released") == [("SO-10", "RS-A", "2.000", "released")]
    assert found(warehouse=str(uuid4())) == []


# --- who may ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "sales", "finance", "manager"])
def test_only_warehouse_staff_write(client_as, role, wh):
    client = client_as(role)
    product = stocked(wh, quantity="5")
    attempts = [
        client.post(f"{API}products/", {"sku": "NEW", "name": "New"}),
        client.patch(f"{API}products/{product.pk}/", {"name": "x"}),
        client.delete(f"{API}products/{product.pk}/"),
        client.post(f"{API}warehouses/", {"code": "NEW", "name": "New"}),
        receive(client, wh, (product, "1", "1"), reference="NF-403"),
        client.post(
            f"{API}adjustments/",
            {
                "warehouse": str(wh.pk),
                "reason": "x",
                "lines": [{"product": str(product.pk), "counted_quantity": "1"}],
            },
        ),
        client.post(
            f"{API}transfers/",
            {
                "from_warehouse": str(wh.pk),
                "to_warehouse": str(WarehouseFactory().pk),
                "lines": [{"product": str(product.pk), "quantity": "1"}],
            },
        ),
    ]
    for response in attempts:
        assert_problem(response, 403)
    assert StockMove.objects.count() == 1 and Product.objects.count() == 1
    for path in ("products/", "warehouses/", "stock/", "moves/", "reservations/"):
        assert client.get(f"{API}{path}").status_code == 200


@pytest.mark.parametrize("role", ["warehouse", "admin"])
def test_warehouse_staff_and_admin_write(client_as, role, wh):
    client = client_as(role)
    product = ProductFactory()
    assert receive(client, wh, (product, "1", "1")).status_code == 201
    assert client.post(f"{API}warehouses/", {"code": f"W-{role}", "name": "x"}).status_code == 201


def test_without_a_token_everything_is_401(api):
    assert_problem(api.get(f"{API}products/"), 401)
    assert_problem(api.post(f"{API}receipts/", {}), 401)
