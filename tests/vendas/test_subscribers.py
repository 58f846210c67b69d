"""What finance tells an order, delivered by the relay (Celery eager: on
commit, in this process): its invoice → ``invoiced``, the invoice paid in full
→ ``paid``; a partial payment leaves it invoiced. The invoice and its postings
equal the order to the cent."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from erp.events import ReceivedEvent
from financeiro import interfaces as financeiro_interfaces
from financeiro import services as ledger
from financeiro.contract import AllocationInput
from financeiro.models import Invoice, JournalLine
from tests.estoque.factories import WarehouseFactory, stocked
from tests.financeiro.factories import account
from tests.vendas.factories import CustomerFactory, draft, line
from vendas import services, subscribers
from vendas.models import SalesOrder

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def balance(code: str) -> Decimal:
    lines = JournalLine.objects.filter(account=account(code))
    return sum((row.debit - row.credit for row in lines), Decimal("0.00"))


def test_an_order_is_invoiced_then_paid_and_the_books_follow_it():
    warehouse = WarehouseFactory()
    a = stocked(warehouse, quantity=10, unit_cost="3.3333")
    b = stocked(warehouse, quantity=10, unit_cost="1.0000")
    buyer = CustomerFactory(payment_terms_days=14)
    order = draft(
        line(a, "3", "19.99", discount_percent="12.5", tax_rate="17"),
        line(b, "1.5", "0.333", tax_rate="5"),
        customer=buyer,
        warehouse=warehouse,
    )
    services.order_confirm(order_id=order.pk)
    shipped = services.order_ship(order_id=order.pk)
    invoice = Invoice.objects.get(order_id=order.pk)
    assert (invoice.subtotal, invoice.discount_total, invoice.tax_total, invoice.total) == (
        shipped.subtotal,
        shipped.discount_total,
        shipped.tax_total,
        shipped.total,
    )
    assert invoice.due_date == shipped.shipped_on + datetime.timedelta(days=14)
    assert invoice.lines.count() == 2 and invoice.customer_code == buyer.code
    assert shipped.status == "invoiced" and shipped.invoice_number == invoice.number
    # Receivable = total; revenue and tax as the order's; COGS = what left the stock value.
    assert balance("1100") == shipped.total
    assert -balance("4000") == shipped.subtotal and -balance("2100") == shipped.tax_total
    assert balance("5000") == Decimal("11.50")  # 3 × 3.3333 → 10.00, plus 1.5 × 1.0000
    assert balance("1200") == ledger_stock_value()
    # A partial payment leaves the order invoiced; the rest makes it paid.
    part = Decimal("10.00")
    ledger.record_payment(
        customer_id=buyer.pk,
        date=shipped.shipped_on,
        amount=part,
        allocations=[AllocationInput(invoice_id=invoice.pk, amount=part)],
    )
    assert SalesOrder.objects.get(pk=order.pk).status == "invoiced"
    rest = shipped.total - part
    ledger.record_payment(
        customer_id=buyer.pk,
        date=shipped.shipped_on,
        amount=rest,
        allocations=[AllocationInput(invoice_id=invoice.pk, amount=rest)],
    )
    paid = SalesOrder.objects.get(pk=order.pk)
    assert (paid.status, paid.paid_on) == ("paid", shipped.shipped_on)
    assert balance("1100") == 0 and balance("1000") + balance("1010") == shipped.total


def ledger_stock_value() -> Decimal:
    return financeiro_interfaces.stock_value()


def test_an_invoice_finance_issued_by_hand_belongs_to_no_order_and_changes_none():
    order = draft()
    services.order_confirm(order_id=order.pk)
    before = SalesOrder.objects.get(pk=order.pk)
    event = ReceivedEvent(
        id=uuid.uuid4(),
        type="financeiro.InvoiceIssued",
        version=1,
        occurred_at=timezone.now(),
        payload={},
        data=subscribers.InvoiceIssued(invoice_id=uuid.uuid4(), number="INV-2026-000001", order_id=None),
    )
    subscribers.mark_order_invoiced(event)
    after = SalesOrder.objects.get(pk=order.pk)
    assert (after.status, after.invoice_id, after.updated_at) == ("confirmed", None, before.updated_at)


def test_a_payment_news_that_overtakes_the_invoice_news_still_marks_the_order_paid():
    order = draft()
    services.order_confirm(order_id=order.pk)
    SalesOrder.objects.filter(pk=order.pk).update(status="shipped")
    services.order_paid(order_id=order.pk, invoice_id=order.pk, paid_on=datetime.date(2026, 3, 1))
    services.order_invoiced(order_id=order.pk, invoice_id=order.pk, invoice_number="INV-2026-000009")
    paid = SalesOrder.objects.get(pk=order.pk)
    assert (paid.status, paid.invoice_number) == ("paid", "INV-2026-000009")
