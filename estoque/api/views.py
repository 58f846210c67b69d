"""Thin views: parse with an input serializer, call estoque.services, render.
Errors propagate: the kernel's handler maps the contract's errors to problem+json
(400 with per-field ``errors``, 404, 409 with the short ``lines``)."""

from django.db.models import F
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from erp.access import ANY_ROLE, Access
from erp.filters import BooleanFilter
from erp.rest import UUID_PATH, ServiceWrittenViewSet, valid_input
from estoque import selectors, services
from estoque.api.serializers import (
    AdjustmentInput,
    AdjustmentSerializer,
    MoveSerializer,
    ProductSerializer,
    ReceiptInput,
    ReceiptSerializer,
    ReservationSerializer,
    StockLevelSerializer,
    TransferInput,
    TransferSerializer,
    WarehouseSerializer,
)
from estoque.contract import CountLine, Line, ReceiptLine
from estoque.models import Product, Reservation, StockLevel, StockMove, Warehouse

WAREHOUSE_STAFF = Access(read=ANY_ROLE, write=("warehouse",))
TAGS = ["estoque"]


# --- Filters -------------------------------------------------------------------------------------


class ProductFilter(filters.FilterSet):
    is_active = BooleanFilter()

    class Meta:
        model = Product
        fields = ["sku", "is_active"]


class WarehouseFilter(filters.FilterSet):
    is_active = BooleanFilter()

    class Meta:
        model = Warehouse
        fields = ["code", "is_active"]


# --- Products and warehouses ------------------------------------------------------------------


@extend_schema(tags=TAGS)
@extend_schema_view(
    list=extend_schema(summary="List products"),
    create=extend_schema(summary="Create a product", description="A taken SKU is a 400 on `sku`."),
    retrieve=extend_schema(summary="Get a product"),
    update=extend_schema(summary="Replace a product"),
    partial_update=extend_schema(summary="Change a product"),
    destroy=extend_schema(
        summary="Delete a product",
        description="Only a product without stock history; otherwise 409 `product_in_use` "
        "(deactivate it instead).",
    ),
)
class ProductViewSet(ServiceWrittenViewSet):
    """Stock items with their valuation across warehouses (read-only here)."""

    queryset = selectors.products()
    serializer_class = ProductSerializer
    lookup_value_regex = UUID_PATH
    access = WAREHOUSE_STAFF
    filterset_class = ProductFilter
    search_fields = ["sku", "name"]
    ordering_fields = ["sku", "name", "on_hand", "stock_value", "average_cost", "created_at", "updated_at"]
    ordering = ["sku"]
    create_service = staticmethod(services.product_create)
    update_service = staticmethod(services.product_update)
    delete_service = staticmethod(services.product_delete)


@extend_schema(tags=TAGS)
@extend_schema_view(
    list=extend_schema(summary="List warehouses"),
    create=extend_schema(summary="Create a warehouse", description="A taken code is a 400 on `code`."),
    retrieve=extend_schema(summary="Get a warehouse"),
    update=extend_schema(summary="Replace a warehouse"),
    partial_update=extend_schema(summary="Change a warehouse"),
    destroy=extend_schema(
        summary="Delete a warehouse",
        description="Only a warehouse without stock history; otherwise 409 `warehouse_in_use` "
        "(deactivate it instead).",
    ),
)
class WarehouseViewSet(ServiceWrittenViewSet):
    queryset = selectors.warehouses()
    serializer_class = WarehouseSerializer
    lookup_value_regex = UUID_PATH
    access = WAREHOUSE_STAFF
    filterset_class = WarehouseFilter
    search_fields = ["code", "name"]
    ordering_fields = ["code", "name", "created_at"]
    ordering = ["code"]
    create_service = staticmethod(services.warehouse_create)
    update_service = staticmethod(services.warehouse_update)
    delete_service = staticmethod(services.warehouse_delete)


# --- Reads -------------------------------------------------------------------------------------


class StockLevelFilter(filters.FilterSet):
    product = filters.UUIDFilter(field_name="product_id")
    warehouse = filters.UUIDFilter(field_name="warehouse_id")
    below_reorder = BooleanFilter(
        method="filter_below_reorder",
        label=_("true: available below the product's reorder point; false: at or above it."),
    )

    class Meta:
        model = StockLevel
        fields = ["product", "warehouse", "below_reorder"]

    def filter_below_reorder(self, queryset, name, value):
        below = {"available_quantity__lt": F("product__reorder_point")}
        return queryset.filter(**below) if value else queryset.exclude(**below)


@extend_schema(
    tags=TAGS,
    summary="List stock levels",
    description="What each warehouse holds of each product: `available = on_hand - reserved`.",
)
class StockLevelList(generics.ListAPIView):
    queryset = selectors.stock_levels()
    serializer_class = StockLevelSerializer
    access = Access(read=ANY_ROLE)
    filterset_class = StockLevelFilter
    search_fields = ["product__sku", "product__name"]
    ordering_fields = ["sku", "warehouse_code", "on_hand", "reserved", "available_quantity"]


