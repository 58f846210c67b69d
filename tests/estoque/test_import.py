"""The bulk product import: POST /api/v1/estoque/products/import/ and its service
(estoque.imports). All or nothing: a file with any bad row answers 400 naming
every problem by row and field, and no product is created or changed."""

import json
import threading
import time
from decimal import Decimal

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from erp.db import alias, atomic
from estoque import imports
from estoque.models import Product
from tests.estoque.factories import ProductFactory, stocked

pytestmark = pytest.mark.django_db(databases="__all__")

IMPORT = "/api/v1/estoque/products/import/"


@pytest.fixture
def warehouse_api(client_as):
    return client_as("warehouse")


def post_csv(client, text: str | bytes, content_type: str = "text/csv", **extra):
    body = text.encode() if isinstance(text, str) else text
    return client.generic("POST", IMPORT, body, content_type=content_type, **extra)


def post_json(client, products, **extra):
    return client.post(IMPORT, {"products": products}, format="json", **extra)


def problems(response) -> set[tuple]:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    for error in body["errors"]:
        assert set(error) == {"row", "field", "code", "message"}
        assert error["message"]
    return {(e["row"], e["field"], e["code"]) for e in body["errors"]}


def snapshot() -> list[tuple]:
    """Every product as stored, to show a refused import changed nothing."""
    return list(Product.objects.order_by("sku").values_list(*imports.FIELDS, "updated_at"))


# --- Happy paths --------------------------------------------------------------------------


def test_json_creates_new_skus_and_updates_existing_ones(warehouse_api):
    ProductFactory(sku="OLD-1", name="Old name", reorder_point=Decimal("2"))

    response = post_json(
        warehouse_api,
        [
            {
                "sku": " NEW-1 ",
                "name": "Bolt M6",
                "description": "Zinc plated",
                "unit": "box",
                "reorder_point": "12.5",
                "reorder_quantity": 100,
                "is_active": False,
            },
            {"sku": "NEW-2", "name": "Nut M6", "reorder_point": 1.25},
            {"sku": "OLD-1", "name": "New name"},
        ],
    )

    assert response.status_code == 200, response.content
    assert response.json() == {"created": 2, "updated": 1, "unchanged": 0}
    bolt = Product.objects.get(sku="NEW-1")
    assert (bolt.name, bolt.description, bolt.unit, bolt.is_active) == (
        "Bolt M6",
        "Zinc plated",
        "box",
        False,
    )
    assert (bolt.reorder_point, bolt.reorder_quantity) == (Decimal("12.500"), Decimal("100.000"))
    nut = Product.objects.get(sku="NEW-2")
    assert (nut.unit, nut.is_active, nut.reorder_point, nut.reorder_quantity) == (
        "un",
        True,
        Decimal("1.250"),
        Decimal("0.000"),
    )
    assert Product.objects.get(sku="OLD-1").name == "New name"


def test_csv_with_bom_crlf_and_any_column_order_and_case(warehouse_api):
    ProductFactory(sku="B-1", name="Before", is_active=True)
    csv_text = (
        "\ufeffName,SKU,is_active,reorder_point,Description\r\n"
        'Washer,A-1,yes,3.125,"Flat, 6 mm"\r\n'
        "Renamed,B-1,no,0,\r\n"
        "\r\n"  # blank lines are skipped
    )

    response = post_csv(warehouse_api, csv_text, content_type="text/csv; charset=utf-8")

    assert response.status_code == 200, response.content
    assert response.json() == {"created": 1, "updated": 1, "unchanged": 0}
    washer = Product.objects.get(sku="A-1")
    assert (washer.name, washer.description, washer.reorder_point, washer.is_active) == (
        "Washer",
        "Flat, 6 mm",
        Decimal("3.125"),
        True,
    )
    renamed = Product.objects.get(sku="B-1")
    assert (renamed.name, renamed.is_active) == ("Renamed", False)


