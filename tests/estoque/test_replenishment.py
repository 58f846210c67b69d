"""The replenishment process in one process (Celery eager: events are delivered
and automatic steps run when their transaction commits): a drop below the
reorder point starts a ``stock_replenishment`` run, a manager answers it over
the API, the goods receipt whose reference is the run's thread_id completes it.
The same flow with a real worker is in tests/flows/test_replenishment_worker.py."""

import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connections
from django.utils import timezone

from erp.db import atomic, close_side_connections
from erp.models import Delivery, OutboxEvent
from erp.routers import alias_for_app
from estoque import interfaces, replenishments, services
from estoque.contract import CountLine, Line, ReceiptLine
from estoque.models import Replenishment, StockLevel
from tests.estoque.factories import ProductFactory, WarehouseFactory, stocked
from tests.worker import wait_until
from workflows import services as engine
from workflows.models import WorkflowRun

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

RUNS = "/api/v1/workflows/"
ESTOQUE_DB = alias_for_app("estoque")


@pytest.fixture
def warehouse():
    return WarehouseFactory()


@pytest.fixture
def product(warehouse):
    # 10 on hand; below 5 available it reorders 20.
    return stocked(warehouse, quantity=10, reorder_point="5.000", reorder_quantity="20.000")


def reserve(product, warehouse, quantity, order_ref=None):
    return services.reserve(
        order_ref=order_ref or f"order-{uuid.uuid4()}",
        warehouse_id=warehouse.pk,
        lines=[Line(product_id=product.pk, quantity=Decimal(quantity))],
    )


def receive(product, warehouse, quantity, reference):
    return services.receive(
        warehouse_id=warehouse.pk,
        reference=str(reference),
        lines=[ReceiptLine(product_id=product.pk, quantity=Decimal(quantity), unit_cost=Decimal("3.0000"))],
    )


def replenishments_of(product, warehouse):
    return list(Replenishment.objects.filter(product=product, warehouse=warehouse).order_by("created_at"))


def only_replenishment(product, warehouse):
    found = replenishments_of(product, warehouse)
    assert len(found) == 1, found
    return found[0]


def run_of(replenishment):
    return WorkflowRun.objects.get(pk=replenishment.thread_id)


def pending(product, warehouse) -> bool:
    return StockLevel.objects.get(product=product, warehouse=warehouse).replenishment_pending


def announcements(product) -> int:
    return (
        OutboxEvent.objects.using(ESTOQUE_DB)
        .filter(event_type="estoque.StockBelowReorderPoint", payload__product_id=str(product.pk))
        .count()
    )


def answer(client, replenishment, **input):
    return client.post(
        f"{RUNS}{replenishment.thread_id}/continue/", {"input": input, "step": "approve"}, format="json"
    )


def started(product, warehouse):
    """Drop below the reorder point; the run it started, waiting for a manager."""
    reserve(product, warehouse, 6)
    replenishment = only_replenishment(product, warehouse)
    assert run_of(replenishment).current_step == "approve"
    return replenishment


def test_a_drop_below_the_reorder_point_starts_a_run_that_waits_for_a_manager(product, warehouse):
    reserve(product, warehouse, 6)  # available 4 < 5

    replenishment = only_replenishment(product, warehouse)
    assert replenishment.status == "open"
    assert replenishment.proposed_quantity == Decimal("20.000")
    run = run_of(replenishment)
    assert run.definition == "stock_replenishment"
    assert run.status == "waiting"
    assert run.waiting_for["step"] == "approve"
    assert run.waiting_for["roles"] == ["manager"]
    assert run.state["sku"] == product.sku
    assert run.state["available"] == "4.000"
    assert run.state["proposed_quantity"] == "20.000"
    assert run.deadline_at is not None
    assert pending(product, warehouse)


