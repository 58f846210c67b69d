"""financeiro's management commands: ``ledger_check``, ``trial_balance``,
``close_period`` and ``bill_month_end`` (and beat's task of that name). Books
through the services; corruption through raw SQL."""

import datetime
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from django.utils import timezone

from erp.db import alias
from financeiro import tasks
from financeiro.contract import PeriodClosedError
from financeiro.models import FiscalPeriod, Invoice
from tests.financeiro.factories import DAY, customer, held, invoice, pay, post

pytestmark = pytest.mark.django_db(databases="__all__")


def sql(statement: str, params=()) -> None:
    with connections[alias("financeiro")].cursor() as cursor:
        cursor.execute(statement, params)


def run(name: str, *args) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def failing(name: str, *args) -> tuple[str, CommandError]:
    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command(name, *args, stdout=out, stderr=StringIO())
    return out.getvalue(), failed.value


@pytest.fixture
def books():
    post(DAY, ("1010", "1000.00", "0"), ("3000", "0", "1000.00"), memo="capital")
    issued = invoice()  # 100.00 + 10% tax
    pay(issued, "50.00")
    return issued


def period(year: int, month: int) -> FiscalPeriod:
    return FiscalPeriod.objects.get(year=year, month=month)


# --- ledger_check ---------------------------------------------------------------------


def test_ledger_check_on_clean_books_prints_one_summary_line(books):
    assert run("ledger_check").strip() == (
        "Ledger OK: 3 entry(ies), 7 line(s), 1 invoice(s) and 1 payment(s) agree. "
        "The inventory account equals the stock value."
    )


def test_ledger_check_names_each_difference_and_exits_1(books):
    sql("UPDATE financeiro_invoice SET amount_paid = 60, status = 'partially_paid'")

    output, failed = failing("ledger_check")

    assert failed.returncode == 1 and "1 ledger difference(s) found." in str(failed)
    assert output.splitlines() == [
        f"invoice {books.number}: amount paid vs the sum of its allocations: expected 50.00, actual 60.00"
    ]


def test_ledger_check_no_stock_skips_the_inventory_check(books):
    post(DAY, ("1200", "10.00", "0"), ("2000", "0", "10.00"))

    output, failed = failing("ledger_check")
    assert "account 1200 (inventory)" in output and failed.returncode == 1

    summary = run("ledger_check", "--no-stock").strip()
    assert summary.startswith("Ledger OK: 4 entry(ies)") and "inventory" not in summary


# --- trial_balance -----------------------------------------------------------------------


def test_trial_balance_prints_an_aligned_table_with_totals(books):
    lines = run("trial_balance", "--as-of", "2026-03-31").splitlines()

    assert lines[0] == "Trial balance as of 2026-03-31"
    header, rows = lines[2], lines[4:9]
    assert header.split() == ["Code", "Account", "Debit", "Credit", "Balance"]
    assert [row.split()[0] for row in rows] == ["1010", "1100", "2100", "3000", "4000"]
    assert rows[0].split()[-3:] == ["1050.00", "0.00", "1050.00"]  # capital + payment
    assert rows[1].split()[-3:] == ["110.00", "50.00", "60.00"]
    assert {len(row) for row in [header, *rows]} == {len(header)}  # the amounts' right edges align
    assert lines[10].split() == ["Total", "1160.00", "1160.00", "0.00"]
    assert lines[-1] == "Balanced: debits equal credits."


def test_trial_balance_as_of_a_date_before_the_postings(books):
    lines = run("trial_balance", "--as-of", "2026-03-13").splitlines()
    assert "(no postings)" in lines
    assert lines[-3].split() == ["Total", "0.00", "0.00", "0.00"]
    assert lines[-1] == "Balanced: debits equal credits."


def test_trial_balance_says_when_it_does_not_balance(books):
    sql("UPDATE financeiro_accountdaybalance SET debit = debit + 0.01 WHERE debit > 0")
    lines = run("trial_balance", "--as-of", "2026-03-31").splitlines()
    assert lines[-1].startswith("NOT balanced: debits − credits = ")


def test_trial_balance_defaults_to_today(books):
    assert run("trial_balance").splitlines()[0] == f"Trial balance as of {timezone.localdate().isoformat()}"


def test_trial_balance_speaks_json(books):
    report = json.loads(run("trial_balance", "--as-of", "2026-03-31", "--format", "json"))
    assert report["as_of"] == "2026-03-31"
    assert report["balanced"] is True
    assert report["total_debit"] == report["total_credit"] == "1160.00"
    assert report["rows"][1] == {
        "code": "1100",
        "name": "Accounts receivable",
        "type": "asset",
        "debit": "110.00",
        "credit": "50.00",
        "balance": "60.00",
    }


@pytest.mark.parametrize("value", ["2026-13-01", "31/03/2026", "yesterday", ""])
def test_trial_balance_refuses_a_bad_date_clearly(value):
    _, failed = failing("trial_balance", "--as-of", value)
    assert failed.returncode == 1
    assert f'Invalid --as-of date "{value}": use YYYY-MM-DD' in str(failed)


# --- close_period -------------------------------------------------------------------------


def test_close_period_closes_a_clean_month(books):
    output = run("close_period", "2026-03")
    assert output.strip() == "Period 2026-03 closed."
    assert period(2026, 3).status == FiscalPeriod.Status.CLOSED