@pytest.mark.parametrize("words", [("true", "false"), ("1", "0"), ("YES", "No")])
def test_csv_booleans_accept_true_false_one_zero_yes_no(warehouse_api, words):
    on, off = words
    response = post_csv(warehouse_api, f"sku,name,is_active\nON,On,{on}\nOFF,Off,{off}\n")
    assert response.status_code == 200, response.content
    assert Product.objects.get(sku="ON").is_active is True
    assert Product.objects.get(sku="OFF").is_active is False


def test_an_update_changes_only_the_columns_in_the_file(warehouse_api):
    ProductFactory(
        sku="KEEP",
        name="Old",
        description="Long text",
        unit="kg",
        reorder_point=Decimal("5"),
        reorder_quantity=Decimal("50"),
        is_active=False,
    )

    assert post_csv(warehouse_api, "sku,name\nKEEP,New\n").json() == {
        "created": 0,
        "updated": 1,
        "unchanged": 0,
    }

    kept = Product.objects.get(sku="KEEP")
    assert kept.name == "New"
    assert (kept.description, kept.unit, kept.reorder_point, kept.reorder_quantity, kept.is_active) == (
        "Long text",
        "kg",
        Decimal("5.000"),
        Decimal("50.000"),
        False,
    )


def test_a_json_update_changes_only_the_keys_of_its_row(warehouse_api):
    ProductFactory(sku="P-1", name="One", reorder_point=Decimal("1"), unit="kg")
    ProductFactory(sku="P-2", name="Two", reorder_point=Decimal("2"), unit="kg")

    response = post_json(warehouse_api, [{"sku": "P-1", "reorder_point": "9"}, {"sku": "P-2", "unit": "box"}])

    assert response.json() == {"created": 0, "updated": 2, "unchanged": 0}
    one, two = Product.objects.get(sku="P-1"), Product.objects.get(sku="P-2")
    assert (one.name, one.reorder_point, one.unit) == ("One", Decimal("9.000"), "kg")
    assert (two.name, two.reorder_point, two.unit) == ("Two", Decimal("2.000"), "box")


def test_the_import_never_touches_stock_or_valuation(warehouse_api):
    product = stocked(quantity=10, unit_cost="2.5000", sku="STOCKED")

    response = post_csv(warehouse_api, "sku,name,reorder_point\nSTOCKED,Renamed,4\n")

    assert response.status_code == 200, response.content
    product.refresh_from_db()
    assert product.name == "Renamed"
    assert (product.on_hand, product.stock_value, product.average_cost) == (
        Decimal("10.000"),
        Decimal("25.00"),
        Decimal("2.5000"),
    )


def test_rows_equal_to_the_stored_product_are_counted_unchanged_and_not_written(warehouse_api):
    ProductFactory(sku="SAME", name="Same", reorder_point=Decimal("3"))
    before = Product.objects.get(sku="SAME").updated_at

    response = post_csv(warehouse_api, "sku,name,reorder_point\nSAME,Same,3.000\n")

    assert response.json() == {"created": 0, "updated": 0, "unchanged": 1}
    assert Product.objects.get(sku="SAME").updated_at == before


def test_an_update_moves_updated_at(warehouse_api):
    ProductFactory(sku="U-1", name="Before")
    before = Product.objects.get(sku="U-1").updated_at

    post_csv(warehouse_api, "sku,name\nU-1,After\n")

    assert Product.objects.get(sku="U-1").updated_at > before


def test_a_multipart_upload_of_a_csv_or_json_file(warehouse_api):
    from django.core.files.uploadedfile import SimpleUploadedFile

    csv_file = SimpleUploadedFile("products.csv", b"sku,name\nUP-1,Uploaded\n", content_type="text/csv")
    response = warehouse_api.post(IMPORT, {"file": csv_file}, format="multipart")
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1

    json_file = SimpleUploadedFile(
        "products.json", json.dumps({"products": [{"sku": "UP-2", "name": "Json"}]}).encode()
    )
    response = warehouse_api.post(IMPORT, {"file": json_file}, format="multipart")
    assert response.status_code == 200, response.content
    assert set(Product.objects.values_list("sku", flat=True)) == {"UP-1", "UP-2"}


