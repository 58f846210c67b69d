"""The replenishment process with a real Celery worker (its own Redis broker):
the events travel through the outbox and the broker, the subscribers and the
run's automatic steps run in the worker process. A drop below the reorder
point starts a run, a manager approves over the API, the goods receipt whose
reference is the run's thread_id completes it."""

import uuid
from decimal import Decimal

import pytest

from estoque import services
from estoque.contract import Line, ReceiptLine
from estoque.models import Replenishment, StockLevel
from tests.estoque.factories import WarehouseFactory, stocked
from tests.worker import wait_until
from workflows.models import WorkflowRun

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("real_worker"),  # tests/conftest.py: a worker and a broker of this module's own
]

RUNS = "/api/v1/workflows/"


def reserve(product, warehouse, quantity):
    services.reserve(
        order_ref=f"order-{uuid.uuid4()}",
        warehouse_id=warehouse.pk,
        lines=[Line(product_id=product.pk, quantity=Decimal(quantity))],
    )


def waiting_at(replenishment, step: str) -> bool:
    run = WorkflowRun.objects.filter(pk=replenishment.thread_id).first()
    return run is not None and (run.status, run.current_step) == ("waiting", step)


def test_drop_approve_receive_completes_the_replenishment(client_as):
    warehouse = WarehouseFactory()
    product = stocked(warehouse, quantity=10, reorder_point="5.000", reorder_quantity="20.000")

    reserve(product, warehouse, 6)  # available 4 < 5: StockBelowReorderPoint

    replenishment = wait_until(
        lambda: Replenishment.objects.filter(product=product, warehouse=warehouse).first(),
        30,
        message="the subscriber to start the replenishment",
    )
    wait_until(lambda: waiting_at(replenishment, "approve"), 30, message="the run to wait for a manager")
    assert replenishment.proposed_quantity == Decimal("20.000")

    manager = client_as("manager")
    response = manager.post(
        f"{RUNS}{replenishment.thread_id}/continue/",
        {"input": {"approved": True, "quantity": "25"}, "step": "approve"},
        format="json",
    )
    assert response.status_code == 202, response.content
    wait_until(lambda: waiting_at(replenishment, "await_receipt"), 30, message="the run to await the goods")

    services.receive(
        warehouse_id=warehouse.pk,
        reference=str(replenishment.thread_id),
        lines=[ReceiptLine(product_id=product.pk, quantity=Decimal("25"), unit_cost=Decimal("2.5000"))],
    )

    run = wait_until(
        lambda: WorkflowRun.objects.filter(pk=replenishment.thread_id, status="completed").first(),
        30,
        message="the run to complete",
    )
    assert run.result["outcome"] == "received"
    assert run.result["approved_quantity"] == "25.000"
    assert run.result["received_quantity"] == "25.000"
    replenishment.refresh_from_db()
    assert (replenishment.status, replenishment.received_quantity) == ("received", Decimal("25.000"))
    level = StockLevel.objects.get(product=product, warehouse=warehouse)
    assert not level.replenishment_pending
    assert level.available == Decimal("29.000")
    detail = manager.get(f"{RUNS}{replenishment.thread_id}/").json()
    assert detail["status"] == "completed"


def test_a_rejection_in_the_worker_lets_the_next_drop_start_another(client_as):
    warehouse = WarehouseFactory()
    product = stocked(warehouse, quantity=10, reorder_point="5.000", reorder_quantity="20.000")
    reserve(product, warehouse, 6)
    first = wait_until(
        lambda: Replenishment.objects.filter(product=product, warehouse=warehouse).first(),
        30,
        message="the first replenishment",
    )
    wait_until(lambda: waiting_at(first, "approve"), 30, message="the run to wait for a manager")

    response = client_as("manager").post(
        f"{RUNS}{first.thread_id}/continue/", {"input": {"approved": False}}, format="json"
    )
    assert response.status_code == 202, response.content
    wait_until(
        lambda: Replenishment.objects.filter(pk=first.pk, status="rejected").exists(),
        30,
        message="the replenishment to be rejected",
    )

    reserve(product, warehouse, 1)

    second = wait_until(
        lambda: Replenishment.objects.filter(product=product, warehouse=warehouse, status="open").first(),
        30,
        message="a second replenishment",
    )
    assert second.thread_id != first.thread_id
    wait_until(lambda: waiting_at(second, "approve"), 30, message="the second run to wait for a manager")
