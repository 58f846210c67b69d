"""An order over its customer's credit limit waits for a manager's approval in
a ``sales_order_approval`` run (Celery eager: the run's automatic steps run
when their transaction commits). The order's creator may never approve it; a
rejection cancels the order; stock gone by the time of the approval sends the
order back to draft; no answer in time escalates to an admin."""

import datetime
from decimal import Decimal

import pytest

from erp.db import alias
from erp.models import OutboxEvent
from estoque import services as stock
from estoque.contract import CountLine
from estoque.models import StockLevel
from financeiro.contract import CustomerSnapshot
from tests.estoque.factories import WarehouseFactory, stocked
from tests.financeiro.factories import invoice
from tests.vendas.factories import CustomerFactory, draft, line
from workflows import services as engine
from workflows.models import WorkflowRun

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

API = "/api/v1/vendas/"
RUNS = "/api/v1/workflows/"


@pytest.fixture
def over_limit(client_as):
    """A draft of 50.00 by a sales user for a customer with a 100.00 limit who owes 60.00."""
    creator = client_as("sales", "manager")
    buyer = CustomerFactory(credit_limit=Decimal("100.00"))
    who = CustomerSnapshot(id=buyer.pk, name=buyer.name, code=buyer.code, tax_id=buyer.tax_id)
    invoice(who, amount="60.00", tax_rate="0", issue_date=datetime.date.today())
    warehouse = WarehouseFactory()
    product = stocked(warehouse, quantity=5)
    order = draft(line(product, "5", "10.00"), customer=buyer, warehouse=warehouse, actor_id=creator.user.pk)
    return creator, order, product


def confirm(client, order) -> dict:
    response = client.post(f"{API}orders/{order.pk}/confirm/")
    assert response.status_code == 200, response.content
    return response.json()


def answer(client, thread_id, **decision):
    return client.post(f"{RUNS}{thread_id}/continue/", {"input": decision}, format="json")


def reserved(product) -> Decimal:
    return StockLevel.objects.get(product=product).reserved


def test_over_the_limit_waits_for_a_manager_who_is_not_the_creator(client_as, over_limit):
    creator, order, product = over_limit
    requester = client_as("sales", "manager")  # a colleague confirms the creator's order
    pending = confirm(requester, order)
    assert pending["status"] == "pending_approval" and pending["workflow"]
    assert "110.00" in pending["status_reason"] and "100.00" in pending["status_reason"]
    assert reserved(product) == 0  # nothing is held while it waits
    run = creator.get(f"{RUNS}{pending['workflow']}/").json()
    assert run["definition"] == "sales_order_approval" and run["status"] == "waiting"
    assert run["waiting_for"]["step"] == "approve" and run["waiting_for"]["roles"] == ["manager"]
    assert run["state"]["exposure"] == "110.00"
    # The creator holds the manager role, and still may not approve their own order;
    # nor may the colleague who asked for the approval (maker ≠ checker).
    for maker in (creator, requester):
        own = answer(maker, pending["workflow"], approved=True)
        assert own.status_code == 403 and own.json()["code"] == "step_not_allowed"
    assert client_as("sales").get(f"{API}orders/{order.pk}/").json()["status"] == "pending_approval"
    manager = client_as("manager")
    assert answer(manager, pending["workflow"], approved=True, comment="good payer").status_code == 202
    confirmed = creator.get(f"{API}orders/{order.pk}/").json()
    assert confirmed["status"] == "confirmed"
    assert reserved(product) == Decimal("5")
    finished = creator.get(f"{RUNS}{pending['workflow']}/").json()
    assert finished["status"] == "completed" and finished["state"]["result"] == {"outcome": "confirmed"}
    assert OutboxEvent.objects.using(alias("vendas")).filter(event_type="vendas.OrderConfirmed").count() == 1


def test_a_rejection_needs_a_comment_and_cancels_the_order(client_as, over_limit):
    creator, order, _product = over_limit
    pending = confirm(creator, order)
    manager = client_as("manager")
    assert answer(manager, pending["workflow"], approved=False).status_code == 400
    assert answer(manager, pending["workflow"], approved=False, comment="owes too much").status_code == 202
    cancelled = creator.get(f"{API}orders/{order.pk}/").json()
    assert cancelled["status"] == "cancelled"
    assert "owes too much" in cancelled["status_reason"]
    cancel_event = OutboxEvent.objects.using(alias("vendas")).get(event_type="vendas.OrderCancelled")
    assert cancel_event.payload["order_id"] == str(order.pk)


def test_stock_gone_by_the_approval_sends_the_order_back_to_draft_with_the_reason(client_as, over_limit):
    creator, order, product = over_limit
    pending = confirm(creator, order)
    stock.adjust(
        warehouse_id=order.warehouse_id, reason="breakage", lines=[CountLine(product.pk, Decimal("2"))]
    )
    assert answer(client_as("manager"), pending["workflow"], approved=True).status_code == 202
    back = creator.get(f"{API}orders/{order.pk}/").json()
    assert back["status"] == "draft"
    assert "stock is gone" in back["status_reason"] and product.sku in back["status_reason"]
    run = creator.get(f"{RUNS}{pending['workflow']}/").json()
    assert run["state"]["result"]["outcome"] == "draft"
    assert run["state"]["result"]["lines"][0]["sku"] == product.sku
    assert reserved(product) == 0


def test_no_answer_in_time_escalates_to_an_admin(client_as, over_limit):
    creator, order, _product = over_limit
    pending = confirm(creator, order)
    WorkflowRun.objects.filter(pk=pending["workflow"]).update(deadline_at="2000-01-01T00:00:00Z")
    assert engine.apply_deadlines() == 1
    run = creator.get(f"{RUNS}{pending['workflow']}/").json()
    assert run["waiting_for"]["step"] == "escalate" and run["waiting_for"]["roles"] == ["admin"]
    assert answer(client_as("manager"), pending["workflow"], approved=True).status_code == 403
    assert answer(client_as("admin"), pending["workflow"], approved=True).status_code == 202
    assert creator.get(f"{API}orders/{order.pk}/").json()["status"] == "confirmed"


def test_cancelling_a_pending_order_cancels_its_run_and_a_cancelled_run_returns_the_order_to_draft(
    client_as, over_limit
):
    creator, order, _product = over_limit
    pending = confirm(creator, order)
    assert creator.post(f"{API}orders/{order.pk}/cancel/").json()["status"] == "cancelled"
    assert creator.get(f"{RUNS}{pending['workflow']}/").json()["status"] == "cancelled"
    # Another order's run cancelled by an admin in the workflows API: that order is a draft again.
    other = draft(line(stocked(WarehouseFactory(), quantity=5), "5", "10.00"), customer=order.customer)
    again = confirm(creator, other)
    admin = client_as("admin")
    assert admin.post(f"{RUNS}{again['workflow']}/cancel/").status_code == 200
    back = creator.get(f"{API}orders/{other.pk}/").json()
    assert back["status"] == "draft" and "cancelled" in back["status_reason"]
