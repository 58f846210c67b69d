"""vendas' services: drafts priced by the price list, half up per line;
confirm holding every line's stock or none; ship, cancel, and what happens to
a reservation when estoque's answer is lost or the order cannot be marked."""

import datetime
from decimal import Decimal

import pytest

from erp.db import alias
from erp.models import OutboxEvent
from estoque.models import Reservation, StockLevel
from financeiro import services as ledger
from financeiro.models import Invoice
from tests.estoque.factories import ProductFactory, WarehouseFactory, stocked
from tests.vendas.factories import CustomerFactory, draft, line
from vendas import interfaces, services
from vendas.contract import InvalidSalesInputError, OrderStateError, OutOfStockError, ReservationRefusedError
from vendas.models import Customer, DeletedOrder, ReservationAttempt, SalesOrder

pytestmark = pytest.mark.django_db(databases="__all__")

Status = SalesOrder.Status


def level(product, warehouse) -> tuple[Decimal, Decimal]:
    row = StockLevel.objects.get(product=product, warehouse=warehouse)
    return row.on_hand, row.reserved


def test_a_draft_is_numbered_per_year_and_priced_half_up_per_line():
    warehouse = WarehouseFactory()
    a, b = stocked(warehouse), stocked(warehouse)
    services.price_set(product_id=b.pk, unit_price="0.0333", tax_rate="12.5")
    first = draft(line(a, "3", "1.005", discount_percent="10", tax_rate="7"), warehouse=warehouse)
    second = draft(line(b, "7", None), warehouse=warehouse, order_date=datetime.date(2026, 5, 2))
    lines = list(first.lines.all())
    # 3 × 1.005 = 3.015 → 3.02; 10 % → 0.30 (0.302); 2.72 taxed 7 % → 0.19 (0.1904).
    assert (lines[0].discount, lines[0].subtotal, lines[0].tax, lines[0].line_total) == (
        Decimal("0.30"),
        Decimal("2.72"),
        Decimal("0.19"),
        Decimal("2.91"),
    )
    assert (first.subtotal, first.discount_total, first.tax_total, first.total) == (
        Decimal("2.72"),
        Decimal("0.30"),
        Decimal("0.19"),
        Decimal("2.91"),
    )
    # The price list's price and tax rate: 7 × 0.0333 = 0.2331 → 0.23; 12.5 % → 0.03 (0.02875).
    taken = second.lines.get()
    assert (taken.unit_price, taken.tax_rate, taken.subtotal, taken.tax) == (
        Decimal("0.0333"),
        Decimal("12.5"),
        Decimal("0.23"),
        Decimal("0.03"),
    )
    assert (taken.sku, taken.description) == (b.sku, b.name)


def test_numbers_have_no_gaps_in_a_year_and_a_deleted_drafts_number_is_kept():
    day = datetime.date(2026, 7, 1)
    orders = [draft(order_date=day) for _ in range(3)]
    assert [o.number for o in orders] == ["SO-2026-000001", "SO-2026-000002", "SO-2026-000003"]
    services.order_delete(orders[1])
    assert list(DeletedOrder.objects.values_list("number", flat=True)) == ["SO-2026-000002"]
    assert draft(order_date=day).number == "SO-2026-000004"
    assert draft(order_date=datetime.date(2027, 1, 2)).number == "SO-2027-000001"


def test_a_line_without_a_price_and_none_in_the_list_is_refused_on_the_line():
    warehouse = WarehouseFactory()
    priced, unpriced = stocked(warehouse), stocked(warehouse)
    with pytest.raises(InvalidSalesInputError) as refused:
        draft(line(priced), line(unpriced, unit_price=None), warehouse=warehouse)
    assert refused.value.errors[0].field == "lines.1.unit_price"
    assert not SalesOrder.objects.exists()


