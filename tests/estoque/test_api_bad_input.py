"""Bad input to every estoque write endpoint: a 4xx problem+json with a clear
message on the right field (``lines.0.quantity``), and nothing changed: no
product, level, move, command, reservation or event differs afterwards."""

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import pytest

from erp.db import alias
from erp.models import OutboxEvent
from estoque.models import Product, Reservation, StockCommand, StockLevel, StockMove, Warehouse
from tests.estoque.factories import ProductFactory, WarehouseFactory, stocked

pytestmark = pytest.mark.django_db(databases="__all__")

API = "/api/v1/estoque/"
PROBLEM = "application/problem+json"
MISSING = object()  # a key left out of the body
BODY = None  # the field of an error about the body as a whole


@pytest.fixture
def staff(client_as):
    return client_as("warehouse")


@pytest.fixture
def w():
    """MAIN holds 10 of P-1, 2 of P-2 and 1 of OLD (now inactive); OTHER is empty; CLOSED inactive."""
    main, other = WarehouseFactory(code="MAIN"), WarehouseFactory(code="OTHER")
    closed = WarehouseFactory(code="CLOSED", is_active=False)
    p1 = stocked(main, quantity="10", sku="P-1")
    p2 = stocked(main, quantity="2", sku="P-2")
    old = stocked(main, quantity="1", sku="OLD")
    Product.objects.filter(pk=old.pk).update(is_active=False)
    return SimpleNamespace(
        main=str(main.pk),
        other=str(other.pk),
        closed=str(closed.pk),
        p1=str(p1.pk),
        p2=str(p2.pk),
        old=str(old.pk),
        product=p1,
        warehouse=main,
    )


def snapshot() -> tuple:
    """Everything a write could change."""
    return (
        sorted(Product.objects.values_list(*[f.attname for f in Product._meta.concrete_fields])),
        sorted(Warehouse.objects.values_list("id", "code", "name", "is_active")),
        sorted(StockLevel.objects.values_list("product_id", "warehouse_id", "on_hand", "reserved")),
        StockMove.objects.count(),
        StockCommand.objects.count(),
        Reservation.objects.count(),
        OutboxEvent.objects.using(alias("estoque")).count(),
    )


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[SimpleNamespace], Any]
    field: str | None = BODY
    status: int = 400
    code: str | None = None

    def __str__(self) -> str:
        return self.name


def _merge(base: dict, changes: dict) -> dict:
    merged = {**base, **changes}
    return {k: v for k, v in merged.items() if v is not MISSING}


def assert_refused(response, case: Case) -> None:
    assert response.status_code == case.status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == case.status and body["detail"].strip()
    if case.code:
        assert body["code"] == case.code or case.code in [e["code"] for e in body.get("errors", [])]
    if case.status == 400:
        assert body["errors"], body
        assert all(e["message"].strip() for e in body["errors"])
        assert case.field in [e["field"] for e in body["errors"]], body["errors"]


def _check(staff, method: str, path: str, payload, case: Case) -> None:
    before = snapshot()
    response = getattr(staff, method)(path, payload, format="json")
    assert_refused(response, case)
    assert snapshot() == before


# --- cases every command shares ------------------------------------------------------------------


