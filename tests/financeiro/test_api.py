"""financeiro's REST API as API.md states it: paths, fields, status codes and
problem+json bodies, who may write, and the journal's immutability."""

import datetime
from decimal import Decimal

import pytest

from financeiro import services
from financeiro.models import FiscalPeriod, JournalEntry, PendingInvoice
from tests.financeiro.factories import DAY, account, customer, held, invoice, pay, post

pytestmark = pytest.mark.django_db(databases="__all__")

API = "/api/v1/financeiro/"
PROBLEM = "application/problem+json"


@pytest.fixture
def finance(client_as):
    return client_as("finance")


@pytest.fixture
def viewer(client_as):
    return client_as("viewer")


def entry_body(debit="100.00", credit="100.00", day="2026-03-14"):
    return {
        "date": day,
        "memo": "Owner's capital",
        "lines": [
            {"account": str(account("1010").id), "debit": debit, "description": "deposit"},
            {"account": str(account("3000").id), "credit": credit},
        ],
    }


def test_the_chart_of_accounts_lists_the_default_accounts(viewer):
    response = viewer.get(f"{API}accounts/", {"page_size": 500})
    assert response.status_code == 200
    rows = {row["code"]: row for row in response.json()["results"]}
    assert {"1000", "1010", "1100", "1200", "2000", "2100", "3000", "4000", "5000", "5100"} <= set(rows)
    assert set(rows["1100"]) == {"id", "code", "name", "type", "parent", "is_active"}
    assert rows["1100"]["type"] == "asset"


def test_finance_creates_an_account_and_a_taken_code_is_a_400(finance):
    created = finance.post(
        f"{API}accounts/", {"code": "1020", "name": "Petty cash", "type": "asset"}, format="json"
    )
    assert created.status_code == 201, created.content
    again = finance.post(f"{API}accounts/", {"code": "1020", "name": "Other", "type": "asset"}, format="json")
    assert again.status_code == 400
    assert again.json()["errors"][0]["field"] == "code"


def test_an_account_with_postings_cannot_be_deleted(finance):
    post(DAY, ("1000", "5.00", "0"), ("4000", "0", "5.00"))
    response = finance.delete(f"{API}accounts/{account('4000').id}/")
    assert response.status_code == 409
    assert response.json()["code"] == "account_in_use"


