"""Querysets for estoque's list endpoints (and admin): each joins what its rows
show in the one query, so a page costs the same number of queries whatever its
size."""

from __future__ import annotations

from django.db.models import F, QuerySet

from estoque.models import Product, Reservation, StockLevel, StockMove, Warehouse


def products() -> QuerySet[Product]:
    return Product.objects.all()


def warehouses() -> QuerySet[Warehouse]:
    return Warehouse.objects.all()


def stock_levels() -> QuerySet[StockLevel]:
    """Levels with ``available_quantity`` (on_hand - reserved) computed in SQL, so
    it can be filtered and sorted (``available`` is the model's own property)."""
    return (
        StockLevel.objects.select_related("product", "warehouse")
        .annotate(
            available_quantity=F("on_hand") - F("reserved"),
            sku=F("product__sku"),
            warehouse_code=F("warehouse__code"),
        )
        .order_by("product__sku", "warehouse__code")
    )


def stock_moves() -> QuerySet[StockMove]:
    return StockMove.objects.annotate(sku=F("product__sku"), warehouse_code=F("warehouse__code")).order_by(
        "-created_at", "id"
    )


def reservations() -> QuerySet[Reservation]:
    return Reservation.objects.annotate(sku=F("product__sku"), warehouse_code=F("warehouse__code")).order_by(
        "-created_at", "id"
    )