def shape_cases(valid: Callable[..., dict], line_key: str, lines_of: Callable) -> list[Case]:
    """Line lists and bodies of the wrong shape, duplicates, unknown and inactive products."""
    return [
        Case("empty lines", lambda w: valid(w, lines=[]), "lines"),
        Case("lines a string", lambda w: valid(w, lines="abc"), "lines"),
        Case("lines an object", lambda w: valid(w, lines=lines_of(w)[0]), "lines"),
        Case("lines null", lambda w: valid(w, lines=None), "lines"),
        Case("lines missing", lambda w: valid(w, lines=MISSING), "lines"),
        Case("a line not an object", lambda w: valid(w, lines=[1]), "lines.0"),
        Case("1001 lines", lambda w: valid(w, lines=lines_of(w)[:1] * 1001), "lines"),
        Case(
            "duplicate product",
            lambda w: valid(w, lines=[lines_of(w)[0], {**lines_of(w)[0]}]),
            "lines.1.product",
            code="duplicate",
        ),
        Case(
            "product not a uuid",
            lambda w: valid(w, lines=[{**lines_of(w)[0], "product": "p-1"}]),
            "lines.0.product",
        ),
        Case(
            "unknown product on the second line",
            lambda w: valid(w, lines=[lines_of(w)[0], {**lines_of(w)[0], "product": str(uuid4())}]),
            "lines.1.product",
            code="unknown_product",
        ),
        Case(
            "inactive product",
            lambda w: valid(w, lines=[{**lines_of(w)[0], "product": w.old}]),
            "lines.0.product",
            code="inactive_product",
        ),
        Case(
            f"{line_key} missing",
            lambda w: valid(w, lines=[_merge(lines_of(w)[0], {line_key: MISSING})]),
            f"lines.0.{line_key}",
        ),
        Case("body a list", lambda w: [valid(w)]),
        Case("body a string", lambda w: "receive"),
        Case("body a number", lambda w: 42),
    ]


def number_cases(
    valid: Callable[..., dict], lines_of: Callable, key: str, *, zero_ok: bool, places: int
) -> list:
    def with_value(value):
        return lambda w: valid(w, lines=[{**lines_of(w)[0], key: value}])

    field = f"lines.0.{key}"
    cases = [
        Case(f"{key} negative", with_value("-1"), field),
        Case(f"{key} not a number", with_value("ten"), field),
        Case(f"{key} too many places", with_value("1." + "0" * places + "1"), field),
        Case(f"{key} NaN", with_value("NaN"), field),
        Case(f"{key} infinite", with_value("Infinity"), field),
        Case(f"{key} too big", with_value("1e20"), field),
        Case(f"{key} null", with_value(None), field),
        Case(f"{key} a boolean", with_value(True), field),
        Case(f"{key} a list", with_value(["1"]), field),
        Case(
            f"{key} bad on the second line",
            lambda w: valid(w, lines=[lines_of(w)[0], {**lines_of(w)[1], key: "-2"}]),
            f"lines.1.{key}",
        ),
    ]
    if not zero_ok:
        cases.append(Case(f"{key} zero", with_value("0"), field))
    return cases


def text_cases(valid: Callable[..., dict], key: str, max_length: int, *, required: bool = True) -> list:
    cases = [
        Case(f"{key} too long", lambda w: valid(w, **{key: "x" * (max_length + 1)}), key),
        Case(f"{key} with NUL", lambda w: valid(w, **{key: "a\x00b"}), key),
        Case(f"{key} blank", lambda w: valid(w, **{key: "   "}), key),
        Case(f"{key} an object", lambda w: valid(w, **{key: {"a": 1}}), key),
    ]
    if required:
        cases.append(Case(f"{key} missing", lambda w: valid(w, **{key: MISSING}), key))
    return cases


def warehouse_cases(valid: Callable[..., dict], key: str) -> list:
    return [
        Case(f"{key} unknown", lambda w: valid(w, **{key: str(uuid4())}), key, code="unknown_warehouse"),
        Case(f"{key} inactive", lambda w: valid(w, **{key: w.closed}), key, code="unknown_warehouse"),
        Case(f"{key} not a uuid", lambda w: valid(w, **{key: "MAIN"}), key),
        Case(f"{key} missing", lambda w: valid(w, **{key: MISSING}), key),
    ]


# --- receipts ------------------------------------------------------------------------------------


def receipt_lines(w):
    return [
        {"product": w.p1, "quantity": "1", "unit_cost": "2.5"},
        {"product": w.p2, "quantity": "1", "unit_cost": "2.5"},
    ]


def receipt(w, **changes):
    return _merge({"warehouse": w.main, "reference": "NF-BAD", "lines": receipt_lines(w)[:1]}, changes)


RECEIPT_CASES = [
    *shape_cases(receipt, "quantity", receipt_lines),
    *number_cases(receipt, receipt_lines, "quantity", zero_ok=False, places=3),
    *number_cases(receipt, receipt_lines, "unit_cost", zero_ok=True, places=4),
    *text_cases(receipt, "reference", 255),
    *warehouse_cases(receipt, "warehouse"),
]


