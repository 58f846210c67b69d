"""estoque's API shapes. Input serializers check shape and type only (UUIDs,
decimal strings with at most the columns' places, lengths, 1 to 1000 lines);
estoque.services checks the rest (positive quantities, known and active
products and warehouses, one line per product, stock) and names the same field
paths (``lines.0.quantity``). Output serializers render the services' results."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from erp.rest import DecimalField, ModelSerializer
from estoque.models import Product, StockMove, Warehouse

MAX_LINES = 1000
QUANTITY = {"max_digits": 18, "decimal_places": 3}
UNIT_COST = {"max_digits": 18, "decimal_places": 4}
MONEY = {"max_digits": 18, "decimal_places": 2}
SIGNED = _("Signed: + into the warehouse (receipt, transfer_in, count above stock), - out of it.")


def lines_field(line: type[serializers.Serializer]) -> serializers.ListSerializer:
    return line(many=True, allow_empty=False, max_length=MAX_LINES, help_text=_("1 to 1000 lines."))


# --- Products and warehouses -----------------------------------------------------------


class ProductSerializer(ModelSerializer):
    class Meta:
        model = Product
        fields = [
            "id",
            "sku",
            "name",
            "description",
            "unit",
            "reorder_point",
            "reorder_quantity",
            "is_active",
            "average_cost",
            "on_hand",
            "stock_value",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "average_cost", "on_hand", "stock_value", "created_at", "updated_at"]
        extra_kwargs = {
            # A taken SKU is refused by the service (400 on sku), also under a concurrent save.
            "sku": {"validators": []},
            "reorder_point": {"min_value": 0},
            "reorder_quantity": {"min_value": 0},
            "stock_value": {
                "help_text": _(
                    "The running value estoque holds across warehouses; the inventory account equals it."
                )
            },
            "average_cost": {"help_text": _("Moving average unit cost.")},
            "on_hand": {"help_text": _("Quantity on hand across all warehouses.")},
        }


class WarehouseSerializer(ModelSerializer):
    class Meta:
        model = Warehouse
        fields = ["id", "code", "name", "is_active", "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"code": {"validators": []}}  # a taken code: 400 on code, from the service


# --- Reads ------------------------------------------------------------------------------------


class StockLevelSerializer(serializers.Serializer):
    product = serializers.UUIDField(source="product_id")
    sku = serializers.CharField()
    warehouse = serializers.UUIDField(source="warehouse_id")
    warehouse_code = serializers.CharField()
    on_hand = serializers.DecimalField(**QUANTITY)
    reserved = serializers.DecimalField(**QUANTITY)
    available = serializers.DecimalField(**QUANTITY, help_text=_("on_hand - reserved."))
    reorder_point = serializers.DecimalField(**QUANTITY, source="product.reorder_point")


class MoveSerializer(serializers.Serializer):
    """One ledger line (a StockMove row or the contract's Move)."""

    id = serializers.UUIDField()
    product = serializers.UUIDField(source="product_id")
    sku = serializers.CharField()
    warehouse = serializers.UUIDField(source="warehouse_id")
    kind = serializers.ChoiceField(choices=StockMove.Kind.choices)
    quantity = serializers.DecimalField(**QUANTITY, help_text=SIGNED)
    unit_cost = serializers.DecimalField(**UNIT_COST)
    value = serializers.DecimalField(**MONEY, help_text=_("Signed change of the product's stock value."))
    reference = serializers.CharField()
    created_at = serializers.DateTimeField()
    created_by = serializers.UUIDField(allow_null=True, help_text=_("The user's id."))


class ReservationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    order_ref = serializers.CharField()
    product = serializers.UUIDField(source="product_id")
    sku = serializers.CharField()
    warehouse = serializers.UUIDField(source="warehouse_id")
    quantity = serializers.DecimalField(**QUANTITY)
    # A plain string: a "status" enum would collide with workflows' in the schema's
    # enum names (ENUM_NAME_OVERRIDES in config/settings.py could name it).
    status = serializers.CharField(help_text=_("active, released or consumed."))
    created_at = serializers.DateTimeField()


# --- Commands: what clients send ----------------------------------------------------------


class ReceiptLineInput(serializers.Serializer):
    product = serializers.UUIDField()
    quantity = DecimalField(**QUANTITY, help_text=_("Greater than zero."))
    unit_cost = DecimalField(**UNIT_COST, help_text=_("Zero or more."))


class ReceiptInput(serializers.Serializer):
    warehouse = serializers.UUIDField()
    reference = serializers.CharField(
        max_length=255,
        help_text=_("The caller's document reference; the same reference and data again is a no-op."),
    )
    lines = lines_field(ReceiptLineInput)


class CountLineInput(serializers.Serializer):
    product = serializers.UUIDField()
    counted_quantity = DecimalField(**QUANTITY, help_text=_("What was counted; zero or more."))


class AdjustmentInput(serializers.Serializer):
    warehouse = serializers.UUIDField()
    reason = serializers.CharField(max_length=500)
    lines = lines_field(CountLineInput)
    reference = serializers.CharField(
        max_length=255,
        required=False,
        allow_null=True,
        help_text=_("Optional; a repeat under the same reference and data is a no-op."),
    )


class TransferLineInput(serializers.Serializer):
    product = serializers.UUIDField()
    quantity = DecimalField(**QUANTITY, help_text=_("Greater than zero."))


class TransferInput(serializers.Serializer):
    from_warehouse = serializers.UUIDField()
    to_warehouse = serializers.UUIDField(help_text=_("Must differ from from_warehouse."))
    lines = lines_field(TransferLineInput)
    reference = serializers.CharField(
        max_length=255,
        required=False,
        allow_null=True,
        help_text=_("Optional; a repeat under the same reference and data is a no-op."),
    )


# --- Commands: what estoque answers ---------------------------------------------------------


class ReceiptSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    warehouse = serializers.UUIDField(source="warehouse_id")
    reference = serializers.CharField()
    received_on = serializers.DateField(help_text=_("Business date (company timezone)."))
    value = serializers.DecimalField(**MONEY)
    moves = MoveSerializer(many=True)


class AdjustmentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    warehouse = serializers.UUIDField(source="warehouse_id")
    reason = serializers.CharField()
    reference = serializers.CharField()
    adjusted_on = serializers.DateField(help_text=_("Business date (company timezone)."))
    value_delta = serializers.DecimalField(**MONEY, help_text=_("Signed change of the stock value."))
    moves = MoveSerializer(many=True, help_text=_("Only the lines whose count differed from the stock."))


class TransferSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    from_warehouse = serializers.UUIDField(source="from_warehouse_id")
    to_warehouse = serializers.UUIDField(source="to_warehouse_id")
    reference = serializers.CharField()
    transferred_on = serializers.DateField(help_text=_("Business date (company timezone)."))
    moves = MoveSerializer(many=True, help_text=_("A transfer_out and a transfer_in per line."))