def test_a_manual_entry_is_posted_and_read_back(finance):
    response = finance.post(f"{API}journal-entries/", entry_body(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert {"id", "number", "date", "memo", "source", "lines"} <= set(body)
    assert body["source"] == "manual" and body["date"] == "2026-03-14" and body["period"] == "2026-03"
    assert body["lines"][0] == {
        "account": str(account("1010").id),
        "account_code": "1010",
        "debit": "100.00",
        "credit": "0.00",
        "description": "deposit",
    }
    assert body["created_by"] == str(finance.user.pk)
    listed = finance.get(f"{API}journal-entries/", {"source": "manual"}).json()
    assert [row["id"] for row in listed["results"]] == [body["id"]]
    assert finance.get(f"{API}journal-entries/{body['id']}/").json() == body


def test_an_unbalanced_entry_is_a_400_naming_the_difference(finance):
    response = finance.post(f"{API}journal-entries/", entry_body(credit="99.90"), format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    problem = response.json()
    assert problem["code"] == "unbalanced" and problem["difference"] == "0.10"
    assert problem["errors"][0]["field"] == "lines"
    assert not JournalEntry.objects.exists()


def test_an_entry_in_a_closed_period_is_a_409(finance):
    services.close_period(year=2026, month=3)
    response = finance.post(f"{API}journal-entries/", entry_body(), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "period_closed"


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_posted_entries_cannot_be_changed_or_deleted(finance, method):
    entry = post(DAY, ("1000", "5.00", "0"), ("4000", "0", "5.00"))
    response = getattr(finance, method)(f"{API}journal-entries/{entry.id}/", {}, format="json")
    assert response.status_code == 405


def test_a_reversal_posts_the_mirror_once(finance):
    entry = post(DAY, ("1000", "5.00", "0"), ("4000", "0", "5.00"))
    response = finance.post(f"{API}journal-entries/{entry.id}/reverse/", {}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reverses"] == str(entry.id) and body["source"] == "reversal"
    assert [(line["debit"], line["credit"]) for line in body["lines"]] == [("0.00", "5.00"), ("5.00", "0.00")]
    assert finance.get(f"{API}journal-entries/{entry.id}/").json()["reversed_by"] == body["id"]
    again = finance.post(f"{API}journal-entries/{entry.id}/reverse/", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_reversed"


def test_only_finance_writes_and_every_role_reads(client_as, viewer):
    sales = client_as("sales")
    assert sales.post(f"{API}journal-entries/", entry_body(), format="json").status_code == 403
    assert viewer.post(f"{API}payments/", {}, format="json").status_code == 403
    assert viewer.get(f"{API}journal-entries/").status_code == 200
    assert viewer.get(f"{API}reports/trial-balance/").status_code == 200


def test_invoices_show_their_balance_and_status(viewer):
    issued = invoice(amount="100.00")
    pay(issued, "30.00")
    response = viewer.get(f"{API}invoices/", {"status": "partially_paid"})
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert {
        "id",
        "number",
        "customer",
        "order",
        "issue_date",
        "due_date",
        "subtotal",
        "tax_total",
        "total",
        "amount_paid",
        "balance",
        "status",
    } <= set(row)
    assert (row["total"], row["amount_paid"], row["balance"]) == ("110.00", "30.00", "80.00")
    assert viewer.get(f"{API}invoices/", {"status": "paid"}).json()["count"] == 0


def test_a_payment_is_recorded_with_its_allocations(finance):
    issued = invoice(amount="100.00")
    body = {
        "customer": str(issued.customer_id),
        "date": "2026-03-20",
        "amount": "110.00",
        "method": "bank_transfer",
        "allocations": [{"invoice": str(issued.id), "amount": "110.00"}],
    }
    response = finance.post(f"{API}payments/", body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert {"id", "customer", "date", "amount", "method", "allocations"} <= set(created)
    assert created["allocations"] == [
        {"invoice": str(issued.id), "invoice_number": issued.number, "amount": "110.00"}
    ]
    assert created["unallocated"] == "0.00"
    assert finance.get(f"{API}invoices/{issued.id}/").json()["status"] == "paid"
    assert finance.get(f"{API}payments/", {"customer": str(issued.customer_id)}).json()["count"] == 1


def test_allocating_more_than_the_balance_is_a_400_and_changes_nothing(finance):
    issued = invoice(amount="100.00")
    entries = JournalEntry.objects.count()
    body = {
        "customer": str(issued.customer_id),
        "date": "2026-03-20",
        "amount": "200.00",
        "allocations": [{"invoice": str(issued.id), "amount": "150.00"}],
    }
    response = finance.post(f"{API}payments/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "over_allocation"
    assert response.json()["errors"][0]["field"] == "allocations.0.amount"
    assert JournalEntry.objects.count() == entries


def test_periods_are_listed_with_their_status(viewer):
    post(DAY, ("1000", "5.00", "0"), ("4000", "0", "5.00"))
    response = viewer.get(f"{API}periods/")
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert {"id", "year", "month", "status", "workflow"} <= set(row)
    assert (row["year"], row["month"], row["status"], row["workflow"]) == (2026, 3, "open", None)


def test_closing_a_closed_period_is_a_409(finance):
    closed = services.close_period(year=2026, month=3)
    response = finance.post(f"{API}periods/{closed.id}/close/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "period_not_closable"


def test_the_reports_answer_as_of_a_date(viewer):
    post(DAY, ("1010", "500.00", "0"), ("3000", "0", "500.00"))
    post(DAY, ("1000", "110.00", "0"), ("4000", "0", "100.00"), ("2100", "0", "10.00"))
    post(DAY, ("5000", "40.00", "0"), ("1000", "0", "40.00"))
    trial = viewer.get(f"{API}reports/trial-balance/", {"as_of": "2026-03-31"}).json()
    assert trial["total_debit"] == trial["total_credit"] == "650.00"
    assert {row["code"]: row["balance"] for row in trial["rows"]}["1000"] == "70.00"
    sheet = viewer.get(f"{API}reports/balance-sheet/", {"as_of": "2026-03-31"}).json()
    assert sheet["total_assets"] == "570.00"
    assert (sheet["total_liabilities"], sheet["total_equity"], sheet["current_earnings"]) == (
        "10.00",
        "560.00",
        "60.00",
    )
    statement = viewer.get(
        f"{API}reports/income-statement/", {"date_from": "2026-03-01", "date_to": "2026-03-31"}
    ).json()
    assert (statement["total_income"], statement["total_expenses"], statement["net"]) == (
        "100.00",
        "40.00",
        "60.00",
    )
    before = viewer.get(f"{API}reports/trial-balance/", {"as_of": "2026-03-13"}).json()
    assert before["rows"] == [] and before["total_debit"] == "0.00"


def test_ar_aging_buckets_what_each_customer_owes(viewer):
    who = customer("Beta SA")
    invoice(who, amount="100.00", issue_date=datetime.date(2026, 1, 1), days=30)  # due Jan 31
    response = viewer.get(f"{API}reports/ar-aging/", {"as_of": "2026-03-15"})
    assert response.status_code == 200
    (row,) = response.json()["rows"]
    assert (row["customer"], row["customer_name"], row["days_31_60"]) == (
        str(who.id),
        "Beta SA",
        "110.00",
    )
    assert response.json()["total"] == "110.00"


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("reports/trial-balance/", {"as_of": "yesterday"}),
        ("reports/balance-sheet/", {"as_of": "2026-02-30"}),
        ("reports/income-statement/", {"date_from": "2026-03-01"}),
        ("reports/income-statement/", {"date_from": "2026-04-01", "date_to": "2026-03-01"}),
        ("reports/ar-aging/", {"as_of": "0"}),
    ],
)
def test_a_bad_report_query_is_a_400(viewer, path, query):
    response = viewer.get(f"{API}{path}", query)
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM


def test_a_period_unknown_or_malformed_is_a_404(finance):
    assert finance.post(f"{API}periods/{FiscalPeriod().id}/close/", {}, format="json").status_code == 404
    assert finance.get(f"{API}journal-entries/not-a-uuid/").status_code == 404


def test_nothing_is_posted_for_malformed_entries(finance):
    bodies = [
        {},
        {"date": "2026-03-14", "lines": []},
        {"date": "2026-13-01", "lines": entry_body()["lines"]},
        {"date": "2026-03-14", "lines": [{"account": "x", "debit": "1"}, {"account": "y", "credit": "1"}]},
        {**entry_body(), "lines": [{**entry_body()["lines"][0], "debit": "1e3"}, entry_body()["lines"][1]]},
        {**entry_body(debit="100.005", credit="100.005")},
        {**entry_body(debit="-100.00", credit="-100.00")},
    ]
    for body in bodies:
        response = finance.post(f"{API}journal-entries/", body, format="json")
        assert response.status_code == 400, (body, response.content)
    assert not JournalEntry.objects.exists()
    assert Decimal(finance.get(f"{API}reports/trial-balance/").json()["total_debit"]) == 0


# --- Shipments billed at month end ------------------------------------------------------------


def test_shipments_billed_at_month_end_are_listed_with_their_billing_day_and_invoice(viewer):
    estrela, other = customer("Supermercado Estrela"), customer("Padaria Central")
    november = held(estrela, shipped_on=datetime.date(2026, 11, 5), order_number="SO-2026-000004")
    december = held(estrela, shipped_on=datetime.date(2026, 12, 2), order_number="SO-2026-000005")
    held(other, shipped_on=datetime.date(2026, 2, 10), order_number="SO-2026-000001")
    services.bill_month_end(as_of=datetime.date(2026, 12, 1))

    response = viewer.get(f"{API}pending-invoices/", {"customer": str(estrela.id)})
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["order_number"] for row in rows] == ["SO-2026-000004", "SO-2026-000005"]
    billed, waiting = rows
    assert set(billed) == {
        "id",
        "order",
        "order_number",
        "customer",
        "customer_name",
        "shipped_on",
        "bills_on",
        "total",
        "tax_total",
        "invoice",
        "billed_at",
    }
    issued = services.invoice(invoice_id=billed["invoice"])
    assert (billed["id"], billed["order"], billed["customer"], billed["customer_name"]) == (
        str(november.pk),
        str(november.order_id),
        str(estrela.id),
        "Supermercado Estrela",
    )
    assert (billed["shipped_on"], billed["bills_on"], billed["total"], billed["tax_total"]) == (
        "2026-11-05",
        "2026-11-30",
        "110.55",
        "10.05",
    )
    assert issued.order_id == november.order_id and issued.issue_date == datetime.date(2026, 11, 30)
    assert billed["billed_at"] is not None
    assert (waiting["bills_on"], waiting["invoice"], waiting["billed_at"]) == ("2026-12-31", None, None)

    unbilled = viewer.get(f"{API}pending-invoices/", {"billed": "false"}).json()["results"]
    assert [row["order_number"] for row in unbilled] == ["SO-2026-000005"]
    done = viewer.get(f"{API}pending-invoices/", {"billed": "true", "customer": str(other.id)}).json()
    assert [row["order_number"] for row in done["results"]] == ["SO-2026-000001"]

    one = viewer.get(f"{API}pending-invoices/{december.pk}/")
    assert one.status_code == 200 and one.json() == waiting


@pytest.mark.parametrize("query", [{"billed": "maybe"}, {"billed": "yes"}, {"customer": "not-a-uuid"}])
def test_a_bad_pending_invoices_filter_is_a_400(viewer, query):
    response = viewer.get(f"{API}pending-invoices/", query)
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM


def test_shipments_billed_at_month_end_are_read_only_and_unknown_ones_404(finance):
    pending = held()
    assert finance.post(f"{API}pending-invoices/", {}, format="json").status_code == 403
    assert finance.delete(f"{API}pending-invoices/{pending.pk}/").status_code == 403
    assert PendingInvoice.objects.get().pk == pending.pk
    assert finance.get(f"{API}pending-invoices/{customer().id}/").status_code == 404
    assert finance.get(f"{API}pending-invoices/not-a-uuid/").status_code == 404