def test_unknown_or_inactive_customers_warehouses_and_products_are_400s_on_their_field():
    warehouse = WarehouseFactory()
    product = stocked(warehouse)
    cases = [
        ({"customer": CustomerFactory(is_active=False)}, "customer"),
        ({"warehouse": WarehouseFactory(is_active=False)}, "warehouse"),
    ]
    for fields, field in cases:
        with pytest.raises(InvalidSalesInputError) as refused:
            draft(line(product), **({"warehouse": warehouse} | fields))
        assert refused.value.errors[0].field == field
    with pytest.raises(InvalidSalesInputError) as refused:
        draft(line(product), line(ProductFactory(is_active=False)), warehouse=warehouse)
    assert refused.value.errors[0].field == "lines.1.product"
    assert not SalesOrder.objects.exists()


def test_confirm_reserves_every_line_and_publishes_order_confirmed():
    warehouse = WarehouseFactory()
    a, b = stocked(warehouse, quantity=5), stocked(warehouse, quantity=5)
    order = draft(line(a, "2"), line(b, "1"), line(a, "1"), warehouse=warehouse)
    confirmed = services.order_confirm(order_id=order.pk)
    assert confirmed.status == Status.CONFIRMED
    assert level(a, warehouse) == (Decimal("5.000"), Decimal("3.000"))
    assert level(b, warehouse) == (Decimal("5.000"), Decimal("1.000"))
    attempt = ReservationAttempt.objects.get()
    assert (attempt.order_ref, attempt.outcome) == (f"{order.pk}:1", "held")
    assert confirmed.reservation_ref == attempt.order_ref
    with pytest.raises(OrderStateError):
        services.order_confirm(order_id=order.pk)


def test_short_stock_is_a_conflict_naming_the_lines_and_holds_nothing():
    warehouse = WarehouseFactory()
    a, b = stocked(warehouse, quantity=5), stocked(warehouse, quantity=1)
    order = draft(line(a, "2"), line(b, "3"), warehouse=warehouse)
    with pytest.raises(OutOfStockError) as short:
        services.order_confirm(order_id=order.pk)
    body = short.value.extra["lines"]
    assert [(row["sku"], row["requested"], row["available"]) for row in body] == [(b.sku, "3.000", "1.000")]
    assert body[0]["line"] == str(order.lines.get(position=2).pk)
    assert level(a, warehouse)[1] == level(b, warehouse)[1] == Decimal("0")
    order.refresh_from_db()
    assert order.status == Status.DRAFT
    assert ReservationAttempt.objects.get().outcome == "released"


def test_a_lost_answer_from_estoque_releases_that_attempts_reference(monkeypatch):
    warehouse = WarehouseFactory()
    product = stocked(warehouse, quantity=5)
    order = draft(line(product, "2"), warehouse=warehouse)
    reserve = interfaces.reserve

    def reserved_then_timed_out(**kwargs):
        reserve(**kwargs)  # estoque holds the stock, but the answer never arrives
        raise TimeoutError("estoque did not answer")

    monkeypatch.setattr(interfaces, "reserve", reserved_then_timed_out)
    with pytest.raises(TimeoutError):
        services.order_confirm(order_id=order.pk)
    assert level(product, warehouse)[1] == Decimal("0")
    assert Reservation.objects.get().status == "released"
    assert ReservationAttempt.objects.get().outcome == "released"
    monkeypatch.undo()
    # The next attempt reserves under a new reference.
    assert services.order_confirm(order_id=order.pk).reservation_ref == f"{order.pk}:2"
    assert level(product, warehouse)[1] == Decimal("2.000")


