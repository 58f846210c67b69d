from celery import shared_task

from erp import relay
from erp.idempotency import purge_expired


@shared_task(name="erp.tasks.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    """Drop stored Idempotency-Key responses older than IDEMPOTENCY_TTL_HOURS."""
    return purge_expired()


@shared_task(name=relay.DELIVER_TASK)
def deliver_events(delivery_ids: list[int], alias: str) -> list[str]:
    """Deliver events to their subscribers, each delivery on its own (see erp/relay.py)."""
    return relay.deliver_many(delivery_ids, alias)


@shared_task(name="erp.tasks.sweep_events")
def sweep_events() -> int:
    """Re-send deliveries left unsent, lost, or due for a retry."""
    return relay.sweep()


@shared_task(name="erp.tasks.prune_events")
def prune_events() -> int:
    """Drop delivered events and inbox rows past EVENTS_RETENTION_DAYS."""
    return relay.prune()
