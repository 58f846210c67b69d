"""Order to cash through the HTTP API with a real Celery worker (a broker of
this module's own): stock, an order, its confirmation and shipment in the
test's requests; finance's invoice, vendas' status changes and the approval
run's steps in the worker, as in production. Runs on one database and in the
split-database run, where each app's tables live on a database of its own."""

from __future__ import annotations

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from estoque.models import StockLevel
from tests.concurrency import burst
from tests.conftest import token_for
from tests.estoque.factories import WarehouseFactory
from tests.worker import wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("real_worker"),  # tests/conftest.py: a worker and a broker of this module's own
]

API = "/api/v1/"
WAIT = 45


@pytest.fixture
def staff(client_as):
    return {
        "sales": client_as("sales", "manager"),
        "warehouse": client_as("warehouse"),
        "finance": client_as("finance"),
        "manager": client_as("manager"),
    }


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.content
    return response.json()


def product(staff, sku: str) -> dict:
    return ok(
        staff["warehouse"].post(f"{API}estoque/products/", {"sku": sku, "name": sku}, format="json"), 201
    )


def receive(staff, warehouse, item: dict, quantity: str, unit_cost: str) -> None:
    ok(
        staff["warehouse"].post(
            f"{API}estoque/receipts/",
            {
                "warehouse": str(warehouse.pk),
                "reference": f"PO-{item['sku']}-{quantity}",
                "lines": [{"product": item["id"], "quantity": quantity, "unit_cost": unit_cost}],
            },
            format="json",
        ),
        201,
    )


def customer(staff, code: str, credit_limit: str = "0.00", terms: int = 30) -> dict:
    body = {"code": code, "name": f"{code} Ltda", "credit_limit": credit_limit, "payment_terms_days": terms}
    return ok(staff["sales"].post(f"{API}vendas/customers/", body, format="json"), 201)


def order(client, buyer: dict, warehouse, *lines: dict) -> dict:
    body = {"customer": buyer["id"], "warehouse": str(warehouse.pk), "lines": list(lines)}
    return ok(client.post(f"{API}vendas/orders/", body, format="json"), 201)


def status_of(client, placed: dict) -> str:
    return ok(client.get(f"{API}vendas/orders/{placed['id']}/"))["status"]


def reached(client, placed: dict, status: str) -> dict:
    return wait_until(
        lambda: (
            (found := ok(client.get(f"{API}vendas/orders/{placed['id']}/")))["status"] == status and found
        ),
        WAIT,
        message=f"order {placed['number']} to become {status}",
    )


def books_are_clean() -> None:
    for command in (("stock_check",), ("ledger_check",)):
        out = StringIO()
        call_command(*command, stdout=out)  # exits non-zero (CommandError) on any difference


def test_receive_order_confirm_ship_invoice_pay(staff):
    warehouse = WarehouseFactory()
    chair, desk = product(staff, "CHAIR-1"), product(staff, "DESK-1")
    receive(staff, warehouse, chair, "10", "45.5000")
    receive(staff, warehouse, desk, "4", "120.3333")
    buyer = customer(staff, "ACME", terms=14)
    placed = order(
        staff["sales"],
        buyer,
        warehouse,
        {
            "product": chair["id"],
            "quantity": "3",
            "unit_price": "89.90",
            "discount_percent": "7.5",
            "tax_rate": "17",
        },
        {"product": desk["id"], "quantity": "1", "unit_price": "249.99", "tax_rate": "12"},
    )
    assert ok(staff["sales"].post(f"{API}vendas/orders/{placed['id']}/confirm/"))["status"] == "confirmed"
    shipped = ok(staff["warehouse"].post(f"{API}vendas/orders/{placed['id']}/ship/"))
    assert shipped["status"] in ("shipped", "invoiced")

    invoice = wait_until(
        lambda: next(
            iter(ok(staff["finance"].get(f"{API}financeiro/invoices/", {"order": placed["id"]}))["results"]),
            None,
        ),
        WAIT,
        message="finance to invoice the shipped order",
    )
    assert (invoice["subtotal"], invoice["tax_total"], invoice["total"]) == (
        shipped["subtotal"],
        shipped["tax_total"],
        shipped["total"],
    )
    due = datetime.date.fromisoformat(shipped["shipped_on"]) + datetime.timedelta(days=14)
    assert invoice["due_date"] == due.isoformat() and invoice["customer"] == buyer["id"]
    reached(staff["sales"], placed, "invoiced")

    rows = {
        row["code"]: Decimal(row["balance"])
        for row in ok(staff["finance"].get(f"{API}financeiro/reports/trial-balance/"))["rows"]
    }
    total, tax = Decimal(shipped["total"]), Decimal(shipped["tax_total"])
    cost = Decimal("136.50") + Decimal("120.33")  # 3 × 45.5000, 1 × 120.3333 at average cost
    assert rows["1100"] == total  # receivables
    assert rows["4000"] == -(total - tax) and rows["2100"] == -tax  # revenue, taxes payable
    assert rows["5000"] == cost  # cost of goods sold
    stock_value = sum(
        Decimal(p["stock_value"]) for p in ok(staff["warehouse"].get(f"{API}estoque/products/"))["results"]
    )
    assert rows["1200"] == stock_value == Decimal("455.00") + Decimal("481.33") - cost  # inventory
    report = ok(staff["finance"].get(f"{API}financeiro/reports/trial-balance/"))
    assert report["total_debit"] == report["total_credit"]

    def pay(amount: str) -> None:
        body = {
            "customer": buyer["id"],
            "date": shipped["shipped_on"],
            "amount": amount,
            "method": "bank_transfer",
            "allocations": [{"invoice": invoice["id"], "amount": amount}],
        }
        ok(staff["finance"].post(f"{API}financeiro/payments/", body, format="json"), 201)

    part = Decimal("100.00")
    pay(str(part))
    partly = ok(staff["finance"].get(f"{API}financeiro/invoices/{invoice['id']}/"))
    assert partly["status"] == "partially_paid" and Decimal(partly["balance"]) == total - part
    pay(str(total - part))
    assert ok(staff["finance"].get(f"{API}financeiro/invoices/{invoice['id']}/"))["status"] == "paid"
    paid = reached(staff["sales"], placed, "paid")
    assert paid["invoice_number"] == invoice["number"]
    books_are_clean()