def test_an_order_that_cannot_be_marked_confirmed_gives_its_stock_back(monkeypatch):
    warehouse = WarehouseFactory()
    product = stocked(warehouse, quantity=5)
    order = draft(line(product, "2"), warehouse=warehouse)
    reserve = interfaces.reserve

    def cancelled_meanwhile(**kwargs):
        held = reserve(**kwargs)
        services.order_cancel(order_id=order.pk, reason="customer called")
        return held

    monkeypatch.setattr(interfaces, "reserve", cancelled_meanwhile)
    with pytest.raises(OrderStateError):
        services.order_confirm(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == Status.CANCELLED
    assert level(product, warehouse)[1] == Decimal("0")
    assert ReservationAttempt.objects.get().outcome == "released"


def test_the_periodic_task_releases_what_a_failed_release_left_behind(monkeypatch):
    warehouse = WarehouseFactory()
    product = stocked(warehouse, quantity=5)
    order = draft(line(product, "2"), warehouse=warehouse)
    reserve = interfaces.reserve

    def reserved_then_lost(**kwargs):
        reserve(**kwargs)
        raise TimeoutError("lost")

    def estoque_down(**kwargs):
        raise ConnectionError("estoque is down")

    monkeypatch.setattr(interfaces, "reserve", reserved_then_lost)
    monkeypatch.setattr(interfaces, "release", estoque_down)
    with pytest.raises(TimeoutError):
        services.order_confirm(order_id=order.pk)
    assert level(product, warehouse)[1] == Decimal("2.000")  # still held, nobody's
    assert ReservationAttempt.objects.get().outcome == "release"
    assert services.release_stale_reservations() == 0  # estoque still down
    monkeypatch.undo()
    assert services.release_stale_reservations() == 1
    assert level(product, warehouse)[1] == Decimal("0")
    assert ReservationAttempt.objects.get().outcome == "released"


def test_a_pending_attempt_older_than_the_timeout_is_given_up_and_a_late_confirm_fails_cleanly(monkeypatch):
    warehouse = WarehouseFactory()
    product = stocked(warehouse, quantity=5)
    order = draft(line(product, "2"), warehouse=warehouse)
    reserve = interfaces.reserve

    def slow_reserve(**kwargs):
        # The task runs while the confirm waits for estoque: it gives the attempt up first.
        assert services.release_stale_reservations(older_than_seconds=0) == 1
        return reserve(**kwargs)

    monkeypatch.setattr(interfaces, "reserve", slow_reserve)
    with pytest.raises(ReservationRefusedError):  # estoque refuses a reference given up
        services.order_confirm(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == Status.DRAFT
    assert level(product, warehouse)[1] == Decimal("0")


@pytest.mark.django_db(transaction=True, databases="__all__")  # the relay delivers on commit
def test_ship_issues_the_reserved_stock_finance_invoices_it_and_cancel_is_refused_afterwards():
    warehouse = WarehouseFactory()
    product = stocked(warehouse, quantity=5, unit_cost="2.5000")
    order = draft(line(product, "2", "19.99", tax_rate="10"), warehouse=warehouse)
    services.order_confirm(order_id=order.pk)
    shipped = services.order_ship(order_id=order.pk)
    # The relay runs eagerly here: OrderShipped → financeiro's invoice → InvoiceIssued → invoiced.
    invoice = Invoice.objects.get(order_id=order.pk)
    assert (invoice.total, invoice.tax_total, invoice.due_date) == (
        Decimal("43.98"),
        Decimal("4.00"),
        shipped.shipped_on + datetime.timedelta(days=30),
    )
    assert (shipped.status, shipped.invoice_id, shipped.invoice_number) == (
        Status.INVOICED,
        invoice.pk,
        invoice.number,
    )
    assert level(product, warehouse) == (Decimal("3.000"), Decimal("0.000"))
    assert ReservationAttempt.objects.get().outcome == "shipped"
    for refused in (services.order_ship, services.order_cancel):
        with pytest.raises(OrderStateError):
            refused(order_id=order.pk)


@pytest.mark.django_db(transaction=True, databases="__all__")  # the relay delivers on commit
def test_a_month_end_customers_order_rests_shipped_until_its_month_has_ended():
    warehouse = WarehouseFactory()
    product = stocked(warehouse, quantity=5, unit_cost="2.5000")
    customer = CustomerFactory(invoicing=Customer.Invoicing.MONTH_END, payment_terms_days=15)
    order = draft(line(product, "2", "19.99", tax_rate="10"), customer=customer, warehouse=warehouse)
    services.order_confirm(order_id=order.pk)
    shipped = services.order_ship(order_id=order.pk)

    # Shipped and delivered to finance, which keeps it for month end: no invoice yet.
    assert (shipped.status, shipped.invoice_id) == (Status.SHIPPED, None)
    assert not Invoice.objects.exists()
    (payload,) = (
        OutboxEvent.objects.using(alias("vendas"))
        .filter(event_type="vendas.OrderShipped")
        .values_list("payload", flat=True)
    )
    assert payload["invoicing"] == "month_end"
    assert level(product, warehouse) == (Decimal("3.000"), Decimal("0.000"))
    # Still owed to the credit check: a shipped order finance has not invoiced.
    assert services.credit_exposure(services.order_get(order.pk), Decimal("0")) >= shipped.total

    month = shipped.shipped_on.replace(day=1)
    assert ledger.bill_month_end(as_of=shipped.shipped_on) == 0
    assert services.order_get(order.pk).status == Status.SHIPPED

    next_month = (month + datetime.timedelta(days=31)).replace(day=1)
    assert ledger.bill_month_end(as_of=next_month) == 1
    invoice = Invoice.objects.get(order_id=order.pk)
    last_day = next_month - datetime.timedelta(days=1)
    assert (invoice.issue_date, invoice.due_date) == (last_day, last_day + datetime.timedelta(days=15))
    assert (
        (invoice.total, invoice.tax_total)
        == (shipped.total, shipped.tax_total)
        == (
            Decimal("43.98"),
            Decimal("4.00"),
        )
    )
    invoiced = services.order_get(order.pk)
    assert (invoiced.status, invoiced.invoice_id, invoiced.invoice_number) == (
        Status.INVOICED,
        invoice.pk,
        invoice.number,
    )


def test_a_customers_invoicing_is_one_of_the_two_ways():
    created = services.customer_create(code="ESTRELA", name="Estrela", invoicing="month_end")
    assert services.customer(customer_id=created.pk).invoicing == "month_end"
    assert services.customer_create(code="OTHER", name="Other").invoicing == "per_shipment"
    for bad in ("weekly", "", None):
        with pytest.raises(InvalidSalesInputError) as refused:
            services.customer_update(created, invoicing=bad)
        assert refused.value.errors[0].field == "invoicing"
    assert Customer.objects.get(pk=created.pk).invoicing == "month_end"


def test_cancel_releases_a_confirmed_orders_stock():
    warehouse = WarehouseFactory()
    product = stocked(warehouse, quantity=5)
    order = draft(line(product, "4"), warehouse=warehouse)
    services.order_confirm(order_id=order.pk)
    cancelled = services.order_cancel(order_id=order.pk, reason="changed their mind")
    assert (cancelled.status, cancelled.status_reason) == (Status.CANCELLED, "changed their mind")
    assert level(product, warehouse)[1] == Decimal("0")
    with pytest.raises(OrderStateError):
        services.order_confirm(order_id=order.pk)


def test_a_confirmed_order_cannot_be_edited_or_deleted():
    order = draft()
    services.order_confirm(order_id=order.pk)
    with pytest.raises(OrderStateError):
        services.order_update(order, notes="too late")
    with pytest.raises(OrderStateError):
        services.order_delete(order)


def test_a_draft_being_confirmed_cannot_be_changed_until_estoque_has_answered(monkeypatch):
    warehouse = WarehouseFactory()
    product = stocked(warehouse, quantity=5)
    order = draft(line(product, "2"), warehouse=warehouse)
    reserve = interfaces.reserve
    refused = []

    def edited_meanwhile(**kwargs):
        with pytest.raises(OrderStateError) as error:
            services.order_update(order, lines=[line(product, "5")])
        refused.append(error.value)
        return reserve(**kwargs)

    monkeypatch.setattr(interfaces, "reserve", edited_meanwhile)
    confirmed = services.order_confirm(order_id=order.pk)
    assert refused and "being confirmed" in refused[0].message
    assert confirmed.lines.get().quantity == Decimal("2.000")
    assert level(product, warehouse)[1] == Decimal("2.000")


def test_an_inactive_customers_draft_is_not_confirmed():
    order = draft()
    Customer.objects.filter(pk=order.customer_id).update(is_active=False)
    with pytest.raises(OrderStateError) as refused:
        services.order_confirm(order_id=order.pk)
    assert "inactive" in refused.value.message
    assert not ReservationAttempt.objects.exists()
