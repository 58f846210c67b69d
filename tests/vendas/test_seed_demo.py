"""`manage.py seed_demo`: the whole quick-start demo through the services, on
PostgreSQL with Celery eager (events delivered on commit, as in the quick
start): orders in every status with their invoices, payments and runs (shipped
too: its customer is invoiced at month end), a closed month, balanced books; a
second run changes nothing; with DEBUG off it refuses without --force."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from core.models import User
from estoque import reconciliation as stock_reconciliation
from estoque.models import Product, Replenishment, StockMove
from financeiro import reconciliation as ledger_reconciliation
from financeiro import services as ledger
from financeiro.models import FiscalPeriod, Invoice, JournalEntry, Payment, PendingInvoice
from vendas.models import Customer, Price, SalesOrder
from workflows.models import WorkflowRun

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def seed(tmp_path, *args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, credentials_file=tmp_path / ".demo-credentials", stdout=out)
    return out.getvalue()


def rows() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            User,
            Product,
            StockMove,
            Customer,
            Price,
            SalesOrder,
            Invoice,
            Payment,
            PendingInvoice,
            JournalEntry,
            FiscalPeriod,
            WorkflowRun,
            Replenishment,
        )
    }


def states() -> list[tuple]:
    return list(SalesOrder.objects.order_by("number").values_list("number", "status", "invoice_id", "total"))


def test_the_demo_has_every_status_runs_a_closed_month_and_balanced_books(tmp_path):
    output = seed(tmp_path, "--force")

    assert "Demo users created" in output and "Demo stock created" in output
    assert "Demo sales created" in output
    assert Product.objects.count() == 50
    assert Customer.objects.count() == 21
    assert Customer.objects.filter(credit_limit__gt=0).count() == 21
    assert list(Customer.objects.filter(invoicing="month_end").values_list("code", flat=True)) == ["C0021"]
    assert Price.objects.count() == 50
    demo = SalesOrder.objects.filter(notes__startswith="demo:")
    statuses = set(demo.values_list("status", flat=True))
    assert statuses == {"draft", "pending_approval", "confirmed", "shipped", "invoiced", "paid", "cancelled"}
    # Shipped this month to the customer invoiced at month end: finance keeps it for the month's end.
    shipped = demo.get(status="shipped")
    assert (shipped.customer.code, shipped.invoice_id) == ("C0021", None)
    assert not Invoice.objects.filter(order_id=shipped.pk).exists()
    pending = PendingInvoice.objects.get(order_id=shipped.pk)
    assert (pending.total, pending.billed_at, pending.shipped_on) == (shipped.total, None, shipped.shipped_on)
    assert f"{shipped.number} is shipped: C0021 is invoiced at month end" in output
    partly = Invoice.objects.get(order_id=demo.get(notes="demo:partly-paid").pk)
    assert partly.status == "partially_paid" and 0 < partly.amount_paid < partly.total
    assert demo.get(notes="demo:partly-paid").status == "invoiced"
    for order in demo.filter(status="paid"):
        assert Invoice.objects.get(order_id=order.pk).status == "paid"

    pending = demo.get(status="pending_approval")
    approval = WorkflowRun.objects.get(thread_id=pending.workflow)
    assert (approval.definition, approval.status) == ("sales_order_approval", "waiting")
    replenishment = Replenishment.objects.get(status="open", product__sku="MON-24-FHD")
    run = WorkflowRun.objects.get(thread_id=replenishment.thread_id)
    assert (run.definition, run.status) == ("stock_replenishment", "waiting")

    closed = FiscalPeriod.objects.get(status="closed")
    assert not JournalEntry.objects.filter(period=closed).exists()
    assert FiscalPeriod.objects.filter(status="open").exists()  # this month took the postings
    balance = ledger.trial_balance(as_of=max(JournalEntry.objects.values_list("date", flat=True)))
    assert balance.total_debit == balance.total_credit > 0
    assert ledger_reconciliation.ledger_differences() == []
    assert stock_reconciliation.reconcile() == []

    first, orders = rows(), states()
    again = seed(tmp_path, "--force")

    assert "Demo sales already exist; nothing added." in again
    assert "Demo stock already exists; nothing added." in again
    assert rows() == first
    assert states() == orders


def test_with_debug_off_it_refuses_without_force_and_writes_nothing(tmp_path, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force") as refused:
        seed(tmp_path)

    assert refused.value.returncode == 1
    assert all(count == 0 for name, count in rows().items() if name != "FiscalPeriod")
    assert not FiscalPeriod.objects.exists()
    assert not (tmp_path / ".demo-credentials").exists()