def test_close_period_refuses_on_differences_and_closes_with_force(books):
    sql("UPDATE financeiro_invoice SET amount_paid = 60")

    output, failed = failing("close_period", "2026-03")
    assert failed.returncode == 1
    assert "1 ledger difference(s) found: 2026-03 not closed" in str(failed)
    assert "amount paid vs the sum of its allocations" in output
    assert period(2026, 3).status == FiscalPeriod.Status.OPEN

    output = run("close_period", "2026-03", "--force")
    assert "amount paid vs the sum of its allocations" in output
    assert output.splitlines()[-1] == "Period 2026-03 closed."
    assert period(2026, 3).status == FiscalPeriod.Status.CLOSED


def test_close_period_twice_is_an_error(books):
    run("close_period", "2026-03")
    _, failed = failing("close_period", "2026-03")
    assert failed.returncode == 1 and str(failed) == "Period 2026-03 is already closed."


def test_close_period_refuses_while_an_earlier_month_is_open(books):
    post(datetime.date(2026, 4, 2), ("1010", "5.00", "0"), ("3000", "0", "5.00"))

    _, failed = failing("close_period", "2026-04")
    assert failed.returncode == 1 and "Close the earlier periods first: 2026-03." in str(failed)
    assert period(2026, 4).status == FiscalPeriod.Status.OPEN

    run("close_period", "2026-03")
    assert run("close_period", "2026-04").strip() == "Period 2026-04 closed."


@pytest.mark.parametrize("value", ["2026-13", "2026-00", "03-2026", "2026", "march", "2026-03-01"])
def test_close_period_refuses_a_malformed_month(value):
    _, failed = failing("close_period", value)
    assert failed.returncode == 1
    assert f'Invalid period "{value}": use YYYY-MM' in str(failed)


def test_close_period_needs_its_argument():
    with pytest.raises(CommandError, match="required"):
        call_command("close_period")


def test_a_closed_month_takes_no_postings_afterwards(books):
    run("close_period", "2026-03")
    with pytest.raises(PeriodClosedError):
        post(DAY, ("1010", "1.00", "0"), ("3000", "0", "1.00"))
    assert Decimal(
        json.loads(run("trial_balance", "--as-of", "2026-03-31", "--format", "json"))["total_debit"]
    ) == (Decimal("1160.00"))


# --- bill_month_end -----------------------------------------------------------------------


def test_bill_month_end_invoices_the_ended_months_and_says_what_it_billed():
    held(
        customer("Supermercado Estrela"), shipped_on=datetime.date(2026, 11, 5), order_number="SO-2026-000004"
    )
    held(shipped_on=datetime.date(2026, 12, 2), order_number="SO-2026-000005")

    output = run("bill_month_end", "--as-of", "2026-12-01")

    assert output.splitlines() == [
        "SO-2026-000004 (Supermercado Estrela, shipped 2026-11-05): invoice INV-2026-000001 of 110.55, "
        "issued 2026-11-30, due 2026-12-30",
        "1 shipment of the months before 2026-12 invoiced.",
    ]
    assert run("bill_month_end", "--as-of", "2026-12-31").strip() == (
        "Nothing to bill: no shipment of a month before 2026-12 awaits month-end billing."
    )
    assert Invoice.objects.count() == 1
    assert "SO-2026-000005" in run("bill_month_end", "--as-of", "2027-01-01")
    assert Invoice.objects.count() == 2


def test_bill_month_end_defaults_to_today_and_the_beat_task_does_the_same():
    held(shipped_on=DAY, order_number="SO-2026-000001")  # March: ended long before today
    held(shipped_on=timezone.localdate(), order_number="SO-2026-000002")  # this month: not yet

    assert tasks.bill_month_end() == 1
    assert list(Invoice.objects.values_list("order_number", flat=True)) == ["SO-2026-000001"]
    assert "Nothing to bill" in run("bill_month_end")


@pytest.mark.parametrize("value", ["2026-13-01", "01/12/2026", "tomorrow", ""])
def test_bill_month_end_refuses_a_bad_date_clearly(value):
    _, failed = failing("bill_month_end", "--as-of", value)
    assert failed.returncode == 1
    assert f'Invalid --as-of date "{value}": use YYYY-MM-DD' in str(failed)


def test_bill_month_end_names_a_shipment_it_cannot_invoice_and_exits_1():
    broken = held(shipped_on=DAY, order_number="SO-2026-000001")
    sql("UPDATE financeiro_pendinginvoice SET total = 1 WHERE id = %s", [broken.pk])
    errors = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("bill_month_end", "--as-of", "2026-04-01", stdout=StringIO(), stderr=errors)
    assert failed.value.returncode == 1
    assert "1 shipment could not be invoiced" in str(failed.value)
    assert (
        "SO-2026-000001 (shipped 2026-03-14) not invoiced: Order SO-2026-000001 totals 1.00"
        in errors.getvalue()
    )
    assert not Invoice.objects.exists()


def test_close_period_refuses_while_shipments_of_the_month_await_month_end_billing(books):
    held(shipped_on=DAY, order_number="SO-2026-000001")
    _, failed = failing("close_period", "2026-03")
    assert failed.returncode == 1
    assert str(failed) == (
        "1 shipment of 2026-03 awaits month-end billing (SO-2026-000001): run manage.py bill_month_end."
    )
    run("bill_month_end", "--as-of", "2026-04-01")
    assert run("close_period", "2026-03").strip() == "Period 2026-03 closed."
