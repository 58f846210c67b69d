"""estoque in the Django admin.

Products and warehouses are edited here, but written by the services, so the
admin keeps the API's rules: the form asks the service first (in a savepoint
rolled back at once) and shows what it refuses as form errors; the save and the
delete then call the service for real. Valuation (on hand, stock value, average
cost) is read-only: only stock documents change it, through the API.

Everything else (levels, the ledger, reservations, documents, replenishments) is
read-only, with the searches and filters a warehouse manager works with; every
changelist joins what its rows show, so a page costs the same queries whatever
its length.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from erp import adminforms
from estoque import selectors, services
from estoque.contract import StockError
from estoque.models import Product, Replenishment, Reservation, StockCommand, StockLevel, StockMove, Warehouse

APP = "estoque"


class ServiceForm(adminforms.ServiceForm):
    app, error = APP, StockError


class ProductForm(ServiceForm):
    create = staticmethod(services.product_create)
    update = staticmethod(services.product_update)

    class Meta:
        model = Product
        fields = services.PRODUCT_FIELDS


class WarehouseForm(ServiceForm):
    create = staticmethod(services.warehouse_create)
    update = staticmethod(services.warehouse_update)

    class Meta:
        model = Warehouse
        fields = services.WAREHOUSE_FIELDS


class ServiceAdmin(adminforms.ServiceAdmin):
    app, error = APP, StockError


class ProductLevelInline(adminforms.ReadOnlyInline):
    model = StockLevel
    fields = ("warehouse", "on_hand", "reserved", "replenishment_pending", "updated_at")
    readonly_fields = fields
    select_related = ("warehouse",)
    verbose_name_plural = _("stock by warehouse")


@admin.register(Product)
class ProductAdmin(ServiceAdmin):
    form = ProductForm
    delete_service = staticmethod(services.product_delete)
    list_display = (
        "sku",
        "name",
        "unit",
        "on_hand",
        "reorder_point",
        "average_cost",
        "stock_value",
        "is_active",
    )
    list_filter = ("is_active", "unit")
    search_fields = ("sku", "name")
    readonly_fields = ("on_hand", "stock_value", "average_cost", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("sku", "name", "description", "unit", "is_active")}),
        (_("Replenishment"), {"fields": ("reorder_point", "reorder_quantity")}),
        (
            _("Valuation (kept by the stock documents)"),
            {"fields": ("on_hand", "average_cost", "stock_value")},
        ),
        (None, {"fields": ("created_at", "updated_at")}),
    )
    inlines = [ProductLevelInline]


@admin.register(Warehouse)
class WarehouseAdmin(ServiceAdmin):
    form = WarehouseForm
    delete_service = staticmethod(services.warehouse_delete)
    list_display = ("code", "name", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("code", "name")
    readonly_fields = ("created_at",)


# --- The ledger and what hangs off it: read-only ---------------------------------------


class BelowReorderPointFilter(admin.SimpleListFilter):
    title = _("reorder point")
    parameter_name = "below_reorder"

    def lookups(self, request, model_admin):
        return [("yes", _("Below the reorder point"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            # available < reorder point, i.e. on_hand - reserved < reorder_point, in SQL.
            return queryset.filter(on_hand__lt=F("reserved") + F("product__reorder_point"))
        return queryset


@admin.register(StockLevel)
class StockLevelAdmin(adminforms.ReadOnlyAdmin):
    list_display = (
        "product",
        "warehouse",
        "on_hand",
        "reserved",
        "available",
        "reorder_point",
        "replenishment_pending",
        "updated_at",
    )
    list_filter = ("warehouse", BelowReorderPointFilter, "replenishment_pending")
    search_fields = ("product__sku", "product__name")
    list_select_related = ("product", "warehouse")
    fields = (
        "product",
        "warehouse",
        "on_hand",
        "reserved",
        "available",
        "replenishment_pending",
        "updated_at",
    )
    readonly_fields = ("available",)

    def get_queryset(self, request):
        return selectors.stock_levels()

    @admin.display(description=_("available"), ordering="available_quantity")
    def available(self, level):
        return level.available_quantity

    @admin.display(description=_("reorder point"), ordering="product__reorder_point")
    def reorder_point(self, level):
        return level.product.reorder_point


@admin.register(StockMove)
class StockMoveAdmin(adminforms.ReadOnlyAdmin):
    list_display = (
        "created_at",
        "product",
        "warehouse",
        "kind",
        "quantity",
        "unit_cost",
        "value",
        "reference",
    )
    list_filter = ("kind", "warehouse", "created_at")
    search_fields = ("product__sku", "reference")
    date_hierarchy = "created_at"
    list_select_related = ("product", "warehouse")
    show_full_result_count = False  # the ledger grows without end: no second COUNT(*) per page


class CommandMoveInline(adminforms.ReadOnlyInline):
    model = StockMove
    fields = ("product", "warehouse", "kind", "quantity", "unit_cost", "value")
    readonly_fields = fields
    select_related = ("product", "warehouse")


class CommandReservationInline(adminforms.ReadOnlyInline):
    model = Reservation
    fields = ("product", "warehouse", "quantity", "status")
    readonly_fields = fields
    select_related = ("product", "warehouse")


@admin.register(StockCommand)
class StockCommandAdmin(adminforms.ReadOnlyAdmin):
    list_display = ("created_at", "kind", "reference", "status", "warehouse", "to_warehouse", "occurred_on")
    list_filter = ("kind", "status", "warehouse", "created_at")
    search_fields = ("reference",)
    date_hierarchy = "created_at"
    list_select_related = ("warehouse", "to_warehouse")
    inlines = [CommandMoveInline, CommandReservationInline]


@admin.register(Reservation)
class ReservationAdmin(adminforms.ReadOnlyAdmin):
    list_display = ("created_at", "order_ref", "product", "warehouse", "quantity", "status")
    list_filter = ("status", "warehouse", "created_at")
    search_fields = ("order_ref", "product__sku")
    date_hierarchy = "created_at"
    list_select_related = ("product", "warehouse")


@admin.register(Replenishment)
class ReplenishmentAdmin(adminforms.ReadOnlyAdmin):
    list_display = (
        "created_at",
        "product",
        "warehouse",
        "status",
        "proposed_quantity",
        "approved_quantity",
        "received_quantity",
        "thread_id",
        "closed_at",
    )
    list_filter = ("status", "warehouse")
    search_fields = ("product__sku", "thread_id")
    list_select_related = ("product", "warehouse")
