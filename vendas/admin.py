"""vendas in the Django admin.

Customers and prices are edited here but written by the services, so the admin
keeps the API's rules (erp/adminforms.py: the form asks the service first and
shows what it refuses as form errors). Orders are created through the API:
here they are read-only, and moved along their lifecycle by actions that call
the services, one order at a time, each outcome reported. Reservation attempts
and deleted orders' numbers are facts the services recorded: read-only.
Every changelist joins what its rows show, so a page costs the same queries
whatever its length.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from erp import adminforms
from erp.errors import DomainError
from vendas import services
from vendas.contract import OutOfStockError, SalesError
from vendas.models import Customer, DeletedOrder, Price, ReservationAttempt, SalesOrder, SalesOrderLine

APP = "vendas"


# --- Customers and prices: written by the services ---------------------------------------


class ServiceForm(adminforms.ServiceForm):
    app, error = APP, SalesError


class ServiceAdmin(adminforms.ServiceAdmin):
    app, error = APP, SalesError


class CustomerForm(ServiceForm):
    create = staticmethod(services.customer_create)
    update = staticmethod(services.customer_update)

    class Meta:
        model = Customer
        fields = services.CUSTOMER_FIELDS


@admin.register(Customer)
class CustomerAdmin(ServiceAdmin):
    form = CustomerForm
    delete_service = staticmethod(services.customer_delete)
    list_display = (
        "code",
        "name",
        "tax_id",
        "email",
        "credit_limit",
        "payment_terms_days",
        "invoicing",
        "is_active",
    )
    list_filter = ("is_active", "invoicing")
    search_fields = ("code", "name", "tax_id")
    readonly_fields = ("created_at", "updated_at")


class PriceForm(ServiceForm):
    # estoque's product id: the service checks it and takes the SKU and name from
    # estoque (no foreign key crosses the apps, so no product picker here). Named
    # as the services' argument, so the form's data is their keywords.
    product = forms.UUIDField(
        label=gettext_lazy("product"), help_text=gettext_lazy("The product's id in estoque.")
    )
    create = staticmethod(services.price_create)
    update = staticmethod(services.price_update)

    class Meta:
        model = Price
        fields = ("unit_price", "tax_rate")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            self.initial.setdefault("product", self.instance.product_id)


@admin.register(Price)
class PriceAdmin(ServiceAdmin):
    form = PriceForm
    delete_service = staticmethod(services.price_delete)
    list_display = ("sku", "name", "unit_price", "tax_rate", "updated_at")
    search_fields = ("sku", "name")
    fields = ("product", "sku", "name", "unit_price", "tax_rate", "updated_at")
    readonly_fields = ("sku", "name", "updated_at")


# --- Orders: read-only, moved along by the services ----------------------------------------


class OrderLineInline(adminforms.ReadOnlyInline):
    model = SalesOrderLine
    fields = (
        "position",
        "sku",
        "description",
        "quantity",
        "unit_price",
        "discount_percent",
        "tax_rate",
        "discount",
        "subtotal",
        "tax",
        "line_total",
    )
    readonly_fields = fields


def _why(error: DomainError) -> str:
    if isinstance(error, OutOfStockError):  # which lines, as the API's body says
        return f"{error.message} {services.stock_detail(error)}"
    return error.message


@admin.register(SalesOrder)
class SalesOrderAdmin(adminforms.ReadOnlyAdmin):
    list_display = ("number", "customer", "status", "order_date", "total", "workflow")
    list_filter = ("status",)
    search_fields = ("number", "customer__name", "customer__code")
    list_select_related = ("customer",)
    inlines = [OrderLineInline]
    actions = ("confirm_selected", "ship_selected", "cancel_selected")

    def has_transition_permission(self, request) -> bool:
        # The page stays view-only (no change permission), while who may change
        # orders may still move them through the services.
        return request.user.has_perm(f"{self.opts.app_label}.{get_permission_codename('change', self.opts)}")

    def _transition(self, request, queryset, service, **arguments) -> None:
        # Each order in its own service call: a refusal keeps what went before it
        # and does not stop the orders after it.
        for order in queryset.order_by("number"):
            try:
                moved = service(order_id=order.pk, actor_id=request.user.pk, **arguments)
            except DomainError as error:
                self.message_user(request, f"{order.number}: {_why(error)}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("Order %(number)s is now %(status)s.")
                    % {"number": moved.number, "status": moved.get_status_display()},
                    messages.SUCCESS,
                )

    @admin.action(description=gettext_lazy("Confirm selected orders"), permissions=["transition"])
    def confirm_selected(self, request, queryset):
        self._transition(request, queryset, services.order_confirm)

    @admin.action(description=gettext_lazy("Ship selected orders"), permissions=["transition"])
    def ship_selected(self, request, queryset):
        self._transition(request, queryset, services.order_ship)

    @admin.action(description=gettext_lazy("Cancel selected orders"), permissions=["transition"])
    def cancel_selected(self, request, queryset):
        self._transition(request, queryset, services.order_cancel, reason=_("Cancelled in the admin"))


@admin.register(ReservationAttempt)
class ReservationAttemptAdmin(adminforms.ReadOnlyAdmin):
    list_display = ("order", "attempt", "order_ref", "outcome", "updated_at")
    list_filter = ("outcome",)
    search_fields = ("order__number", "order_ref")
    list_select_related = ("order",)


@admin.register(DeletedOrder)
class DeletedOrderAdmin(adminforms.ReadOnlyAdmin):
    list_display = ("number", "order_id", "customer_id", "deleted_by", "deleted_at")
    search_fields = ("number",)
