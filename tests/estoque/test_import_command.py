"""``manage.py import_products FILE [--dry-run]``: the bulk import from a file,
over the same service as the API (all or nothing, every bad row printed)."""

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from estoque.models import Product
from tests.estoque.factories import ProductFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_products", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def csv_file(tmp_path):
    def write(text: str, name: str = "products.csv"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


def test_a_good_csv_file_is_imported_with_a_progress_report(csv_file):
    ProductFactory(sku="OLD", name="Old", reorder_point=Decimal("3"))
    path = csv_file("sku,name,unit\nNEW-1,First,un\nNEW-2,Second,box\nOLD,Renamed,un\n")

    out, err = run(path)

    assert "Created 2, updated 1, unchanged 0." in out
    assert "3/3 products written" in err
    assert dict(Product.objects.values_list("sku", "name")) == {
        "NEW-1": "First",
        "NEW-2": "Second",
        "OLD": "Renamed",
    }
    assert Product.objects.get(sku="OLD").reorder_point == Decimal("3.000")  # not a column: kept


def test_a_json_file_is_read_by_its_extension(csv_file):
    path = csv_file(json.dumps({"products": [{"sku": "J-1", "name": "Json", "is_active": False}]}), "p.json")

    out, _ = run(path)

    assert "Created 1" in out
    assert Product.objects.get(sku="J-1").is_active is False


def test_format_overrides_the_extension(csv_file):
    path = csv_file(json.dumps({"products": [{"sku": "J-2", "name": "Json"}]}), "export.txt")
    run(path, "--format", "json")
    assert Product.objects.filter(sku="J-2").exists()


def test_dry_run_lists_what_would_change_and_writes_nothing(csv_file):
    ProductFactory(sku="OLD", name="Old")
    ProductFactory(sku="SAME", name="Same")
    path = csv_file("sku,name\nNEW,New\nOLD,Renamed\nSAME,Same\n")

    out, err = run(path, "--dry-run")

    assert "create NEW" in out and "update OLD" in out and "SAME" not in out
    assert "would create 1, update 1, leave 1" in out
    assert "written" not in err
    assert dict(Product.objects.values_list("sku", "name")) == {"OLD": "Old", "SAME": "Same"}


def test_a_bad_file_prints_every_bad_row_and_writes_nothing(csv_file):
    path = csv_file("sku,name,reorder_point\nGOOD,Fine,1\nBAD,Neg,-1\n,Blank,0\nDUP,A,1\nDUP,B,1\n")
    err = StringIO()

    with pytest.raises(CommandError) as caught:
        call_command("import_products", str(path), stdout=StringIO(), stderr=err)

    lines = err.getvalue().splitlines()
    assert "row 2, reorder_point: Must not be negative. (min_value)" in lines
    assert "row 3, sku: This field may not be blank. (required)" in lines
    assert any(line.startswith("row 4, sku: SKU DUP also appears in row 5") for line in lines)
    assert any(line.startswith("row 5, sku:") for line in lines)
    assert "4 rows have errors; nothing was imported" in str(caught.value)
    assert not Product.objects.exists()


def test_a_bad_header_is_reported_and_the_exit_status_is_1(csv_file):
    path = csv_file("sku,name,reorder_pont\nA,B,1\n")
    err = StringIO()

    with pytest.raises(CommandError) as caught:
        call_command("import_products", str(path), stdout=StringIO(), stderr=err)

    # manage.py exits with a CommandError's returncode (run_from_argv; it also
    # closes every connection, so the test cannot run it in-process).
    assert caught.value.returncode == 1
    assert "file, reorder_pont: Unknown column 'reorder_pont'" in err.getvalue()
    assert not Product.objects.exists()


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run(tmp_path / "nope.csv")


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("sku,name\nA,Café\n".encode("latin-1"))
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_products", str(path), stdout=StringIO(), stderr=err)
    assert "not UTF-8" in err.getvalue()
    assert not Product.objects.exists()


def test_progress_is_reported_per_batch(csv_file):
    path = csv_file("sku,name\n" + "".join(f"P-{n},Product {n}\n" for n in range(2500)))

    _, err = run(path)

    assert err.splitlines() == [
        "0/2,500 products written",
        "1,000/2,500 products written",
        "2,000/2,500 products written",
        "2,500/2,500 products written",
    ]
    assert Product.objects.count() == 2500
