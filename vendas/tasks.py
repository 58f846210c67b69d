from celery import shared_task

from vendas import services


@shared_task(name="vendas.release_stale_reservations")
def release_stale_reservations() -> int:
    """Give back the stock of confirmation attempts no order holds (beat, every minute)."""
    return services.release_stale_reservations()
