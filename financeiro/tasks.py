from celery import shared_task

from financeiro import interfaces, services


@shared_task(name="financeiro.bill_month_end")
def bill_month_end() -> int:
    """Invoice the month-end customers' shipments of every month that has ended
    (beat, hourly: the first run after midnight on the 1st bills last month)."""
    return services.bill_month_end(as_of=interfaces.today())