def test_a_multipart_request_without_a_file_field_is_a_400(warehouse_api):
    response = warehouse_api.post(IMPORT, {"other": "x"}, format="multipart")
    assert problems(response) == {(None, "file", "required")}


# --- Bad rows: 400, every problem by row, nothing written ----------------------------------


def test_every_kind_of_bad_csv_cell_is_reported_by_row_and_nothing_is_written(warehouse_api):
    ProductFactory(sku="EXISTS", name="Stays", reorder_point=Decimal("7"))
    before = snapshot()
    rows = [
        "GOOD-1,Fine,,un,1,1,true",  # 1: good, but not imported either
        ",No sku,,un,0,0,true",  # 2
        f"{'S' * 65},Long sku,,un,0,0,true",  # 3
        f"LONG-NAME,{'n' * 201},,un,0,0,true",  # 4
        f"LONG-DESC,Desc,{'d' * 2001},un,0,0,true",  # 5
        "LONG-UNIT,Unit,,kilograms-per-box,0,0,true",  # 6
        "NUL,Na\x00me,,un,0,0,true",  # 7
        "NAN,Nan,,un,abc,0,true",  # 8
        'COMMA,Comma,,un,1,"1,5",true',  # 9
        "NEG,Neg,,un,-1,0,true",  # 10
        "PLACES,Places,,un,1.2345,0,true",  # 11
        "HUGE,Huge,,un,1e20,0,true",  # 12
        "BOOL,Bool,,un,0,0,maybe",  # 13
        "BLANK-NAME, ,,un,0,0,true",  # 14
        "BLANK-UNIT,Unit,,,0,0,true",  # 15
        "EXISTS,Stays,,un,,0,true",  # 16: empty decimal cell
        "INF,Inf,,un,Infinity,0,true",  # 17
    ]
    csv_text = "sku,name,description,unit,reorder_point,reorder_quantity,is_active\n" + "\n".join(rows)

    response = post_csv(warehouse_api, csv_text)

    assert problems(response) == {
        (2, "sku", "required"),
        (3, "sku", "max_length"),
        (4, "name", "max_length"),
        (5, "description", "max_length"),
        (6, "unit", "max_length"),
        (7, "name", "null_characters_not_allowed"),
        (8, "reorder_point", "invalid"),
        (9, "reorder_quantity", "invalid"),
        (10, "reorder_point", "min_value"),
        (11, "reorder_point", "max_decimal_places"),
        (12, "reorder_point", "max_value"),
        (13, "is_active", "invalid"),
        (14, "name", "required"),
        (15, "unit", "required"),
        (16, "reorder_point", "invalid"),
        (17, "reorder_point", "invalid"),
    }
    body = response.json()
    assert body["code"] == "import_invalid"
    assert body["error_count"] == 16
    assert "16 rows have errors; nothing was imported" in body["detail"]
    assert any("dot" in e["message"] for e in body["errors"] if e["row"] == 9)
    assert snapshot() == before


def test_bad_json_values_are_reported_by_row_and_field(warehouse_api):
    before = snapshot()
    response = post_json(
        warehouse_api,
        [
            {"sku": "OK", "name": "Fine"},
            {"sku": 12, "name": "Number sku"},
            {"sku": "NULL", "name": None},
            {"sku": "BOOL", "name": "Bool", "reorder_point": True},
            "not an object",
            {"name": "No sku"},
            {"sku": "ODD", "name": "Odd", "colour": "red", "on_hand": "5"},
            {"sku": "FLOAT", "name": "Float", "reorder_quantity": 0.0001},
            {"sku": "ACTIVE", "name": "Active", "is_active": "perhaps"},
        ],
    )
    assert problems(response) == {
        (2, "sku", "invalid"),
        (3, "name", "null"),
        (4, "reorder_point", "invalid"),
        (5, None, "invalid"),
        (6, "sku", "required"),
        (7, "colour", "unknown_field"),
        (7, "on_hand", "read_only"),
        (8, "reorder_quantity", "max_decimal_places"),
        (9, "is_active", "invalid"),
    }
    assert snapshot() == before


