"""financeiro in the Django admin: accounts written by the services (their
rules hold here too), periods closed through the service, and the journal,
invoices and payments read-only, each changelist at a constant query cost."""

import datetime
import re

import pytest

from financeiro import services
from financeiro.models import (
    Account,
    FiscalPeriod,
    Invoice,
    JournalEntry,
    Payment,
    PendingInvoice,
    PostingAccount,
)
from tests.financeiro.factories import DAY, account, customer, held, invoice, pay, post
from tests.queries import queries_for

pytestmark = pytest.mark.django_db(databases="__all__")

ADMIN = "/admin/financeiro"
ACCOUNTS = f"{ADMIN}/account/"
PERIODS = f"{ADMIN}/fiscalperiod/"
POSTING_ACCOUNTS = f"{ADMIN}/postingaccount/"


@pytest.fixture
def admin_browser(client, make_user):
    client.force_login(make_user("admin"))
    return client


@pytest.fixture
def books():
    post(DAY, ("1010", "1000.00", "0"), ("3000", "0", "1000.00"), memo="opening capital")
    issued = invoice(customer("Padaria Central"))
    payment = pay(issued, "50.00", reference="TED-778")
    return {"invoice": issued, "payment": payment}


def errors_in(page) -> str:
    return " ".join(
        re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', page.content.decode(), re.DOTALL)
    )


def account_form(**fields) -> dict:
    return {"code": "6100", "name": "Rent", "type": "expense", "parent": "", "is_active": "on"} | fields


def results(browser, url: str, **query) -> str:
    """The changelist's result table, "" when nothing matched."""
    page = browser.get(url, query)
    assert page.status_code == 200
    found = re.search(r'<table id="result_list".*?</table>', page.content.decode(), re.DOTALL)
    return found.group(0) if found else ""


# --- Accounts, through the services ---------------------------------------------------


def test_an_account_added_in_the_admin_is_written_by_the_service(admin_browser):
    response = admin_browser.post(f"{ACCOUNTS}add/", account_form(code="  6100 ", name=" Rent "))

    assert response.status_code == 302, errors_in(response)
    rent = Account.objects.get(code="6100")  # stripped by the service
    assert (rent.name, rent.type, rent.is_active) == ("Rent", "expense", True)
    assert response["Location"] == ACCOUNTS


def test_the_admin_refuses_what_the_service_refuses_and_writes_nothing(admin_browser):
    taken = admin_browser.post(f"{ACCOUNTS}add/", account_form(code="1000"))
    assert taken.status_code == 200 and "already" in errors_in(taken)

    wrong_parent = admin_browser.post(f"{ACCOUNTS}add/", account_form(parent=account("1000").pk))
    assert wrong_parent.status_code == 200
    assert "The parent must be of the same type." in errors_in(wrong_parent)

    assert not Account.objects.filter(code="6100").exists()


def test_an_account_is_renamed_but_its_type_stays_while_it_has_postings(admin_browser, books):
    bank = account("1010")
    url = f"{ACCOUNTS}{bank.pk}/change/"
    assert admin_browser.get(url).status_code == 200

    retyped = admin_browser.post(url, account_form(code="1010", name="Bank", type="expense"))
    assert retyped.status_code == 200
    assert "1010 has postings: its type cannot change" in errors_in(retyped)

    renamed = admin_browser.post(url, account_form(code="1010", name="Bank (main)", type="asset"))
    assert renamed.status_code == 302, errors_in(renamed)
    bank.refresh_from_db()
    assert (bank.name, bank.type) == ("Bank (main)", "asset")


def test_an_account_with_postings_is_not_deleted_and_says_why(admin_browser, books):
    bank = account("1010")
    url = f"{ACCOUNTS}{bank.pk}/delete/"
    why = "Account 1010 has postings or is a posting account: deactivate it instead."

    assert why in admin_browser.get(url).content.decode()
    refused = admin_browser.post(url, {"post": "yes"})
    assert refused.status_code == 200 and why in refused.content.decode()
    assert Account.objects.filter(pk=bank.pk).exists()


