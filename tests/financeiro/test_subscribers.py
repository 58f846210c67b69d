"""The postings other apps' facts cause, delivered by the relay (Celery eager:
on commit, in this process): a receipt, an issue and a count in estoque post
to inventory; a shipped order (vendas is built later: the event is published
here, vendas/events.py being EVENTS.md's shape) becomes an invoice and its posting. The inventory
account follows estoque's stock value to the cent."""

import datetime
import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest

from erp.db import alias, atomic
from erp.events import DomainEvent, publish
from erp.models import Delivery
from estoque import services as stock
from estoque.contract import CountLine, Line, ReceiptLine
from financeiro import interfaces, services
from financeiro.models import Invoice, JournalEntry, JournalLine, PendingInvoice
from tests.estoque.factories import ProductFactory, WarehouseFactory
from tests.financeiro.factories import account
from vendas import events

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def balance_of(code: str) -> Decimal:
    lines = JournalLine.objects.filter(account=account(code))
    return sum((line.debit - line.credit for line in lines), Decimal("0.00"))


def test_stock_documents_post_to_inventory_and_it_equals_the_stock_value():
    warehouse, product = WarehouseFactory(), ProductFactory()
    stock.receive(
        warehouse_id=warehouse.pk,
        reference="PO-1",
        lines=[ReceiptLine(product_id=product.pk, quantity=Decimal("3"), unit_cost=Decimal("3.3333"))],
    )
    assert (balance_of("1200"), balance_of("2000")) == (Decimal("10.00"), Decimal("-10.00"))
    stock.reserve(order_ref="SO-1", warehouse_id=warehouse.pk, lines=[Line(product.pk, Decimal("1"))])
    stock.ship(order_ref="SO-1")
    stock.adjust(warehouse_id=warehouse.pk, reason="count", lines=[CountLine(product.pk, Decimal("1"))])
    # 10.00 in; a third of it out (3.33); half of the rest lost (3.34).
    assert balance_of("5000") == Decimal("3.33")
    assert balance_of("5100") == Decimal("3.34")
    assert balance_of("1200") == interfaces.stock_value() == Decimal("3.33")
    sources = set(JournalEntry.objects.values_list("source", flat=True))
    assert sources == {"estoque.receipt", "estoque.issue", "estoque.adjustment"}


def test_a_receipt_at_no_cost_posts_nothing():
    warehouse, product = WarehouseFactory(), ProductFactory()
    stock.receive(
        warehouse_id=warehouse.pk,
        reference="GIFT-1",
        lines=[ReceiptLine(product_id=product.pk, quantity=Decimal("2"), unit_cost=Decimal("0"))],
    )
    assert not JournalEntry.objects.exists()
    assert set(Delivery.objects.using(alias("estoque")).values_list("status", flat=True)) == {"delivered"}


def shipped(total="110.55", **fields) -> events.OrderShipped:
    line = events.ShippedLine(
        product_id=uuid.uuid4(),
        sku="SKU-1",
        description="Widget",
        quantity=Decimal("3"),
        unit_price=Decimal("33.5000"),
        discount_percent=Decimal("0"),
        tax_rate=Decimal("10"),
        subtotal=Decimal("100.50"),
        tax=Decimal("10.05"),
        total=Decimal("110.55"),
    )
    return events.OrderShipped(
        order_id=fields.pop("order_id", uuid.uuid4()),
        number="SO-2026-000001",
        customer=events.ShippedCustomer(id=uuid.uuid4(), code="C1", name="Acme Ltda", tax_id="123"),
        warehouse_id=uuid.uuid4(),
        shipped_on=fields.pop("shipped_on", datetime.date(2026, 3, 30)),
        payment_terms_days=30,
        invoicing=fields.pop("invoicing", "per_shipment"),
        currency="BRL",
        lines=[line],
        subtotal=Decimal("100.50"),
        discount_total=Decimal("0.00"),
        tax_total=Decimal("10.05"),
        total=Decimal(total),
        **fields,
    )


def publish_from_vendas(event: events.OrderShipped) -> None:
    with atomic("vendas"):
        publish(event)


def test_a_shipped_order_is_invoiced_once_due_after_its_payment_terms():
    event = shipped()
    publish_from_vendas(event)
    publish_from_vendas(shipped(order_id=event.order_id))  # the order shipped twice: one invoice
    invoice = Invoice.objects.get(order_id=event.order_id)
    assert (invoice.issue_date, invoice.due_date) == (datetime.date(2026, 3, 30), datetime.date(2026, 4, 29))
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (
        Decimal("100.50"),
        Decimal("10.05"),
        Decimal("110.55"),
    )
    assert (invoice.customer_name, invoice.order_number, invoice.number) == (
        "Acme Ltda",
        "SO-2026-000001",
        "INV-2026-000001",
    )
    assert (balance_of("1100"), balance_of("4000"), balance_of("2100")) == (
        Decimal("110.55"),
        Decimal("-100.50"),
        Decimal("-10.05"),
    )
    assert services.receivable_balance(customer_id=event.customer.id) == Decimal("110.55")