def test_a_new_sku_needs_a_name_but_an_existing_one_does_not(warehouse_api):
    ProductFactory(sku="KNOWN", name="Known")

    response = post_csv(warehouse_api, "sku,reorder_point\nKNOWN,4\nUNKNOWN,5\n")

    assert problems(response) == {(2, "name", "required")}
    assert "UNKNOWN" in response.json()["errors"][0]["message"]
    assert Product.objects.get(sku="KNOWN").reorder_point == 0

    assert post_csv(warehouse_api, "sku,reorder_point\nKNOWN,4\n").json()["updated"] == 1
    assert Product.objects.get(sku="KNOWN").reorder_point == Decimal("4.000")


def test_a_sku_repeated_in_the_file_is_an_error_on_each_of_its_rows(warehouse_api):
    response = post_csv(warehouse_api, "sku,name\nDUP,First\nOTHER,Fine\n DUP ,Second\nDUP,Third\n")

    assert problems(response) == {(1, "sku", "duplicate"), (3, "sku", "duplicate"), (4, "sku", "duplicate")}
    messages = {e["row"]: e["message"] for e in response.json()["errors"]}
    assert "3, 4" in messages[1] and "1, 4" in messages[3]
    assert not Product.objects.exists()


def test_skus_differing_only_in_case_are_different_products(warehouse_api):
    response = post_csv(warehouse_api, "sku,name\nabc,Lower\nABC,Upper\n")
    assert response.json()["created"] == 2


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("sku,name,reorder_pont", {(None, "reorder_pont", "unknown_column")}),
        ("sku,name,on_hand", {(None, "on_hand", "read_only")}),
        (
            "id,sku,name,stock_value,average_cost",
            {(None, c, "read_only") for c in ("id", "stock_value", "average_cost")},
        ),
        ("name,unit", {(None, "sku", "required")}),
        ("sku,name,Name", {(None, "name", "duplicate_column")}),
    ],
)
def test_a_bad_csv_header_is_refused_before_any_row(warehouse_api, header, expected):
    response = post_csv(warehouse_api, f"{header}\nA-1,Name,1\n")
    assert problems(response) == expected
    assert response.json()["code"] == "invalid_header"
    assert not Product.objects.exists()


def test_read_only_fields_name_why(warehouse_api):
    response = post_csv(warehouse_api, "sku,name,on_hand\nA,B,5\n")
    assert "never changes stock" in response.json()["errors"][0]["message"]


def test_a_row_with_more_or_fewer_cells_than_the_header_is_an_error(warehouse_api):
    response = post_csv(warehouse_api, "sku,name,unit\nA,Alpha,un\nB,Beta\nC,Gamma,un,extra\nD,Delta,un,,\n")
    assert problems(response) == {(2, None, "cell_count"), (3, None, "cell_count")}
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'sku,name\nA,"unterminated\n', "text/csv"),
        (b'sku,name\nA,"bad"quote\n', "text/csv"),
        (b"sku,name\nA,caf\xe9\n", "text/csv"),  # Latin-1, not UTF-8
        (b'{"products": [', "application/json"),
        (b"\xff\xfe{}", "application/json"),
        (b'{"products": [{"sku": "A", "reorder_point": NaN}]}', "application/json"),
    ],
)
def test_a_body_that_cannot_be_read_is_a_400_problem(warehouse_api, body, content_type):
    response = post_csv(warehouse_api, body, content_type=content_type)
    assert problems(response) == {(None, None, "malformed")}
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [{}, [], {"products": {"sku": "A"}}, {"products": "A"}, {"items": []}, {"products": [], "extra": 1}],
)
def test_json_that_is_not_a_list_of_products_is_a_400(warehouse_api, payload):
    response = warehouse_api.post(IMPORT, payload, format="json")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert all(e["row"] is None for e in response.json()["errors"])


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", "text/csv"),
        (b"\n\n", "text/csv"),
        (b"sku,name\n", "text/csv"),
        (b"sku,name\n\n,\n", "text/csv"),
        (b'{"products": []}', "application/json"),
    ],
)
def test_an_empty_import_is_a_400(warehouse_api, body, content_type):
    response = post_csv(warehouse_api, body, content_type=content_type)
    assert problems(response) == {(None, None, "empty")}


