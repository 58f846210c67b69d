"""vendas' REST API as API.md states it: paths, fields, status codes and
problem+json bodies, who may write, and what each order transition does."""

from decimal import Decimal

import pytest

from estoque.models import StockLevel
from tests.estoque.factories import WarehouseFactory, stocked
from tests.vendas.factories import CustomerFactory, draft, line
from vendas import services
from vendas.models import Customer, SalesOrder

pytestmark = pytest.mark.django_db(databases="__all__")

API = "/api/v1/vendas/"
PROBLEM = "application/problem+json"
ORDER_FIELDS = {
    "id",
    "number",
    "customer",
    "warehouse",
    "status",
    "order_date",
    "lines",
    "subtotal",
    "discount_total",
    "tax_total",
    "total",
    "workflow",
}
LINE_FIELDS = {
    "id",
    "product",
    "sku",
    "description",
    "quantity",
    "unit_price",
    "discount_percent",
    "tax_rate",
    "line_total",
}


@pytest.fixture
def sales(client_as):
    return client_as("sales")


@pytest.fixture
def stock():
    warehouse = WarehouseFactory()
    return warehouse, stocked(warehouse, quantity=10), stocked(warehouse, quantity=1)


def order_body(customer, warehouse, *lines):
    return {"customer": str(customer.pk), "warehouse": str(warehouse.pk), "lines": list(lines)}


def test_sales_creates_a_customer_and_a_taken_code_is_a_400_on_code(sales):
    body = {
        "code": "ACME",
        "name": "Acme Ltda",
        "tax_id": "12.345.678/0001-90",
        "email": "buy@acme.example",
        "credit_limit": "5000.00",
        "payment_terms_days": 45,
    }
    created = sales.post(f"{API}customers/", body, format="json")
    assert created.status_code == 201, created.content
    assert {
        "id",
        "code",
        "name",
        "tax_id",
        "email",
        "credit_limit",
        "payment_terms_days",
        "is_active",
    } <= set(created.json())
    assert created.json()["credit_limit"] == "5000.00"
    again = sales.post(f"{API}customers/", body, format="json")
    assert again.status_code == 400 and again["Content-Type"] == PROBLEM
    assert again.json()["errors"][0]["field"] == "code"
    listed = sales.get(f"{API}customers/", {"search": "acme"}).json()
    assert listed["count"] == 1


def test_a_customer_with_orders_cannot_be_deleted(sales):
    order = draft()
    response = sales.delete(f"{API}customers/{order.customer_id}/")
    assert response.status_code == 409 and response.json()["code"] == "customer_in_use"


