"""Thin views: parse with an input serializer, call vendas.services, render.
Errors propagate: the kernel's handler maps the contract's errors to problem+json
(400 with per-field ``errors``, 404, 409 with the short ``lines``)."""

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from erp.access import ANY_ROLE, Access
from erp.filters import BooleanFilter
from erp.rest import UUID_PATH, ServiceWrittenViewSet, valid_input
from vendas import selectors, services
from vendas.api import serializers as s
from vendas.contract import OrderLineInput
from vendas.models import Customer, Price, SalesOrder

SALES = Access(read=ANY_ROLE, write=("sales",))
TAGS = ["vendas"]


class CustomerFilter(filters.FilterSet):
    is_active = BooleanFilter()

    class Meta:
        model = Customer
        fields = ["code", "is_active"]


@extend_schema(tags=TAGS)
@extend_schema_view(
    list=extend_schema(summary="List customers"),
    create=extend_schema(summary="Create a customer", description="A taken code is a 400 on `code`."),
    retrieve=extend_schema(summary="Get a customer"),
    update=extend_schema(summary="Replace a customer"),
    partial_update=extend_schema(summary="Change a customer"),
    destroy=extend_schema(
        summary="Delete a customer",
        description="Only a customer without orders; otherwise 409 `customer_in_use` (deactivate it instead).",
    ),
)
class CustomerViewSet(ServiceWrittenViewSet):
    queryset = selectors.customers()
    serializer_class = s.CustomerSerializer
    lookup_value_regex = UUID_PATH
    access = SALES
    filterset_class = CustomerFilter
    search_fields = ["code", "name", "tax_id", "email"]
    ordering_fields = ["code", "name", "credit_limit", "created_at"]
    ordering = ["code"]
    create_service = staticmethod(services.customer_create)
    update_service = staticmethod(services.customer_update)
    delete_service = staticmethod(services.customer_delete)


class PriceFilter(filters.FilterSet):
    product = filters.UUIDFilter(field_name="product_id")

    class Meta:
        model = Price
        fields = ["product", "sku"]


def _price_fields(data: dict) -> dict:
    fields = {k: v for k, v in data.items() if k in ("unit_price", "tax_rate")}
    if "product_id" in data:
        fields["product"] = data["product_id"]
    return fields


@extend_schema(tags=TAGS)
@extend_schema_view(
    list=extend_schema(summary="List the price list"),
    create=extend_schema(
        summary="Set a product's price",
        description="One current price per product: a second one for the same product is a 400 on `product` "
        "(change the existing one instead). An unknown product is a 400 on `product`.",
    ),
    retrieve=extend_schema(summary="Get a price"),
    update=extend_schema(summary="Replace a price"),
    partial_update=extend_schema(summary="Change a price"),
    destroy=extend_schema(summary="Remove a price", description="Orders already priced keep their prices."),
)
class PriceViewSet(ServiceWrittenViewSet):
    queryset = selectors.prices()
    serializer_class = s.PriceSerializer
    lookup_value_regex = UUID_PATH
    access = SALES
    filterset_class = PriceFilter
    search_fields = ["sku", "name"]
    ordering_fields = ["sku", "name", "unit_price", "updated_at"]
    ordering = ["sku"]

    @staticmethod
    def create_service(**data):
        return services.price_create(**_price_fields(data))

    @staticmethod
    def update_service(price, **data):
        return services.price_update(price, **_price_fields(data))

    delete_service = staticmethod(services.price_delete)


class OrderFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=SalesOrder.Status.choices)
    customer = filters.UUIDFilter(field_name="customer_id")
    warehouse = filters.UUIDFilter(field_name="warehouse_id")
    date_from = filters.DateFilter(
        field_name="order_date", lookup_expr="gte", label=_("Ordered on or after.")
    )
    date_to = filters.DateFilter(field_name="order_date", lookup_expr="lte", label=_("Ordered on or before."))

    class Meta:
        model = SalesOrder
        fields = ["status", "customer", "warehouse", "date_from", "date_to"]


def _lines(data: list[dict]) -> list[OrderLineInput]:
    return [
        OrderLineInput(
            product_id=line["product"],
            quantity=line["quantity"],
            unit_price=line.get("unit_price"),
            discount_percent=line.get("discount_percent") or 0,
            tax_rate=line.get("tax_rate"),
        )
        for line in data
    ]


