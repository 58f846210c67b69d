"""financeiro's factories. Entries, invoices and payments go through the
services, so lines, day balances and invoice balances always agree, as they
would in production."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from erp.db import alias
from erp.money import line_amounts
from financeiro import services
from financeiro.contract import AllocationInput, CustomerSnapshot, EntryLineInput, InvoiceLineInput
from financeiro.models import Account, PendingInvoice

DAY = datetime.date(2026, 3, 14)


def account(code: str) -> Account:
    """An account of the default chart (restored when a transactional test emptied it)."""
    found = Account.objects.using(alias("financeiro")).filter(code=code).first()
    if found is None:
        services.chart_install()
        found = Account.objects.using(alias("financeiro")).get(code=code)
    return found


def post(day: datetime.date = DAY, *lines: tuple[str, str, str], **fields):
    """An entry of ``(account code, debit, credit)`` lines."""
    return services.post_entry(
        date=day,
        lines=[
            EntryLineInput(account_id=account(code).id, debit=Decimal(debit), credit=Decimal(credit))
            for code, debit, credit in lines
        ],
        **fields,
    )


def customer(name: str = "Acme Ltda") -> CustomerSnapshot:
    return CustomerSnapshot(id=uuid.uuid4(), name=name, code=name[:3].upper(), tax_id="12.345.678/0001-90")


def invoice(
    who: CustomerSnapshot | None = None,
    *,
    amount: str = "100.00",
    tax_rate: str = "10.00",
    issue_date: datetime.date = DAY,
    days: int = 30,
    **fields,
):
    """An invoice of one line worth ``amount`` before tax."""
    return services.issue_invoice(
        customer=who or customer(),
        issue_date=issue_date,
        due_date=issue_date + datetime.timedelta(days=days),
        lines=[
            InvoiceLineInput(quantity=Decimal("1"), unit_price=Decimal(amount), tax_rate=Decimal(tax_rate))
        ],
        **fields,
    )


def held(
    who: CustomerSnapshot | None = None,
    *,
    shipped_on: datetime.date = DAY,
    quantity: str = "3",
    unit_price: str = "33.5000",
    tax_rate: str = "10.00",
    days: int = 30,
    order_number: str = "SO-2026-000001",
    **fields,
) -> PendingInvoice:
    """The shipment of a customer invoiced at month end, as financeiro's subscriber
    keeps it (services.hold_for_month_end): one line, at the order's own totals
    (3 × 33.50 + 10 % is 110.55) unless ``total``/``tax_total`` say otherwise."""
    line = InvoiceLineInput(
        quantity=Decimal(quantity),
        unit_price=Decimal(unit_price),
        tax_rate=Decimal(tax_rate),
        sku="SKU-1",
        description="Widget",
        product_id=uuid.uuid4(),
    )
    _discount, _subtotal, tax, total = line_amounts(
        line.quantity, line.unit_price, Decimal("0"), line.tax_rate
    )
    return services.hold_for_month_end(
        customer=who or customer(),
        shipped_on=shipped_on,
        payment_terms_days=days,
        lines=[line],
        order_id=fields.pop("order_id", uuid.uuid4()),
        order_number=order_number,
        currency="BRL",
        total=fields.pop("total", total),
        tax_total=fields.pop("tax_total", tax),
        **fields,
    )


def pay(invoice_info, amount: str, *, day: datetime.date = DAY, total: str | None = None, **fields):
    """A payment of ``total`` (default ``amount``) with ``amount`` allocated to the invoice."""
    return services.record_payment(
        customer_id=invoice_info.customer_id,
        date=day,
        amount=Decimal(total or amount),
        allocations=[AllocationInput(invoice_id=invoice_info.id, amount=Decimal(amount))],
        **fields,
    )