def test_a_charset_other_than_utf8_is_refused(warehouse_api):
    response = post_csv(warehouse_api, "sku,name\nA,B\n", content_type="text/csv; charset=latin-1")
    assert response.status_code == 400
    assert "UTF-8" in response.json()["detail"]
    assert not Product.objects.exists()


def test_more_than_10000_rows_is_a_400_and_nothing_is_written(warehouse_api):
    csv_text = "sku,name\n" + "".join(f"S-{n},Product {n}\n" for n in range(imports.MAX_ROWS + 1))
    response = post_csv(warehouse_api, csv_text)
    assert problems(response) == {(None, None, "too_many_rows")}

    products = [{"sku": f"S-{n}", "name": "P"} for n in range(imports.MAX_ROWS + 1)]
    assert problems(post_json(warehouse_api, products)) == {(None, None, "too_many_rows")}
    assert not Product.objects.exists()


def test_a_body_over_the_size_cap_is_a_413(warehouse_api):
    body = b"sku,name,description\n" + b"A,B," + b"x" * imports.MAX_BYTES + b"\n"
    response = post_csv(warehouse_api, body)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "too_large"


def test_the_error_list_is_capped_and_says_how_many_there_were(warehouse_api):
    count = imports.MAX_REPORTED_ERRORS + 500
    csv_text = "sku,name,reorder_point\n" + "".join(f"S-{n},P,-1\n" for n in range(count))

    body = post_csv(warehouse_api, csv_text).json()

    assert body["error_count"] == count
    assert len(body["errors"]) == imports.MAX_REPORTED_ERRORS
    assert [e["row"] for e in body["errors"][:3]] == [1, 2, 3]


# --- Media types and roles ----------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"]
)
def test_another_media_type_is_a_415(warehouse_api, content_type):
    response = post_csv(warehouse_api, "sku,name\nA,B\n", content_type=content_type)
    assert response.status_code == 415
    assert response["Content-Type"] == "application/problem+json"
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("role", "status"),
    [("viewer", 403), ("sales", 403), ("manager", 403), ("warehouse", 200), ("admin", 200)],
)
def test_only_warehouse_and_admin_may_import(client_as, role, status):
    response = post_csv(client_as(role), "sku,name\nR-1,Role\n")
    assert response.status_code == status, response.content
    assert Product.objects.filter(sku="R-1").exists() is (status == 200)


def test_an_anonymous_import_is_a_401(api):
    assert post_csv(api, "sku,name\nA,B\n").status_code == 401


def test_get_is_not_allowed(warehouse_api):
    assert warehouse_api.get(IMPORT).status_code == 405


def test_an_idempotency_key_replays_the_import(warehouse_api):
    headers = {"HTTP_IDEMPOTENCY_KEY": "import-1"}
    first = post_csv(warehouse_api, "sku,name\nI-1,Once\n", **headers)
    Product.objects.filter(sku="I-1").delete()

    again = post_csv(warehouse_api, "sku,name\nI-1,Once\n", **headers)

    assert again.json() == first.json() == {"created": 1, "updated": 0, "unchanged": 0}
    assert again["Idempotent-Replayed"] == "true"
    assert not Product.objects.filter(sku="I-1").exists()


# --- Statements and size ------------------------------------------------------------------


def _queries_to_import(rows: list[imports.Row]) -> int:
    with CaptureQueriesContext(connections[alias("estoque")]) as queries:
        imports.products_import(rows)
    return len(queries)


def _rows(count: int, prefix: str, **values) -> list[imports.Row]:
    return [imports.Row(n + 1, {"sku": f"{prefix}-{n}", "name": f"P {n}", **values}) for n in range(count)]