def test_over_credit_approval_rejection_cancel_and_short_stock(staff, client_as):
    warehouse = WarehouseFactory()
    lamp = product(staff, "LAMP-1")
    receive(staff, warehouse, lamp, "5", "10.0000")
    careful = customer(staff, "CAREFUL", credit_limit="50.00")
    line = {"product": lamp["id"], "quantity": "2", "unit_price": "30.00"}

    # Over the limit: a manager approves over the workflows API; the creator may not.
    first = order(staff["sales"], careful, warehouse, line)
    pending = ok(staff["sales"].post(f"{API}vendas/orders/{first['id']}/confirm/"))
    assert pending["status"] == "pending_approval" and pending["workflow"]
    run = f"{API}workflows/{pending['workflow']}/"
    wait_until(
        lambda: ok(staff["manager"].get(run))["status"] == "waiting", WAIT, message="the approval to wait"
    )
    # The creator holds the manager role too (staff fixture), and still may not approve.
    refused = staff["sales"].post(f"{run}continue/", {"input": {"approved": True}}, format="json")
    assert refused.status_code == 403
    ok(
        staff["manager"].post(
            f"{run}continue/", {"input": {"approved": True, "comment": "ok"}}, format="json"
        ),
        202,
    )
    reached(staff["sales"], first, "confirmed")
    assert StockLevel.objects.get(product_id=lamp["id"]).reserved == Decimal("2")

    # Rejected: cancelled with the manager's comment.
    second = order(staff["sales"], careful, warehouse, line)
    pending = ok(staff["sales"].post(f"{API}vendas/orders/{second['id']}/confirm/"))
    run = f"{API}workflows/{pending['workflow']}/"
    wait_until(
        lambda: ok(staff["manager"].get(run))["status"] == "waiting", WAIT, message="the approval to wait"
    )
    answer = {"input": {"approved": False, "comment": "too much already"}}
    ok(staff["manager"].post(f"{run}continue/", answer, format="json"), 202)
    assert "too much already" in reached(staff["sales"], second, "cancelled")["status_reason"]

    # Cancel gives the stock back.
    ok(staff["sales"].post(f"{API}vendas/orders/{first['id']}/cancel/"))
    assert StockLevel.objects.get(product_id=lamp["id"]).reserved == Decimal("0")

    # Short stock: 409 naming the line, nothing held.
    free = customer(staff, "FREE")
    short = order(staff["sales"], free, warehouse, {**line, "quantity": "6"})
    response = staff["sales"].post(f"{API}vendas/orders/{short['id']}/confirm/")
    assert response.status_code == 409 and response.json()["code"] == "insufficient_stock"
    assert response.json()["lines"][0]["line"] == short["lines"][0]["id"]
    assert response.json()["lines"][0]["available"] == "5.000"
    assert status_of(staff["sales"], short) == "draft"
    books_are_clean()


def test_thirty_concurrent_confirms_never_oversell(staff):
    warehouse = WarehouseFactory()
    scarce = product(staff, "SCARCE-1")
    receive(staff, warehouse, scarce, "10", "5.0000")
    buyer = customer(staff, "RUSH")
    placed = [
        order(
            staff["sales"], buyer, warehouse, {"product": scarce["id"], "quantity": "1", "unit_price": "9.00"}
        )
        for _ in range(30)
    ]
    token = token_for(staff["sales"].user)

    def confirm(order_id: str):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client.post(f"{API}vendas/orders/{order_id}/confirm/").status_code

    codes = burst([lambda order_id=o["id"]: confirm(order_id) for o in placed])
    assert sorted(codes) == [200] * 10 + [409] * 20
    level = StockLevel.objects.get(product_id=scarce["id"], warehouse=warehouse)
    assert (level.on_hand, level.reserved) == (Decimal("10.000"), Decimal("10.000"))
    statuses = [status_of(staff["sales"], o) for o in placed]
    assert statuses.count("confirmed") == 10 and statuses.count("draft") == 20
    books_are_clean()