def test_further_drops_while_one_is_open_start_nothing_and_announce_nothing(product, warehouse):
    started(product, warehouse)

    reserve(product, warehouse, 1)
    services.adjust(
        warehouse_id=warehouse.pk,
        reason="count",
        lines=[CountLine(product_id=product.pk, counted_quantity=Decimal("8"))],
    )

    assert announcements(product) == 1
    only_replenishment(product, warehouse)
    assert WorkflowRun.objects.filter(definition="stock_replenishment", state__sku=product.sku).count() == 1


def test_approved_with_another_quantity_the_receipt_completes_the_run(product, warehouse, client_as):
    replenishment = started(product, warehouse)

    response = answer(client_as("manager"), replenishment, approved=True, quantity="35.5", comment="bulk")
    assert response.status_code == 202, response.content
    run = run_of(replenishment)
    assert (run.status, run.current_step) == ("waiting", "await_receipt")
    assert run.waiting_for["signal"] == "goods_received"
    assert run.state["approved_quantity"] == "35.500"
    replenishment.refresh_from_db()
    assert replenishment.approved_quantity == Decimal("35.500")  # kept on estoque's record too

    receive(product, warehouse, "35.5", reference=replenishment.thread_id)

    run = run_of(replenishment)
    assert run.status == "completed"
    assert run.result["outcome"] == "received"
    assert run.result["received_quantity"] == "35.500"
    replenishment.refresh_from_db()
    assert replenishment.status == "received"
    assert replenishment.received_quantity == Decimal("35.500")
    assert replenishment.closed_at is not None
    assert not pending(product, warehouse)


def test_after_the_goods_arrived_the_next_drop_starts_a_new_run(product, warehouse, client_as):
    first = started(product, warehouse)
    answer(client_as("manager"), first, approved=True)
    receive(product, warehouse, 20, reference=first.thread_id)  # available 24

    reserve(product, warehouse, 20)  # available 4

    second = replenishments_of(product, warehouse)[-1]
    assert second.thread_id != first.thread_id
    assert second.status == "open"
    assert run_of(second).current_step == "approve"
    assert announcements(product) == 2


def test_a_rejected_replenishment_ends_and_the_next_drop_starts_another(product, warehouse, client_as):
    first = started(product, warehouse)

    response = answer(client_as("manager"), first, approved=False, comment="supplier closed")
    assert response.status_code == 202, response.content

    run = run_of(first)
    assert run.status == "completed"
    assert run.result["outcome"] == "rejected"
    first.refresh_from_db()
    assert first.status == "rejected"
    assert not pending(product, warehouse)

    reserve(product, warehouse, 1)  # still below the reorder point: a new drop

    second = replenishments_of(product, warehouse)[-1]
    assert second.pk != first.pk and second.status == "open"
    assert run_of(second).current_step == "approve"


def test_unanswered_past_its_deadline_the_replenishment_expires(product, warehouse):
    replenishment = started(product, warehouse)

    with time_machine.travel(timezone.now() + timedelta(days=2, minutes=1)):
        assert engine.apply_deadlines() == 1

    run = run_of(replenishment)
    assert run.status == "completed"
    assert run.result["outcome"] == "expired"
    replenishment.refresh_from_db()
    assert replenishment.status == "expired"
    assert not pending(product, warehouse)


def test_approved_goods_that_never_arrive_expire_after_the_receipt_deadline(product, warehouse, client_as):
    replenishment = started(product, warehouse)
    answer(client_as("manager"), replenishment, approved=True)

    with time_machine.travel(timezone.now() + timedelta(days=29)):
        assert engine.apply_deadlines() == 0
    with time_machine.travel(timezone.now() + timedelta(days=30, minutes=1)):
        assert engine.apply_deadlines() == 1

    replenishment.refresh_from_db()
    assert replenishment.status == "expired"
    assert run_of(replenishment).result["outcome"] == "expired"
    assert not pending(product, warehouse)
    # The reference is no longer awaited: a late receipt is plain stock in.
    receive(product, warehouse, 20, reference=replenishment.thread_id)
    replenishment.refresh_from_db()
    assert replenishment.status == "expired"


