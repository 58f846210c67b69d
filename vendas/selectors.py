"""Querysets for vendas' list endpoints and admin: each list costs the same
number of queries whatever its page size (lines prefetched in one query)."""

from django.db.models import Prefetch, QuerySet

from vendas.models import Customer, Price, SalesOrder, SalesOrderLine


def customers() -> QuerySet[Customer]:
    return Customer.objects.all()


def prices() -> QuerySet[Price]:
    return Price.objects.all()


def orders() -> QuerySet[SalesOrder]:
    return SalesOrder.objects.select_related("customer").prefetch_related(
        Prefetch("lines", queryset=SalesOrderLine.objects.order_by("position"))
    )