def test_an_unused_account_is_deleted_and_a_bulk_delete_is_all_or_none(admin_browser, books):
    spare = Account.objects.create(code="6200", name="Spare", type="expense")
    other = Account.objects.create(code="6300", name="Other", type="expense")
    chosen = {"action": "delete_selected", "_selected_action": [spare.pk, account("1010").pk], "post": "yes"}

    refused = admin_browser.post(ACCOUNTS, chosen)
    assert refused.status_code == 200 and "Account 1010 has postings" in refused.content.decode()
    assert Account.objects.filter(pk=spare.pk).exists()

    assert admin_browser.post(ACCOUNTS, {**chosen, "_selected_action": [spare.pk]}).status_code == 302
    assert not Account.objects.filter(pk=spare.pk).exists()
    assert admin_browser.post(f"{ACCOUNTS}{other.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Account.objects.filter(pk=other.pk).exists()


def test_accounts_search_and_filter(admin_browser):
    banks = results(admin_browser, ACCOUNTS, q="bank")
    assert "1010" in banks and "1000" not in banks
    income = results(admin_browser, ACCOUNTS, type__exact="income")
    assert "Revenue" in income and "Bank" not in income


def test_a_posting_account_is_re_pointed_but_never_deleted(admin_browser):
    inventory = PostingAccount.objects.get(purpose="inventory")
    spare = Account.objects.create(code="1210", name="Inventory (store)", type="asset")
    url = f"{POSTING_ACCOUNTS}{inventory.pk}/change/"

    response = admin_browser.post(url, {"purpose": "inventory", "account": spare.pk})

    assert response.status_code == 302, errors_in(response)
    assert PostingAccount.objects.get(purpose="inventory").account == spare
    assert admin_browser.post(f"{POSTING_ACCOUNTS}{inventory.pk}/delete/", {"post": "yes"}).status_code == 403


# --- Fiscal periods -----------------------------------------------------------------------


def test_a_period_is_added_open_and_its_status_is_not_editable(admin_browser):
    response = admin_browser.post(f"{PERIODS}add/", {"year": "2026", "month": "5", "status": "closed"})
    assert response.status_code == 302, errors_in(response)
    may = FiscalPeriod.objects.get(year=2026, month=5)
    assert may.status == FiscalPeriod.Status.OPEN

    detail = admin_browser.get(f"{PERIODS}{may.pk}/change/")
    assert detail.status_code == 200 and b'name="status"' not in detail.content
    assert admin_browser.post(f"{PERIODS}{may.pk}/change/", {"year": "2026", "month": "6"}).status_code == 403
    assert admin_browser.post(f"{PERIODS}{may.pk}/delete/", {"post": "yes"}).status_code == 403

    again = admin_browser.post(f"{PERIODS}add/", {"year": "2026", "month": "5"})
    assert again.status_code == 200 and "already exists" in errors_in(again)
    bad_month = admin_browser.post(f"{PERIODS}add/", {"year": "2026", "month": "13"})
    assert bad_month.status_code == 200 and "less than or equal to 12" in errors_in(bad_month)


def close(browser, *periods: FiscalPeriod) -> str:
    page = browser.post(
        PERIODS, {"action": "close_selected", "_selected_action": [p.pk for p in periods]}, follow=True
    )
    assert page.status_code == 200
    return page.content.decode()


def test_closing_periods_through_the_action(admin_browser, books):
    post(datetime.date(2026, 4, 2), ("1010", "5.00", "0"), ("3000", "0", "5.00"))
    march, april = FiscalPeriod.objects.get(month=3), FiscalPeriod.objects.get(month=4)

    refused = close(admin_browser, april)
    assert "2026-04: Close the earlier periods first: 2026-03." in refused
    assert FiscalPeriod.objects.get(pk=april.pk).status == FiscalPeriod.Status.OPEN

    page = close(admin_browser, april, march)  # oldest first, whatever the selection's order
    assert "Period 2026-03 closed." in page and "Period 2026-04 closed." in page
    assert set(FiscalPeriod.objects.values_list("status", flat=True)) == {FiscalPeriod.Status.CLOSED}

    assert "2026-03: Period 2026-03 is already closed." in close(admin_browser, march)


def test_the_action_closes_nothing_over_books_that_disagree(admin_browser, books):
    post(datetime.date(2026, 3, 2), ("1200", "7.00", "0"), ("3000", "0", "7.00"))  # inventory with no stock
    page = close(admin_browser, FiscalPeriod.objects.get(month=3))
    assert "Nothing closed" in page and "7.00" in page
    assert FiscalPeriod.objects.get(month=3).status == FiscalPeriod.Status.OPEN


# --- The journal, invoices and payments: read-only -------------------------------------------


@pytest.mark.parametrize("model", [JournalEntry, Invoice, Payment])
def test_the_books_are_read_only(admin_browser, books, model):
    url = f"{ADMIN}/{model._meta.model_name}/"
    changelist = admin_browser.get(url)
    assert changelist.status_code == 200
    assert f'href="{url}add/"' not in changelist.content.decode()
    assert b"delete_selected" not in changelist.content
    assert admin_browser.get(f"{url}add/").status_code == 403

    row = model.objects.first()
    detail = admin_browser.get(f"{url}{row.pk}/change/")
    assert detail.status_code == 200 and b'type="submit" value="Save"' not in detail.content
    assert admin_browser.post(f"{url}{row.pk}/change/", {}).status_code == 403
    assert admin_browser.post(f"{url}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=row.pk).exists()


def test_an_entry_shows_its_lines_and_an_invoice_its_lines_and_payments(admin_browser, books):
    entry = JournalEntry.objects.get(memo="opening capital")
    page = admin_browser.get(f"{ADMIN}/journalentry/{entry.pk}/change/").content.decode()
    assert "1010 Bank" in page and "3000 Equity" in page and "1000.00" in page

    issued = books["invoice"]
    page = admin_browser.get(f"{ADMIN}/invoice/{issued.id}/change/").content.decode()
    assert "110.00" in page and "Payments allocated" in page and "50.00" in page

    page = admin_browser.get(f"{ADMIN}/payment/{books['payment'].id}/change/").content.decode()
    assert issued.number in page


def test_searches_and_filters_an_accountant_uses(admin_browser, books):
    issued = books["invoice"]
    other = invoice(customer("Oficina Souza"))

    capital = results(admin_browser, f"{ADMIN}/journalentry/", q="opening")
    assert "opening capital" in capital and issued.number not in capital
    invoice_entries = results(admin_browser, f"{ADMIN}/journalentry/", source__exact="invoice")
    assert issued.number in invoice_entries and other.number in invoice_entries
    assert "opening capital" not in invoice_entries
    assert issued.number in results(admin_browser, f"{ADMIN}/journalentry/", q=issued.number)

    padaria = results(admin_browser, f"{ADMIN}/invoice/", q="padaria")
    assert issued.number in padaria and other.number not in padaria
    unpaid = results(admin_browser, f"{ADMIN}/invoice/", status__exact="open")
    assert other.number in unpaid and issued.number not in unpaid
    later = (DAY + datetime.timedelta(days=1)).isoformat()
    assert results(admin_browser, f"{ADMIN}/invoice/", issue_date__gte=later) == ""

    assert "TED-778" in results(admin_browser, f"{ADMIN}/payment/", q="TED")
    assert results(admin_browser, f"{ADMIN}/payment/", method__exact="cash") == ""


def test_shipments_billed_at_month_end_are_read_only_with_their_lines_and_filters(admin_browser):
    url = f"{ADMIN}/pendinginvoice/"
    billed = held(
        customer("Supermercado Estrela"), shipped_on=datetime.date(2026, 2, 10), order_number="SO-1"
    )
    waiting = held(customer("Padaria Central"), shipped_on=DAY, order_number="SO-2")
    services.bill_month_end(as_of=datetime.date(2026, 3, 1))
    invoice_number = PendingInvoice.objects.get(pk=billed.pk).invoice.number

    changelist = admin_browser.get(url)
    assert changelist.status_code == 200
    assert f'href="{url}add/"' not in changelist.content.decode()
    assert admin_browser.get(f"{url}add/").status_code == 403
    page = admin_browser.get(f"{url}{billed.pk}/change/")
    assert page.status_code == 200 and b'type="submit" value="Save"' not in page.content
    assert "3.000 × SKU-1 @ 33.5000" in page.content.decode() and "2026-02-28" in page.content.decode()
    assert admin_browser.post(f"{url}{billed.pk}/delete/", {"post": "yes"}).status_code == 403

    not_billed = results(admin_browser, url, billed_at__isempty="1")
    assert "SO-2" in not_billed and invoice_number not in not_billed
    assert invoice_number in results(admin_browser, url, q="estrela")
    assert "SO-1" not in results(admin_browser, url, q="padaria")
    assert PendingInvoice.objects.filter(pk=waiting.pk, billed_at__isnull=True).exists()


# --- A page costs the same queries whatever its length ---------------------------------------


CHANGELISTS = [
    "journalentry",
    "invoice",
    "payment",
    "account",
    "fiscalperiod",
    "postingaccount",
    "pendinginvoice",
]


@pytest.mark.parametrize("name", CHANGELISTS)
def test_changelists_cost_the_same_queries_for_1_row_or_5(admin_browser, name):
    url = f"{ADMIN}/{name}/"

    def add_rows(count: int, start: int) -> None:
        for month in range(start, start + count):
            day = datetime.date(2026, month, 10)
            services.reverse_entry(entry_id=post(day, ("1010", "10.00", "0"), ("3000", "0", "10.00")).id)
            pay(invoice(issue_date=day), "5.00")
            held(shipped_on=day, order_number=f"SO-2026-{month:06d}")
            Account.objects.create(code=f"61{month:02d}", name=f"Expense {month}", type="expense")

    add_rows(1, 1)
    admin_browser.get(url)  # warm up: content types, the session
    few = queries_for(admin_browser, url)
    add_rows(4, 2)
    assert Invoice.objects.count() == 5
    services.bill_month_end(as_of=datetime.date(2026, 5, 1))  # some billed (their invoice shown), one waiting
    assert queries_for(admin_browser, url) == few
