"""`manage.py seed_estoque_demo`: the quick start's demo stock, on PostgreSQL
and, as `make run` runs it, on SQLite with Celery eager."""

import json
import os
import sqlite3
import subprocess
import sys
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from config.env import VARIABLES
from erp.db import alias
from erp.models import OutboxEvent
from estoque import reconciliation, selectors
from estoque.models import Product, Reservation, StockCommand, StockLevel, StockMove, Warehouse

PROJECT = Path(__file__).resolve().parents[2]
MODELS = (Warehouse, Product, StockLevel, StockCommand, StockMove, Reservation)


def seed() -> str:
    out = StringIO()
    call_command("seed_estoque_demo", stdout=out)
    return out.getvalue()


def rows() -> dict[str, int]:
    counts = {model.__name__: model.objects.count() for model in MODELS}
    counts["events"] = OutboxEvent.objects.using(alias("estoque")).count()
    return counts


@pytest.mark.django_db(databases="__all__")
def test_the_demo_has_stock_moves_and_a_valuation_to_look_at():
    output = seed()

    assert "Demo stock created" in output
    assert set(Warehouse.objects.values_list("code", flat=True)) == {"MAIN", "STORE"}
    assert Product.objects.count() == 50
    assert set(StockMove.objects.values_list("kind", flat=True)) == {
        "receipt",
        "transfer_in",
        "transfer_out",
        "adjustment",
    }
    assert Reservation.objects.filter(status=Reservation.Status.ACTIVE).count() == 5
    paper = Product.objects.get(sku="PAP-A4-75G")  # received at 23.90, then at 25.40
    assert Decimal("23.9000") < paper.average_cost < Decimal("25.4000")
    assert paper.stock_value == Decimal("9785.00")
    below = selectors.stock_levels().filter(available_quantity__lt=Decimal("8"), product__sku="TON-HP-26A")
    assert [level.warehouse.code for level in below] == ["STORE"]  # for the admin's reorder filter
    assert reconciliation.reconcile() == []


@pytest.mark.django_db(databases="__all__")
def test_seeding_again_adds_nothing():
    seed()
    first = rows()

    output = seed()

    assert output.strip() == "Demo stock already exists; nothing added."
    assert rows() == first
    assert reconciliation.reconcile() == []


@pytest.mark.django_db(databases="__all__")
def test_json_gives_the_demo_ids_and_what_was_added():
    out = StringIO()
    call_command("seed_estoque_demo", json=True, stdout=out)
    first = json.loads(out.getvalue())
    out = StringIO()
    call_command("seed_estoque_demo", json=True, stdout=out)
    again = json.loads(out.getvalue())

    assert first["warehouses"] == {code: str(pk) for code, pk in Warehouse.objects.values_list("code", "pk")}
    assert first["products"] == {sku: str(pk) for sku, pk in Product.objects.values_list("sku", "pk")}
    assert "50 products" in first["added"] and again["added"] == []
    assert again["warehouses"] == first["warehouses"] and again["products"] == first["products"]


@pytest.mark.django_db(databases="__all__")
def test_demo_products_someone_changed_are_left_alone():
    seed()
    Product.objects.filter(sku="TON-HP-26A").update(name="Toner (our own name)", reorder_point=Decimal("2"))

    seed()

    toner = Product.objects.get(sku="TON-HP-26A")
    assert (toner.name, toner.reorder_point) == ("Toner (our own name)", Decimal("2.000"))


def quickstart(tmp_path, *args) -> subprocess.CompletedProcess:
    """``manage.py *args`` on the quick start's defaults: SQLite, no broker (Celery eager)."""
    env = {k: v for k, v in os.environ.items() if k not in {var.name for var in VARIABLES}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DOTENV_PATH="",
        DATABASE_URL=f"sqlite:///{tmp_path / 'quickstart.sqlite3'}",
        SECRET_KEY="quickstart-seed-test-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        PYTHONPATH=str(PROJECT),
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_quick_start_seeds_and_checks_its_demo_stock_on_sqlite(tmp_path):
    assert quickstart(tmp_path, "migrate", "--noinput", "-v", "0").returncode == 0

    first = quickstart(tmp_path, "seed_estoque_demo")
    assert first.returncode == 0, first.stderr
    assert "Demo stock created" in first.stdout
    again = quickstart(tmp_path, "seed_estoque_demo")
    assert again.returncode == 0 and "nothing added" in again.stdout, again.stderr

    check = quickstart(tmp_path, "stock_check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("Stock OK: 50 product(s), 2 warehouse(s)")

    with sqlite3.connect(tmp_path / "quickstart.sqlite3") as db:
        db.execute("UPDATE estoque_product SET stock_value = stock_value + 0.01 WHERE sku = 'COF-ARABICA'")
    broken = quickstart(tmp_path, "stock_check")
    assert broken.returncode == 1
    assert broken.stdout.splitlines() == [
        "COF-ARABICA -: product stock value vs the sum of its moves' values: expected 3835.93, actual 3835.94"
    ]