def test_statements_do_not_grow_with_the_number_of_rows():
    small_create = _queries_to_import(_rows(100, "SMALL"))
    large_create = _queries_to_import(_rows(1000, "LARGE"))
    assert small_create == large_create

    small_update = _queries_to_import(_rows(100, "SMALL", reorder_point="5"))
    large_update = _queries_to_import(_rows(1000, "LARGE", reorder_point="5"))
    assert small_update == large_update
    assert Product.objects.filter(reorder_point=5).count() == 1100


def test_ten_thousand_rows_import_then_reimport_as_updates(warehouse_api):
    count = imports.MAX_ROWS
    header = "sku,name,description,unit,reorder_point,reorder_quantity,is_active\n"
    new = header + "".join(
        f"BULK-{n:05d},Product {n},Description {n},un,{n % 50},10,true\n" for n in range(count)
    )
    updates = header + "".join(
        f"BULK-{n:05d},Product {n} v2,Description {n},box,{n % 50}.5,20,false\n" for n in range(count)
    )

    started = time.perf_counter()
    created = post_csv(warehouse_api, new)
    middle = time.perf_counter()
    updated = post_csv(warehouse_api, updates)
    done = time.perf_counter()

    assert created.status_code == 200, created.content[:500]
    assert created.json() == {"created": count, "updated": 0, "unchanged": 0}
    assert updated.json() == {"created": 0, "updated": count, "unchanged": 0}
    assert Product.objects.filter(unit="box", is_active=False, reorder_quantity=20).count() == count
    assert Product.objects.get(sku="BULK-00049").reorder_point == Decimal("49.500")
    print(f"\n10,000 rows over HTTP: create {middle - started:.2f} s, update {done - middle:.2f} s")


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_a_sku_created_while_the_import_runs_makes_it_a_conflict_with_nothing_written():
    """The import found RACE new, another transaction creates it before the
    import's INSERT: the import waits on the unique index, then answers 409
    (import again) instead of a duplicate or a 500."""
    created, release = threading.Event(), threading.Event()
    outcome: list[object] = []

    def other_transaction():
        try:
            with atomic("estoque"):
                ProductFactory(sku="RACE", name="Created meanwhile")
                created.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    def importer():
        try:
            outcome.append(
                imports.products_import([*_rows(3, "NEW"), imports.Row(4, {"sku": "RACE", "name": "Imp"})])
            )
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            outcome.append(exc)
        finally:
            connections.close_all()

    holder = threading.Thread(target=other_transaction)
    holder.start()
    assert created.wait(timeout=30)
    worker = threading.Thread(target=importer)
    worker.start()
    _wait_for_a_lock_wait()
    release.set()
    holder.join(timeout=30)
    worker.join(timeout=30)

    assert len(outcome) == 1 and isinstance(outcome[0], imports.ImportConflictError), outcome
    assert list(Product.objects.values_list("sku", "name")) == [("RACE", "Created meanwhile")]


def _wait_for_a_lock_wait() -> None:
    with connections[alias("estoque")].cursor() as cursor:
        for _ in range(300):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the import never waited for the other transaction")


def test_dry_run_validates_and_counts_without_writing():
    ProductFactory(sku="D-1", name="Old")
    rows = [imports.Row(1, {"sku": "D-1", "name": "New"}), imports.Row(2, {"sku": "D-2", "name": "Two"})]

    result = imports.products_import(rows, dry_run=True)

    assert (result.created, result.updated, result.dry_run) == (1, 1, True)
    assert (result.created_skus, result.updated_skus) == (("D-2",), ("D-1",))
    assert list(Product.objects.values_list("sku", "name")) == [("D-1", "Old")]


def test_a_3_mb_import_with_an_idempotency_key_succeeds(warehouse_api):
    """The idempotency middleware reads the whole body: Django's 2.5 MB default would refuse it."""
    body = "sku,name,description\n" + "".join(f"K-{n},P,{'d' * 300}\n" for n in range(10000))
    assert len(body) > 3_000_000
    response = post_csv(warehouse_api, body, HTTP_IDEMPOTENCY_KEY="big-import")
    assert response.status_code == 200, response.content[:300]
    assert response.json()["created"] == 10000