def test_only_a_manager_may_answer(product, warehouse, client_as):
    replenishment = started(product, warehouse)

    response = answer(client_as("warehouse"), replenishment, approved=True)

    assert response.status_code == 403
    assert response.json()["code"] == "step_not_allowed"
    assert run_of(replenishment).current_step == "approve"
    replenishment.refresh_from_db()
    assert replenishment.status == "open"


@pytest.mark.parametrize(
    "input",
    [
        {"approved": True, "quantity": "0"},
        {"approved": True, "quantity": "0.000"},
        {"approved": True, "quantity": "-3"},
        {"approved": True, "quantity": "1.2345"},
        {"approved": True, "quantity": "lots"},
        {"approved": True, "quantity": 12},
        {"approved": "yes"},
        {"quantity": "10"},
        {"approved": True, "colour": "red"},
    ],
)
def test_a_bad_answer_is_a_400_and_changes_nothing(product, warehouse, client_as, input):
    replenishment = started(product, warehouse)

    response = client_as("manager").post(
        f"{RUNS}{replenishment.thread_id}/continue/", {"input": input}, format="json"
    )

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_input"
    run = run_of(replenishment)
    assert (run.status, run.current_step) == ("waiting", "approve")


def test_cancelling_the_run_through_the_api_cancels_the_replenishment(product, warehouse, client_as):
    replenishment = started(product, warehouse)

    response = client_as("manager").post(
        f"{RUNS}{replenishment.thread_id}/cancel/", {"reason": "discontinued"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert run_of(replenishment).status == "cancelled"
    replenishment.refresh_from_db()
    assert replenishment.status == "cancelled"
    assert not pending(product, warehouse)
    reserve(product, warehouse, 1)
    assert replenishments_of(product, warehouse)[-1].status == "open"


def test_a_failed_run_closes_its_replenishment(product, warehouse):
    replenishment = started(product, warehouse)
    # The engine's own failure path (a deadline with nowhere to go publishes
    # RunFailed the same way a failing step does).
    run = run_of(replenishment)
    with atomic("workflows"):
        engine._failed(engine._locked(run.pk), "approve", "boom")

    replenishment.refresh_from_db()
    assert replenishment.status == "cancelled"
    assert not pending(product, warehouse)


def test_goods_that_arrive_before_the_approval_complete_the_run_once_approved(product, warehouse, client_as):
    replenishment = started(product, warehouse)

    receive(product, warehouse, 20, reference=replenishment.thread_id)

    run = run_of(replenishment)
    assert (run.status, run.current_step) == ("waiting", "approve")
    replenishment.refresh_from_db()
    assert (replenishment.status, replenishment.received_quantity) == ("open", Decimal("20.000"))
    delivery = Delivery.objects.using(ESTOQUE_DB).get(
        subscriber="estoque.replenishment_goods_received",
        event__event_type="estoque.StockReceived",
        event__payload__reference=str(replenishment.thread_id),
    )
    assert delivery.status == "delivered"  # not failed: a redelivery could not help

    answer(client_as("manager"), replenishment, approved=True, quantity="25")

    run = run_of(replenishment)
    assert run.status == "completed"
    assert (run.result["approved_quantity"], run.result["received_quantity"]) == ("25.000", "20.000")
    replenishment.refresh_from_db()
    assert (replenishment.status, replenishment.received_quantity) == ("received", Decimal("20.000"))
    assert not pending(product, warehouse)


def test_a_receipt_without_the_product_completes_it_with_nothing_received(product, warehouse, client_as):
    replenishment = started(product, warehouse)
    answer(client_as("manager"), replenishment, approved=True)
    other = ProductFactory()

    receive(other, warehouse, 5, reference=replenishment.thread_id)

    run = run_of(replenishment)
    assert run.status == "completed"
    assert run.result["received_quantity"] == "0.000"
    replenishment.refresh_from_db()
    assert (replenishment.status, replenishment.received_quantity) == ("received", Decimal("0.000"))


def test_receipts_with_other_references_leave_the_run_waiting(product, warehouse, client_as):
    replenishment = started(product, warehouse)
    answer(client_as("manager"), replenishment, approved=True)

    receive(product, warehouse, 5, reference="NF-000123")
    receive(product, warehouse, 5, reference=str(uuid.uuid4()))

    assert run_of(replenishment).current_step == "await_receipt"
    replenishment.refresh_from_db()
    assert replenishment.status == "open"


def test_a_product_without_a_reorder_quantity_starts_nothing_and_is_announced_again(warehouse):
    product = stocked(warehouse, quantity=10, reorder_point="5.000", reorder_quantity="0.000")

    reserve(product, warehouse, 6)

    assert replenishments_of(product, warehouse) == []
    assert not pending(product, warehouse)
    reserve(product, warehouse, 1)
    assert announcements(product) == 2
    assert replenishments_of(product, warehouse) == []


def test_a_start_that_loses_the_race_for_the_pair_cancels_its_run(product, warehouse):
    """A concurrent start holds the pair's open slot, uncommitted: ours does not
    see it, starts its run, then waits on the unique index; once the other
    commits, ours cancels the run it started and leaves the winner alone."""
    winner_id = uuid.uuid4()
    winner_inserted, let_winner_commit = threading.Event(), threading.Event()
    ours: list = []

    def winner():
        try:
            with atomic("estoque"):
                Replenishment.objects.create(
                    product=product, warehouse=warehouse, thread_id=winner_id, proposed_quantity=1
                )
                winner_inserted.set()
                let_winner_commit.wait(30)
        finally:
            close_side_connections()
            connections.close_all()

    def loser():
        try:
            ours.append(
                replenishments.start(
                    product_id=product.pk,
                    warehouse_id=warehouse.pk,
                    sku=product.sku,
                    reorder_quantity=Decimal("20"),
                    available=Decimal("4"),
                    reorder_point=Decimal("5"),
                    event_id=uuid.uuid4(),
                )
            )
        finally:
            close_side_connections()
            connections.close_all()

    threads = [threading.Thread(target=winner), threading.Thread(target=loser)]
    threads[0].start()
    assert winner_inserted.wait(30)
    threads[1].start()
    wait_until(lambda: _run_count(product) == 1 and _blocked_on_a_lock(), 30, message="the loser blocked")
    let_winner_commit.set()
    for thread in threads:
        thread.join(30)

    assert ours == [None]
    assert [(r.thread_id, r.status) for r in replenishments_of(product, warehouse)] == [(winner_id, "open")]
    loser_run = WorkflowRun.objects.get(definition="stock_replenishment", state__sku=product.sku)
    assert loser_run.status == "cancelled"


def _run_count(product) -> int:
    return WorkflowRun.objects.filter(definition="stock_replenishment", state__sku=product.sku).count()


def _blocked_on_a_lock() -> bool:
    with connections[ESTOQUE_DB].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0] > 0


def test_a_redelivery_after_a_crash_records_the_run_already_started_instead_of_a_second(product, warehouse):
    """A worker died after the run started but before the replenishment was
    recorded: the redelivered event starts nothing new and records that run."""
    event_id = uuid.uuid4()
    started = interfaces.workflows().start(
        definition="stock_replenishment",
        input={
            "product_id": str(product.pk),
            "warehouse_id": str(warehouse.pk),
            "sku": product.sku,
            "reorder_quantity": "20.000",
            "available": "4.000",
            "reorder_point": "5.000",
        },
        started_by=None,
        idempotency_key=f"estoque:replenishment:{event_id}",
    )
    replenishment = replenishments.start(
        product_id=product.pk,
        warehouse_id=warehouse.pk,
        sku=product.sku,
        reorder_quantity=Decimal("20"),
        available=Decimal("4"),
        reorder_point=Decimal("5"),
        event_id=event_id,
    )
    assert replenishment is not None and replenishment.thread_id == started.thread_id
    assert _run_count(product) == 1