@pytest.mark.parametrize("case", RECEIPT_CASES, ids=str)
def test_bad_receipt_is_refused_and_changes_nothing(staff, w, case):
    _check(staff, "post", f"{API}receipts/", case.build(w), case)


def test_a_free_receipt_is_allowed(staff, w):
    # unit_cost zero is not bad input: samples, gifts.
    assert (
        staff.post(
            f"{API}receipts/", receipt(w, lines=[{**receipt_lines(w)[0], "unit_cost": "0"}])
        ).status_code
        == 201
    )


# --- adjustments ---------------------------------------------------------------------------------


def count_lines(w):
    return [{"product": w.p1, "counted_quantity": "9"}, {"product": w.p2, "counted_quantity": "1"}]


def adjustment(w, **changes):
    return _merge({"warehouse": w.main, "reason": "count", "lines": count_lines(w)[:1]}, changes)


ADJUSTMENT_CASES = [
    *shape_cases(adjustment, "counted_quantity", count_lines),
    *number_cases(adjustment, count_lines, "counted_quantity", zero_ok=True, places=3),
    *text_cases(adjustment, "reason", 500),
    *text_cases(adjustment, "reference", 255, required=False),
    *warehouse_cases(adjustment, "warehouse"),
]


@pytest.mark.parametrize("case", ADJUSTMENT_CASES, ids=str)
def test_bad_adjustment_is_refused_and_changes_nothing(staff, w, case):
    _check(staff, "post", f"{API}adjustments/", case.build(w), case)


# --- transfers -----------------------------------------------------------------------------------


def transfer_lines(w):
    return [{"product": w.p1, "quantity": "1"}, {"product": w.p2, "quantity": "1"}]


def transfer(w, **changes):
    return _merge(
        {"from_warehouse": w.main, "to_warehouse": w.other, "lines": transfer_lines(w)[:1]}, changes
    )


TRANSFER_CASES = [
    *shape_cases(transfer, "quantity", transfer_lines),
    *number_cases(transfer, transfer_lines, "quantity", zero_ok=False, places=3),
    *text_cases(transfer, "reference", 255, required=False),
    *warehouse_cases(transfer, "from_warehouse"),
    *warehouse_cases(transfer, "to_warehouse"),
    Case("same warehouse", lambda w: transfer(w, to_warehouse=w.main), "to_warehouse", code="same_warehouse"),
    Case(
        "more than available",
        lambda w: transfer(w, lines=[{"product": w.p1, "quantity": "10.001"}]),
        status=409,
        code="insufficient_stock",
    ),
    Case(
        "nothing in the source",
        lambda w: transfer(w, from_warehouse=w.other, to_warehouse=w.main),
        status=409,
        code="insufficient_stock",
    ),
]


@pytest.mark.parametrize("case", TRANSFER_CASES, ids=str)
def test_bad_transfer_is_refused_and_changes_nothing(staff, w, case):
    _check(staff, "post", f"{API}transfers/", case.build(w), case)


# --- products and warehouses ---------------------------------------------------------------------


def product(w, **changes):
    return _merge({"sku": "NEW-1", "name": "New", "reorder_point": "1", "reorder_quantity": "2"}, changes)


def product_number_cases(key: str) -> list:
    return [
        Case(f"{key} negative", lambda w: product(w, **{key: "-1"}), key),
        Case(f"{key} not a number", lambda w: product(w, **{key: "abc"}), key),
        Case(f"{key} too many places", lambda w: product(w, **{key: "1.0001"}), key),
        Case(f"{key} too big", lambda w: product(w, **{key: "1e20"}), key),
        Case(f"{key} NaN", lambda w: product(w, **{key: "NaN"}), key),
    ]


PRODUCT_CASES = [
    *text_cases(product, "sku", 64),
    *text_cases(product, "name", 200),
    Case("description too long", lambda w: product(w, description="x" * 2001), "description"),
    Case("description with NUL", lambda w: product(w, description="a\x00b"), "description"),
    Case("unit too long", lambda w: product(w, unit="x" * 17), "unit"),
    Case("unit blank", lambda w: product(w, unit=""), "unit"),
    *product_number_cases("reorder_point"),
    *product_number_cases("reorder_quantity"),
    Case("is_active not a boolean", lambda w: product(w, is_active="maybe"), "is_active"),
    Case("a taken sku", lambda w: product(w, sku="P-1"), "sku"),
    Case("body a list", lambda w: [product(w)]),
    Case("body a string", lambda w: "product"),
]