def _order_fields(data: dict) -> dict:
    renamed = {"customer": "customer_id", "warehouse": "warehouse_id"}
    fields = {renamed.get(name, name): value for name, value in data.items() if name != "lines"}
    if "lines" in data:
        fields["lines"] = _lines(data["lines"])
    return fields


def _rendered(order, status_code=status.HTTP_200_OK) -> Response:
    # The services return the order as it now is, its customer and lines loaded.
    return Response(s.OrderSerializer(order).data, status=status_code)


TRANSITION = _("A status that does not allow it is 409 `invalid_transition`.")


@extend_schema(tags=TAGS)
@extend_schema_view(
    list=extend_schema(summary="List sales orders"),
    retrieve=extend_schema(summary="Get a sales order"),
    destroy=extend_schema(
        summary="Delete a draft",
        description="Only while `draft` (else 409 `invalid_transition`); its number stays accounted for.",
    ),
)
class OrderViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Sales orders from draft to paid. Writes go through vendas.services."""

    queryset = selectors.orders()
    serializer_class = s.OrderSerializer
    lookup_value_regex = UUID_PATH
    access = Access(read=ANY_ROLE, write=("sales",), actions={"ship": ("warehouse", "sales")})
    filterset_class = OrderFilter
    search_fields = ["number", "customer__name", "customer__code"]
    ordering_fields = ["number", "order_date", "total", "status", "created_at", "updated_at"]
    ordering = ["-number"]

    @extend_schema(
        summary="Create a draft order",
        description="Numbered `SO-<year>-NNNNNN`. A line without `unit_price` takes the price list's (400 on "
        "`lines.N.unit_price` when there is none); lines are priced half up to the cent each.",
        request=s.OrderInput,
        responses={201: s.OrderSerializer},
    )
    def create(self, request, *args, **kwargs):
        data = valid_input(s.OrderInput, request)
        order = services.order_create(**_order_fields(data), actor_id=request.user.pk)
        return _rendered(order, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Replace a draft order",
        description="Only while `draft`. " + str(TRANSITION),
        request=s.OrderInput,
        responses={200: s.OrderSerializer},
    )
    def update(self, request, *args, **kwargs):
        data = valid_input(s.OrderInput, request)
        return _rendered(
            services.order_update(self.get_object(), **_order_fields(data), actor_id=request.user.pk)
        )

    @extend_schema(
        summary="Change a draft order",
        description="Only while `draft`; `lines` replaces every line. " + str(TRANSITION),
        request=s.OrderPatchInput,
        responses={200: s.OrderSerializer},
    )
    def partial_update(self, request, *args, **kwargs):
        body = s.OrderPatchInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        order = services.order_update(
            self.get_object(), **_order_fields(body.validated_data), actor_id=request.user.pk
        )
        return _rendered(order)

    def perform_destroy(self, instance):
        services.order_delete(instance, actor_id=self.request.user.pk)

    @extend_schema(
        summary="Confirm an order",
        description="Within the customer's credit limit (open receivables + confirmed and shipped orders + this "
        "one; a limit of 0 means none), every line's stock is reserved, all or nothing → `confirmed`; not "
        "enough stock → 409 `insufficient_stock` naming the short `lines`. Over the limit → `pending_approval`, "
        "with `workflow` the approval run's thread_id. " + str(TRANSITION),
        request=None,
        responses={200: s.OrderSerializer},
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, *args, pk=None, **kwargs):
        return _rendered(services.order_confirm(order_id=pk, actor_id=request.user.pk))

    @extend_schema(
        summary="Ship an order",
        description="`confirmed` → `shipped`: the reserved stock is issued at average cost and finance "
        "invoices the order asynchronously (then `invoiced`, and `paid` once the invoice is). "
        + str(TRANSITION),
        request=None,
        responses={200: s.OrderSerializer},
    )
    @action(detail=True, methods=["post"])
    def ship(self, request, *args, pk=None, **kwargs):
        return _rendered(services.order_ship(order_id=pk, actor_id=request.user.pk))

    @extend_schema(
        summary="Cancel an order",
        description="From `draft`, `pending_approval` (its approval run is cancelled too) or `confirmed` → "
        "`cancelled`, the reserved stock released. Later → 409 `invalid_transition`.",
        request=s.CancelInput,
        responses={200: s.OrderSerializer},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, pk=None, **kwargs):
        data = valid_input(s.CancelInput, request)
        return _rendered(services.order_cancel(order_id=pk, reason=data["reason"], actor_id=request.user.pk))