class StockMoveFilter(filters.FilterSet):
    product = filters.UUIDFilter(field_name="product_id")
    warehouse = filters.UUIDFilter(field_name="warehouse_id")
    kind = filters.ChoiceFilter(choices=StockMove.Kind.choices)
    reference = filters.CharFilter()
    created_after = filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", label=_("Created at or after (ISO 8601).")
    )
    created_before = filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", label=_("Created before (ISO 8601).")
    )

    class Meta:
        model = StockMove
        fields = ["product", "warehouse", "kind", "reference", "created_after", "created_before"]


@extend_schema(
    tags=TAGS,
    summary="List stock moves (the ledger)",
    description="The append-only stock ledger, newest first. `quantity` and `value` are signed: "
    "receipts, transfers in and counts above stock are positive; issues, transfers out and counts "
    "below stock negative. A pair's `on_hand` is the sum of its moves' quantities.",
)
class StockMoveList(generics.ListAPIView):
    queryset = selectors.stock_moves()
    serializer_class = MoveSerializer
    access = Access(read=ANY_ROLE)
    filterset_class = StockMoveFilter
    search_fields = ["reference", "product__sku"]
    ordering_fields = ["created_at", "sku", "quantity", "value"]


class ReservationFilter(filters.FilterSet):
    order_ref = filters.CharFilter()
    status = filters.ChoiceFilter(choices=Reservation.Status.choices)
    product = filters.UUIDFilter(field_name="product_id")
    warehouse = filters.UUIDFilter(field_name="warehouse_id")

    class Meta:
        model = Reservation
        fields = ["order_ref", "status", "product", "warehouse"]


@extend_schema(
    tags=TAGS,
    summary="List reservations",
    description="Stock held for order lines: `active` until shipped (`consumed`) or `released`.",
)
class ReservationList(generics.ListAPIView):
    queryset = selectors.reservations()
    serializer_class = ReservationSerializer
    access = Access(read=ANY_ROLE)
    filterset_class = ReservationFilter
    search_fields = ["order_ref", "product__sku"]
    ordering_fields = ["created_at", "order_ref", "sku", "quantity"]


# --- Commands ------------------------------------------------------------------------------------


class ReceiptCreate(APIView):
    access = WAREHOUSE_STAFF

    @extend_schema(
        tags=TAGS,
        summary="Receive goods",
        description="Stock in at `unit_cost`; the moving average follows. Idempotent by `reference`: "
        "the same reference and data again answers the same receipt (201) with no second effect; the "
        "same reference with other data is 409 `reference_conflict`.",
        request=ReceiptInput,
        responses={201: ReceiptSerializer},
    )
    def post(self, request, *args, **kwargs):
        data = valid_input(ReceiptInput, request)
        receipt = services.receive(
            warehouse_id=data["warehouse"],
            reference=data["reference"],
            lines=[
                ReceiptLine(
                    product_id=line["product"], quantity=line["quantity"], unit_cost=line["unit_cost"]
                )
                for line in data["lines"]
            ],
            actor_id=request.user.pk,
        )
        return Response(ReceiptSerializer(receipt).data, status=status.HTTP_201_CREATED)


class AdjustmentCreate(APIView):
    access = WAREHOUSE_STAFF

    @extend_schema(
        tags=TAGS,
        summary="Record a stock count",
        description="Each product's on-hand in the warehouse becomes the counted quantity; the "
        "difference is an adjustment move at the average cost. Counting less than is reserved is "
        "409 `below_reserved`.",
        request=AdjustmentInput,
        responses={201: AdjustmentSerializer},
    )
    def post(self, request, *args, **kwargs):
        data = valid_input(AdjustmentInput, request)
        adjustment = services.adjust(
            warehouse_id=data["warehouse"],
            reason=data["reason"],
            lines=[
                CountLine(product_id=line["product"], counted_quantity=line["counted_quantity"])
                for line in data["lines"]
            ],
            reference=data.get("reference"),
            actor_id=request.user.pk,
        )
        return Response(AdjustmentSerializer(adjustment).data, status=status.HTTP_201_CREATED)


class TransferCreate(APIView):
    access = WAREHOUSE_STAFF

    @extend_schema(
        tags=TAGS,
        summary="Transfer stock between warehouses",
        description="Moves available stock; the value stays the product's. More than available is "
        "409 `insufficient_stock` with `lines: [{product, sku, requested, available}]` naming every "
        "short line; the same warehouse on both ends is a 400 on `to_warehouse`.",
        request=TransferInput,
        responses={201: TransferSerializer},
    )
    def post(self, request, *args, **kwargs):
        data = valid_input(TransferInput, request)
        transfer = services.transfer(
            from_warehouse_id=data["from_warehouse"],
            to_warehouse_id=data["to_warehouse"],
            lines=[Line(product_id=line["product"], quantity=line["quantity"]) for line in data["lines"]],
            reference=data.get("reference"),
            actor_id=request.user.pk,
        )
        return Response(TransferSerializer(transfer).data, status=status.HTTP_201_CREATED)
