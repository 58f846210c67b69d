"""Replenishments: estoque's record of each ``stock_replenishment`` run (the
definition is in estoque/workflows.py).

A drop below the reorder point sets ``StockLevel.replenishment_pending`` and
announces StockBelowReorderPoint once (services._announce_low_stock); its
subscriber calls :func:`start`, which starts a run and records it here as the
pair's one open replenishment. The run's closing steps (received, rejected,
expired) and the engine's RunCancelled/RunFailed events call :func:`close`,
which clears the flag, so the next drop may start another run. Goods that
arrive before the run waits for them are kept by :func:`note_receipt` until the
approval (:func:`noted_receipt`).

Every write is a transaction on estoque's database. The workflows engine is
another app: its calls commit on their own (erp/db.py), so a start that then
loses the race for the pair's open slot cancels the run it started. :func:`close`
is idempotent by ``thread_id`` (only an open replenishment changes): a step may
run twice, an event may be redelivered.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

import structlog
from django.db import IntegrityError
from django.utils import timezone

from erp.db import atomic
from erp.errors import ConflictError, NotFoundError
from estoque import interfaces
from estoque.models import Product, Replenishment, StockLevel, Warehouse

APP = "estoque"
DEFINITION = "stock_replenishment"
SIGNAL = "goods_received"  # the WaitStep's signal (estoque/workflows.py)
FINISHED = ("completed", "failed", "cancelled")
QUANTITY_PLACES = Decimal("0.001")
Status = Replenishment.Status

logger = structlog.get_logger(__name__)


def quantity_text(value: Decimal | str) -> str:
    """A quantity as the runs carry it: text with 3 places ("12.500")."""
    return str(Decimal(value).quantize(QUANTITY_PLACES, rounding=ROUND_HALF_UP))


def open_for(*, thread_id: UUID) -> Replenishment | None:
    """The open replenishment of the run ``thread_id``, if any."""
    return Replenishment.objects.filter(thread_id=thread_id, status=Status.OPEN).first()


def _clear_pending(product_id: UUID, warehouse_id: UUID) -> None:
    StockLevel.objects.filter(
        product_id=product_id, warehouse_id=warehouse_id, replenishment_pending=True
    ).update(replenishment_pending=False, updated_at=timezone.now())


def _worth_replenishing(product_id: UUID, warehouse_id: UUID, reorder_quantity: Decimal) -> bool:
    product = Product.objects.filter(pk=product_id).only("is_active").first()
    warehouse = Warehouse.objects.filter(pk=warehouse_id).only("is_active").first()
    return bool(product and product.is_active and warehouse and warehouse.is_active and reorder_quantity > 0)


def start(
    *,
    product_id: UUID,
    warehouse_id: UUID,
    sku: str,
    reorder_quantity: Decimal,
    available: Decimal,
    reorder_point: Decimal,
    event_id: UUID,
) -> Replenishment | None:
    """Start the pair's replenishment run, unless one is open (nothing to do) or
    there is nothing to reorder (a quantity of 0, an inactive product or
    warehouse: the pending flag is cleared, so a later drop is announced again).
    Returns the new replenishment, or None when none was started.

    The run is started under a key made of the announcing event's id: when a
    worker dies after starting the run but before recording it here, the
    redelivered event finds that same run and records it, instead of leaving an
    orphan run and starting a second one."""
    with atomic(APP):
        if Replenishment.objects.filter(
            product_id=product_id, warehouse_id=warehouse_id, status=Status.OPEN
        ).exists():
            return None
        if not _worth_replenishing(product_id, warehouse_id, reorder_quantity):
            _clear_pending(product_id, warehouse_id)
            return None
        proposed = quantity_text(reorder_quantity)
        run = interfaces.workflows().start(
            definition=DEFINITION,
            input={
                "product_id": str(product_id),
                "warehouse_id": str(warehouse_id),
                "sku": sku,
                "reorder_quantity": proposed,
                "available": quantity_text(available),
                "reorder_point": quantity_text(reorder_point),
            },
            started_by=None,
            idempotency_key=f"estoque:replenishment:{event_id}",
        )
        try:
            with atomic(APP):
                return Replenishment.objects.create(
                    product_id=product_id,
                    warehouse_id=warehouse_id,
                    thread_id=run.thread_id,
                    proposed_quantity=Decimal(proposed),
                )
        except IntegrityError:
            # A concurrent start won the pair's one open slot between our check
            # and our insert: the run just started has no replenishment to serve.
            _cancel_orphan(run.thread_id)
            return None


def _cancel_orphan(thread_id: UUID) -> None:
    try:
        interfaces.workflows().cancel(
            thread_id=thread_id, reason="Another replenishment is already open for this product."
        )
    except (ConflictError, NotFoundError) as exc:  # already finished: nothing to undo
        logger.info("replenishment_duplicate_not_cancelled", thread_id=str(thread_id), error=exc.code)
    else:
        logger.info("replenishment_duplicate_cancelled", thread_id=str(thread_id))


def close(*, thread_id: UUID, status: str, received_quantity: Decimal | None = None) -> bool:
    """End the replenishment of run ``thread_id`` with ``status`` (received,
    rejected, expired, cancelled) and clear the pair's pending flag. True when
    this call closed it; False when it was already closed or is unknown (a
    repeat, or a run whose start lost the race)."""
    if status not in Status.values or status == Status.OPEN:
        raise ValueError(f"not a closing status: {status!r}")
    with atomic(APP):
        replenishment = Replenishment.objects.select_for_update().filter(thread_id=thread_id).first()
        if replenishment is None or replenishment.status != Status.OPEN:
            return False
        replenishment.status = status
        replenishment.closed_at = timezone.now()
        if received_quantity is not None:
            replenishment.received_quantity = Decimal(received_quantity).quantize(QUANTITY_PLACES)
        replenishment.save(update_fields=["status", "closed_at", "received_quantity"])
        _clear_pending(replenishment.product_id, replenishment.warehouse_id)
    logger.info("replenishment_closed", thread_id=str(thread_id), status=status)
    return True


def record_approved(*, thread_id: UUID, quantity: Decimal) -> None:
    """A manager approved run ``thread_id`` for ``quantity`` (idempotent: the
    same step run twice writes the same value)."""
    with atomic(APP):
        Replenishment.objects.filter(thread_id=thread_id, status=Status.OPEN).update(
            approved_quantity=Decimal(quantity).quantize(QUANTITY_PLACES)
        )


def note_receipt(*, thread_id: UUID, quantity: Decimal) -> bool:
    """The goods of run ``thread_id`` arrived (its one receipt: a reference is
    spent once used): keep the quantity on the open replenishment, so a run
    that was not yet waiting for them (awaiting approval, or between two steps)
    finds them once approved. False when no open replenishment has the run."""
    with atomic(APP):
        noted = Replenishment.objects.filter(thread_id=thread_id, status=Status.OPEN).update(
            received_quantity=Decimal(quantity).quantize(QUANTITY_PLACES)
        )
    return bool(noted)


def noted_receipt(*, thread_id: UUID) -> Decimal | None:
    """What arrived for run ``thread_id`` before it waited for it, if anything.
    A locking read: a note being written now is waited for, not missed."""
    with atomic(APP):
        return (
            Replenishment.objects.select_for_update()
            .filter(thread_id=thread_id, status=Status.OPEN)
            .values_list("received_quantity", flat=True)
            .first()
        )


def record_received(*, thread_id: UUID, quantity: Decimal) -> bool:
    """The goods arrived: close as received with the quantity the receipt held."""
    return close(thread_id=thread_id, status=Status.RECEIVED, received_quantity=quantity)


def _thread_id(reference: str) -> UUID | None:
    # Most receipts reference a supplier's document, not a run.
    try:
        return UUID(reference.strip())
    except ValueError:
        return None


def _awaiting_approval(run) -> bool:
    return run.status == "waiting" and (run.waiting_for or {}).get("step") == "approve"


def goods_received(*, warehouse_id: UUID, reference: str, quantities: list[tuple[UUID, Decimal]]) -> None:
    """A receipt arrived (StockReceived). When its reference is an open
    replenishment's thread_id it brings that run's goods: what it holds of the
    product in the replenishment's warehouse ("0.000" when nothing, since the
    reference is spent and no later receipt can carry it) is the signal's
    payload. A run still awaiting approval cannot take the signal: the quantity
    is noted on the replenishment, and the run closes as received once approved.
    Raises (so the relay retries) while the run moves between two steps."""
    thread_id = _thread_id(reference)
    replenishment = open_for(thread_id=thread_id) if thread_id else None
    if replenishment is None:
        return
    received = quantity_text(
        sum(
            (
                quantity
                for product_id, quantity in quantities
                if product_id == replenishment.product_id and warehouse_id == replenishment.warehouse_id
            ),
            Decimal("0"),
        )
    )
    workflows = interfaces.workflows()
    try:
        workflows.signal(thread_id=thread_id, name=SIGNAL, payload={"quantity": received})
    except NotFoundError as exc:
        logger.warning("replenishment_run_missing", thread_id=str(thread_id), error=exc.code)
        return
    except ConflictError:
        pass
    else:
        return
    # Not waiting for the goods. The signal went first so that no row of ours is
    # locked while the run's next steps (which close the replenishment) run.
    if _awaiting_approval(workflows.get(thread_id=thread_id)):
        note_receipt(thread_id=thread_id, quantity=Decimal(received))
        # Approved meanwhile? Its step may have looked before our note: retry,
        # and the retry signals it.
        run = workflows.get(thread_id=thread_id)
        if run.status in FINISHED or _awaiting_approval(run):
            logger.info("replenishment_receipt_noted", thread_id=str(thread_id))
            return
    elif workflows.get(thread_id=thread_id).status in FINISHED:
        return  # ended meanwhile: the replenishment is being closed
    # Between two steps (just approved): a retry finds it waiting for the goods.
    raise RuntimeError(f"run {thread_id} is moving between steps; the receipt is retried")


def run_ended(*, thread_id: UUID, definition: str) -> None:
    """A run was cancelled or failed (workflows' events): a replenishment run no
    longer serves its pair, so close it (as cancelled) and let the next drop
    start another, rather than wait for an admin's retry."""
    if definition == DEFINITION:
        close(thread_id=thread_id, status=Status.CANCELLED)