@pytest.mark.parametrize("case", PRODUCT_CASES, ids=str)
def test_bad_new_product_is_refused_and_changes_nothing(staff, w, case):
    _check(staff, "post", f"{API}products/", case.build(w), case)


@pytest.mark.parametrize(
    "case",
    [c for c in PRODUCT_CASES if "missing" not in c.name and not c.name.startswith("body")],
    ids=str,
)
def test_bad_product_change_is_refused_and_changes_nothing(staff, w, case):
    change = {k: v for k, v in case.build(w).items() if k == case.field}
    other = ProductFactory(sku="OTHER-1")
    _check(staff, "patch", f"{API}products/{other.pk}/", change, case)


def test_a_product_replaced_without_its_required_fields_is_refused(staff, w):
    _check(staff, "put", f"{API}products/{w.p1}/", {"description": "only"}, Case("put", None, "sku"))


def warehouse(w, **changes):
    return _merge({"code": "NEW", "name": "New"}, changes)


WAREHOUSE_CASES = [
    *text_cases(warehouse, "code", 32),
    *text_cases(warehouse, "name", 200),
    Case("is_active not a boolean", lambda w: warehouse(w, is_active="maybe"), "is_active"),
    Case("a taken code", lambda w: warehouse(w, code="MAIN"), "code"),
    Case("body a list", lambda w: [warehouse(w)]),
]


@pytest.mark.parametrize("case", WAREHOUSE_CASES, ids=str)
def test_bad_new_warehouse_is_refused_and_changes_nothing(staff, w, case):
    _check(staff, "post", f"{API}warehouses/", case.build(w), case)


@pytest.mark.parametrize(
    "case", [c for c in WAREHOUSE_CASES if "missing" not in c.name and not c.name.startswith("body")], ids=str
)
def test_bad_warehouse_change_is_refused_and_changes_nothing(staff, w, case):
    change = {k: v for k, v in case.build(w).items() if k == case.field}
    _check(staff, "patch", f"{API}warehouses/{w.other}/", change, case)


def test_malformed_json_is_a_400_and_changes_nothing(staff, w):
    before = snapshot()
    for path in ("receipts/", "adjustments/", "transfers/", "products/", "warehouses/"):
        response = staff.generic("POST", f"{API}{path}", '{"lines": [', content_type="application/json")
        assert response.status_code == 400, response.content
        assert response["Content-Type"] == PROBLEM
    assert snapshot() == before


# --- query parameters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("products/", {"is_active": "maybe"}),
        ("warehouses/", {"is_active": "maybe"}),
        ("stock/", {"product": "not-a-uuid"}),
        ("stock/", {"warehouse": "1"}),
        ("stock/", {"below_reorder": "perhaps"}),
        ("moves/", {"kind": "theft"}),
        ("moves/", {"product": "x"}),
        ("moves/", {"created_after": "yesterday"}),
        ("moves/", {"created_before": "2026-13-40"}),
        ("reservations/", {"status": "lost"}),
        ("reservations/", {"warehouse": "x"}),
    ],
)
def test_a_bad_filter_value_is_a_400_naming_the_parameter(staff, w, path, params):
    response = staff.get(f"{API}{path}", params)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == list(params)


@pytest.mark.parametrize("path", ["products/", "warehouses/", "stock/", "moves/", "reservations/"])
@pytest.mark.parametrize(
    "params",
    [
        {"search": "a\x00b"},
        {"ordering": "no_such_field"},
        {"page": "999"},
        {"page": "x"},
        {"page_size": "-1"},
        {"sku": "a\x00b", "reference": "a\x00b", "order_ref": "a\x00b", "code": "a\x00b"},
    ],
)
def test_no_query_string_is_a_server_error(staff, w, path, params):
    response = staff.get(f"{API}{path}", params)
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert response["Content-Type"] == PROBLEM
