from celery import shared_task

from erp.idempotency import purge_expired


@shared_task(name="erp.tasks.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    """Drop stored Idempotency-Key responses older than IDEMPOTENCY_TTL_HOURS."""
    return purge_expired()