def test_one_price_per_product_and_an_unknown_product_is_a_400(sales, stock):
    _warehouse, product, _other = stock
    created = sales.post(
        f"{API}prices/", {"product": str(product.pk), "unit_price": "12.5000"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["product"] == str(product.pk) and created.json()["sku"] == product.sku
    second = sales.post(f"{API}prices/", {"product": str(product.pk), "unit_price": "13"}, format="json")
    assert second.status_code == 400 and second.json()["errors"][0]["field"] == "product"
    unknown = sales.post(
        f"{API}prices/", {"product": "00000000-0000-4000-8000-000000000000", "unit_price": "1"}, format="json"
    )
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "product"
    changed = sales.patch(f"{API}prices/{created.json()['id']}/", {"unit_price": "11.90"}, format="json")
    assert changed.status_code == 200 and changed.json()["unit_price"] == "11.9000"


def test_an_order_is_created_as_a_draft_priced_from_the_list(sales, stock):
    warehouse, product, _other = stock
    services.price_set(product_id=product.pk, unit_price="19.90", tax_rate="10")
    customer = CustomerFactory()
    response = sales.post(
        f"{API}orders/",
        order_body(
            customer, warehouse, {"product": str(product.pk), "quantity": "3", "discount_percent": "5"}
        ),
        format="json",
    )
    assert response.status_code == 201, response.content
    order = response.json()
    assert set(order) >= ORDER_FIELDS and set(order["lines"][0]) >= LINE_FIELDS
    assert order["status"] == "draft" and order["number"].startswith("SO-")
    assert order["workflow"] is None
    # 3 × 19.90 = 59.70, less 5 % (2.99) = 56.71, tax 10 % = 5.67.
    assert order["lines"][0]["unit_price"] == "19.9000"
    assert (order["subtotal"], order["discount_total"], order["tax_total"], order["total"]) == (
        "56.71",
        "2.99",
        "5.67",
        "62.38",
    )
    assert order["lines"][0]["line_total"] == "62.38"
    assert sales.get(f"{API}orders/{order['id']}/").json() == order


def test_bad_order_input_is_a_400_on_the_field_and_writes_nothing(sales, stock):
    warehouse, product, _other = stock
    customer = CustomerFactory()
    cases = [
        ({"product": str(product.pk), "quantity": "0", "unit_price": "1"}, "lines.0.quantity"),
        ({"product": str(product.pk), "quantity": "1.0001", "unit_price": "1"}, "lines.0.quantity"),
        ({"product": str(product.pk), "quantity": "1"}, "lines.0.unit_price"),
        (
            {"product": str(product.pk), "quantity": "1", "unit_price": "1", "discount_percent": "101"},
            "lines.0.discount_percent",
        ),
        (
            {"product": "00000000-0000-4000-8000-000000000000", "quantity": "1", "unit_price": "1"},
            "lines.0.product",
        ),
    ]
    for bad_line, field in cases:
        response = sales.post(f"{API}orders/", order_body(customer, warehouse, bad_line), format="json")
        assert response.status_code == 400, (bad_line, response.content)
        assert response["Content-Type"] == PROBLEM
        assert response.json()["errors"][0]["field"] == field, response.json()
    no_lines = sales.post(f"{API}orders/", order_body(customer, warehouse), format="json")
    assert no_lines.status_code == 400
    assert not SalesOrder.objects.exists()


def test_a_draft_can_be_changed_and_deleted_but_not_once_confirmed(sales, stock):
    warehouse, product, _other = stock
    order = draft(line(product, "1"), warehouse=warehouse)
    changed = sales.patch(
        f"{API}orders/{order.pk}/",
        {"lines": [{"product": str(product.pk), "quantity": "2", "unit_price": "5.00"}], "notes": "rush"},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["total"] == "10.00" and len(changed.json()["lines"]) == 1
    assert sales.post(f"{API}orders/{order.pk}/confirm/").json()["status"] == "confirmed"
    refused = sales.patch(f"{API}orders/{order.pk}/", {"notes": "late"}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "invalid_transition"
    assert sales.delete(f"{API}orders/{order.pk}/").status_code == 409
    other = draft(line(product, "1"), warehouse=warehouse)
    assert sales.delete(f"{API}orders/{other.pk}/").status_code == 204
    assert sales.get(f"{API}orders/{other.pk}/").status_code == 404


def test_confirm_with_short_stock_is_a_409_naming_the_lines(sales, stock):
    warehouse, plenty, scarce = stock
    order = draft(line(plenty, "2"), line(scarce, "3"), warehouse=warehouse)
    response = sales.post(f"{API}orders/{order.pk}/confirm/")
    assert response.status_code == 409 and response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["code"] == "insufficient_stock"
    assert body["lines"] == [
        {
            "line": str(order.lines.get(position=2).pk),
            "product": str(scarce.pk),
            "sku": scarce.sku,
            "requested": "3.000",
            "available": "1.000",
        }
    ]
    assert not StockLevel.objects.filter(reserved__gt=0).exists()
    assert sales.get(f"{API}orders/{order.pk}/").json()["status"] == "draft"


def test_confirm_then_cancel_releases_and_later_transitions_are_409s(sales, stock):
    warehouse, product, _other = stock
    order = draft(line(product, "4"), warehouse=warehouse)
    confirmed = sales.post(f"{API}orders/{order.pk}/confirm/")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    assert StockLevel.objects.get(product=product).reserved == Decimal("4")
    cancelled = sales.post(f"{API}orders/{order.pk}/cancel/", {"reason": "duplicate"}, format="json")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert StockLevel.objects.get(product=product).reserved == Decimal("0")
    for action in ("confirm", "ship", "cancel"):
        again = sales.post(f"{API}orders/{order.pk}/{action}/")
        assert again.status_code == 409 and again.json()["code"] == "invalid_transition", action


def test_shipping_a_draft_is_a_409_and_unknown_orders_are_404s(client_as, stock):
    order = draft()
    warehouse_user = client_as("warehouse")
    assert warehouse_user.post(f"{API}orders/{order.pk}/ship/").status_code == 409
    missing = "00000000-0000-4000-8000-000000000000"
    for action in ("confirm", "ship", "cancel"):
        assert warehouse_user.post(f"{API}orders/{missing}/{action}/").status_code in (403, 404)
    assert client_as("sales").post(f"{API}orders/{missing}/confirm/").status_code == 404


def test_orders_filter_by_status_and_customer(sales, stock):
    warehouse, product, _other = stock
    first, second = draft(line(product), warehouse=warehouse), draft(line(product), warehouse=warehouse)
    services.order_confirm(order_id=second.pk)
    by_status = sales.get(f"{API}orders/", {"status": "confirmed"}).json()
    assert [row["id"] for row in by_status["results"]] == [str(second.pk)]
    by_customer = sales.get(f"{API}orders/", {"customer": str(first.customer_id)}).json()
    assert [row["id"] for row in by_customer["results"]] == [str(first.pk)]
    assert sales.get(f"{API}orders/", {"status": "nonsense"}).status_code == 400


def test_only_sales_writes_orders_and_warehouse_may_ship(client_as, stock):
    warehouse, product, _other = stock
    order = draft(line(product), warehouse=warehouse)
    viewer, keeper = client_as("viewer"), client_as("warehouse")
    assert viewer.get(f"{API}orders/{order.pk}/").status_code == 200
    assert viewer.post(f"{API}orders/{order.pk}/confirm/").status_code == 403
    assert keeper.post(f"{API}orders/{order.pk}/confirm/").status_code == 403
    services.order_confirm(order_id=order.pk)
    assert keeper.post(f"{API}orders/{order.pk}/cancel/").status_code == 403


def test_a_customer_is_invoiced_per_shipment_unless_set_to_month_end_and_an_unknown_way_is_a_400(sales):
    body = {"code": "ESTRELA", "name": "Supermercado Estrela Ltda", "payment_terms_days": 30}
    created = sales.post(f"{API}customers/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["invoicing"] == "per_shipment"
    url = f"{API}customers/{created.json()['id']}/"

    changed = sales.patch(url, {"invoicing": "month_end"}, format="json")
    assert changed.status_code == 200 and changed.json()["invoicing"] == "month_end"
    assert sales.get(url).json()["invoicing"] == "month_end"

    for bad in ("weekly", "", None, 1, ["month_end"]):
        refused = sales.patch(url, {"invoicing": bad}, format="json")
        assert refused.status_code == 400 and refused["Content-Type"] == PROBLEM, (bad, refused.content)
        assert refused.json()["errors"][0]["field"] == "invoicing"
    other = sales.post(f"{API}customers/", body | {"code": "OTHER", "invoicing": "yearly"}, format="json")
    assert other.status_code == 400 and other.json()["errors"][0]["field"] == "invoicing"
    assert Customer.objects.get(code="ESTRELA").invoicing == "month_end"
    assert not Customer.objects.filter(code="OTHER").exists()