def test_an_order_whose_totals_disagree_with_its_lines_is_not_invoiced():
    publish_from_vendas(shipped(total="110.56"))
    assert not Invoice.objects.exists()
    delivery = Delivery.objects.using(alias("vendas")).get(subscriber="financeiro.invoice_shipped_order")
    assert delivery.status in ("pending", "failed", "dead")
    assert "110.56" in delivery.last_error


def test_a_fact_of_a_closed_month_is_booked_on_the_first_open_day():
    services.close_period(year=2026, month=3)
    publish_from_vendas(shipped())
    invoice = Invoice.objects.get()
    assert invoice.issue_date == datetime.date(2026, 3, 30)
    assert invoice.entry.date == datetime.date(2026, 4, 1)


# --- Customers invoiced at month end ------------------------------------------------------------


def test_a_month_end_customers_shipment_is_kept_for_month_end_not_invoiced():
    event = shipped(invoicing="month_end", shipped_on=datetime.date(2026, 3, 10))
    publish_from_vendas(event)
    publish_from_vendas(shipped(invoicing="month_end", order_id=event.order_id))  # shipped twice: kept once

    assert not Invoice.objects.exists()
    assert services.receivable_balance(customer_id=event.customer.id) == Decimal("0.00")
    pending = PendingInvoice.objects.get()
    assert (pending.order_id, pending.order_number, pending.customer_name, pending.currency) == (
        event.order_id,
        "SO-2026-000001",
        "Acme Ltda",
        "BRL",
    )
    assert (pending.shipped_on, pending.bills_on, pending.total, pending.tax_total) == (
        datetime.date(2026, 3, 10),
        datetime.date(2026, 3, 31),
        Decimal("110.55"),
        Decimal("10.05"),
    )
    deliveries = Delivery.objects.using(alias("vendas")).filter(subscriber="financeiro.invoice_shipped_order")
    assert set(deliveries.values_list("status", flat=True)) == {"delivered"}

    assert services.bill_month_end(as_of=datetime.date(2026, 4, 1)) == 1
    invoice = Invoice.objects.get(order_id=event.order_id)
    assert (invoice.issue_date, invoice.due_date, invoice.total) == (
        datetime.date(2026, 3, 31),
        datetime.date(2026, 4, 30),
        Decimal("110.55"),
    )
    assert (balance_of("1100"), balance_of("4000"), balance_of("2100")) == (
        Decimal("110.55"),
        Decimal("-100.50"),
        Decimal("-10.05"),
    )


def test_a_month_end_shipment_whose_totals_disagree_is_not_kept():
    publish_from_vendas(shipped(total="110.56", invoicing="month_end"))
    assert not PendingInvoice.objects.exists() and not Invoice.objects.exists()
    delivery = Delivery.objects.using(alias("vendas")).get(subscriber="financeiro.invoice_shipped_order")
    assert delivery.status in ("pending", "failed", "dead")
    assert "110.56" in delivery.last_error


def test_an_invoicing_financeiro_does_not_know_is_neither_invoiced_nor_kept():
    publish_from_vendas(shipped(invoicing="weekly"))
    assert not PendingInvoice.objects.exists() and not Invoice.objects.exists()
    delivery = Delivery.objects.using(alias("vendas")).get(subscriber="financeiro.invoice_shipped_order")
    assert delivery.status in ("pending", "failed", "dead")
    assert "weekly" in delivery.last_error


@dataclass(frozen=True, kw_only=True)
class OrderShippedBeforeMonthEndBilling(DomainEvent):
    """vendas.OrderShipped as published before it carried ``invoicing`` (still in an outbox)."""

    event_type = "vendas.OrderShipped"
    order_id: uuid.UUID
    number: str
    customer: events.ShippedCustomer
    shipped_on: datetime.date
    payment_terms_days: int
    currency: str
    lines: list[events.ShippedLine]
    tax_total: Decimal
    total: Decimal


def test_a_shipment_published_without_invoicing_is_invoiced_at_once():
    new = shipped()
    old = OrderShippedBeforeMonthEndBilling(
        **{name: getattr(new, name) for name in ("order_id", "number", "customer", "shipped_on")},
        **{
            name: getattr(new, name)
            for name in ("payment_terms_days", "currency", "lines", "tax_total", "total")
        },
    )
    assert "invoicing" not in old.payload()
    with atomic("vendas"):
        publish(old)
    assert Invoice.objects.get(order_id=new.order_id).issue_date == datetime.date(2026, 3, 30)
    assert not PendingInvoice.objects.exists()
