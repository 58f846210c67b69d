"""Closing a month through the ``period_close`` workflow over the API (Celery
eager: the run's automatic steps run when their transaction commits): checks,
then a finance user other than the starter confirms; postings are refused
while it closes and after; a failed check or a "no" reopens the month."""

import datetime
import uuid
from decimal import Decimal

import pytest

from erp.db import alias
from erp.models import OutboxEvent
from financeiro import period_close, services
from financeiro.models import FiscalPeriod, JournalEntry
from tests.financeiro.factories import account, held, post

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

API = "/api/v1/financeiro/"
RUNS = "/api/v1/workflows/"
MARCH = datetime.date(2026, 3, 10)


@pytest.fixture
def march():
    post(MARCH, ("1010", "100.00", "0"), ("3000", "0", "100.00"))
    return FiscalPeriod.objects.get(year=2026, month=3)


def start_close(client, period) -> dict:
    response = client.post(f"{API}periods/{period.id}/close/", {}, format="json")
    assert response.status_code == 202, response.content
    return response.json()


def test_a_period_closes_after_checks_and_a_second_finance_users_confirmation(client_as, march):
    maker, checker = client_as("finance"), client_as("finance")
    started = start_close(maker, march)
    assert started["status"] == "waiting"
    listed = maker.get(f"{API}periods/").json()["results"][0]
    assert (listed["status"], listed["workflow"]) == ("closing", started["thread_id"])
    run = maker.get(f"{RUNS}{started['thread_id']}/").json()
    assert run["waiting_for"]["step"] == "confirm"
    assert run["state"]["checks"]["total_debit"] == "100.00"
    # Nothing posts into a closing month.
    refused = maker.post(
        f"{API}journal-entries/",
        {
            "date": "2026-03-20",
            "lines": [
                {"account": str(account("1000").id), "debit": "1.00"},
                {"account": str(account("4000").id), "credit": "1.00"},
            ],
        },
        format="json",
    )
    assert refused.status_code == 409
    # Maker ≠ checker.
    own = maker.post(f"{RUNS}{started['thread_id']}/continue/", {"input": {"confirm": True}}, format="json")
    assert own.status_code == 403
    answer = checker.post(
        f"{RUNS}{started['thread_id']}/continue/", {"input": {"confirm": True}}, format="json"
    )
    assert answer.status_code == 202, answer.content
    march.refresh_from_db()
    assert march.status == "closed" and march.closed_by == checker.user.pk
    (closed,) = [
        e.payload
        for e in OutboxEvent.objects.using(alias("financeiro")).filter(event_type="financeiro.PeriodClosed")
    ]
    assert closed == {"period_id": str(march.id), "year": 2026, "month": 3, "closed_by": str(checker.user.pk)}
    assert maker.get(f"{RUNS}{started['thread_id']}/").json()["status"] == "completed"
    assert maker.post(f"{API}periods/{march.id}/close/", {}, format="json").status_code == 409


def test_closing_twice_at_once_is_a_409(client_as, march):
    finance = client_as("finance")
    start_close(finance, march)
    again = finance.post(f"{API}periods/{march.id}/close/", {}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "period_not_closable"


def test_a_failed_check_ends_the_run_with_the_reasons_and_reopens_the_month(client_as, march):
    # Inventory posted by hand, with no stock in estoque: the account and the stock value disagree.
    post(MARCH, ("1200", "25.00", "0"), ("3000", "0", "25.00"))
    finance = client_as("finance")
    started = start_close(finance, march)
    run = finance.get(f"{RUNS}{started['thread_id']}/").json()
    assert run["status"] == "failed"
    assert "25.00" in run["error"] and "nventory" in run["error"]
    march.refresh_from_db()
    assert march.status == "open"
    post(MARCH, ("1000", "1.00", "0"), ("4000", "0", "1.00"))  # the month takes postings again


def test_a_no_at_confirmation_reopens_the_month(client_as, march):
    maker, checker = client_as("finance"), client_as("finance")
    started = start_close(maker, march)
    checker.post(f"{RUNS}{started['thread_id']}/continue/", {"input": {"confirm": False}}, format="json")
    march.refresh_from_db()
    assert march.status == "open"
    assert JournalEntry.objects.count() == 1
    assert Decimal(maker.get(f"{API}reports/trial-balance/").json()["total_debit"]) == Decimal("100.00")


def test_a_month_whose_shipments_await_month_end_billing_does_not_close(client_as, march):
    held(shipped_on=MARCH, order_number="SO-2026-000009")
    maker, checker = client_as("finance"), client_as("finance")
    refused = maker.post(f"{API}periods/{march.id}/close/", {}, format="json")
    assert refused.status_code == 409
    assert refused["Content-Type"] == "application/problem+json"
    body = refused.json()
    assert body["code"] == "period_not_closable"
    assert body["detail"] == (
        "1 shipment of 2026-03 awaits month-end billing (SO-2026-000009): run manage.py bill_month_end."
    )
    assert body["awaiting_month_end_billing"] == ["SO-2026-000009"]
    march.refresh_from_db()
    assert (march.status, march.workflow) == ("open", None)  # no run started
    assert maker.get(RUNS, {"definition": "period_close"}).json()["count"] == 0

    assert services.bill_month_end(as_of=datetime.date(2026, 4, 1)) == 1
    started = start_close(maker, march)
    assert started["status"] == "waiting"
    # One shipped meanwhile (its event late): the confirmed close is refused, the month reopens.
    held(shipped_on=MARCH, order_number="SO-2026-000010")
    checker.post(f"{RUNS}{started['thread_id']}/continue/", {"input": {"confirm": True}}, format="json")
    run = maker.get(f"{RUNS}{started['thread_id']}/").json()
    assert run["status"] == "failed" and "SO-2026-000010" in run["error"]
    march.refresh_from_db()
    assert march.status == "open"


def test_a_shipment_held_between_the_start_and_the_checks_fails_them_and_reopens_the_month(march):
    run = uuid.uuid4()
    services.period_mark_closing(period_id=march.id, workflow=run)  # started: nothing awaited billing
    held(shipped_on=MARCH, order_number="SO-2026-000011")  # its event arrives before the checks run
    with pytest.raises(period_close.PeriodChecksFailedError, match=r"\(SO-2026-000011\)"):
        period_close.check(period_id=str(march.id), thread_id=run, year=2026, month=3)
    march.refresh_from_db()
    assert march.status == "open"
