"""vendas' API shapes. Input serializers check shape and type only (UUIDs,
decimal strings with at most the columns' places, lengths, 1 to 500 lines);
vendas.services checks the rest (known and active customers, warehouses and
products, a price for every line) and names the same field paths
(``lines.0.unit_price``). Output serializers render the orders as stored."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from erp.rest import DecimalField, ModelSerializer
from vendas.models import Customer, Price, SalesOrder, SalesOrderLine

MAX_LINES = 500
QUANTITY = {"max_digits": 18, "decimal_places": 3}
UNIT_PRICE = {"max_digits": 18, "decimal_places": 4}
PERCENT = {"max_digits": 7, "decimal_places": 4, "min_value": 0, "max_value": 100}


class CustomerSerializer(ModelSerializer):
    class Meta:
        model = Customer
        fields = [
            "id",
            "code",
            "name",
            "tax_id",
            "email",
            "credit_limit",
            "payment_terms_days",
            "invoicing",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {
            # A taken code is refused by the service (400 on code), also under a concurrent save.
            "code": {"validators": []},
            "credit_limit": {
                "min_value": 0,
                "help_text": _(
                    "Open receivables plus confirmed orders above it need a manager's approval; 0: no limit."
                ),
            },
            "payment_terms_days": {
                "max_value": 3650,
                "help_text": _("Days from shipping to the invoice's due date."),
            },
        }


class PriceSerializer(ModelSerializer):
    product = serializers.UUIDField(source="product_id", help_text=_("estoque's product id."))

    class Meta:
        model = Price
        fields = ["id", "product", "sku", "name", "unit_price", "tax_rate", "updated_at"]
        read_only_fields = ["id", "sku", "name", "updated_at"]
        extra_kwargs = {
            "unit_price": {"min_value": 0},
            "tax_rate": {
                "min_value": 0,
                "max_value": 100,
                "help_text": _("A percent; order lines without a tax rate take it."),
            },
            "sku": {"help_text": _("The product's SKU when the price was set.")},
        }
        # One price per product: the service answers a second one with 400 on `product`.
        validators = []


class OrderLineSerializer(ModelSerializer):
    product = serializers.UUIDField(source="product_id", read_only=True)

    class Meta:
        model = SalesOrderLine
        fields = [
            "id",
            "product",
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
        ]
        read_only_fields = fields
        extra_kwargs = {
            "subtotal": {"help_text": _("quantity × unit_price less the discount, to the cent.")},
            "line_total": {"help_text": _("subtotal + tax.")},
        }


class OrderSerializer(ModelSerializer):
    customer = serializers.UUIDField(source="customer_id", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    warehouse = serializers.UUIDField(source="warehouse_id", read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = SalesOrder
        fields = [
            "id",
            "number",
            "customer",
            "customer_name",
            "warehouse",
            "status",
            "status_reason",
            "order_date",
            "payment_terms_days",
            "notes",
            "lines",
            "subtotal",
            "discount_total",
            "tax_total",
            "total",
            "workflow",
            "confirmed_on",
            "shipped_on",
            "invoice_id",
            "invoice_number",
            "paid_on",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "workflow": {
                "help_text": _("The credit approval run's thread_id (GET /api/v1/workflows/{thread_id}/).")
            },
            "status_reason": {
                "help_text": _("Why the order is where it is: over the credit limit, rejected, ...")
            },
        }


class OrderLineInput(serializers.Serializer):
    product = serializers.UUIDField()
    quantity = DecimalField(**QUANTITY)
    unit_price = DecimalField(
        **UNIT_PRICE, required=False, allow_null=True, help_text=_("Default: the price list's.")
    )
    discount_percent = DecimalField(**PERCENT, required=False, default="0")
    tax_rate = DecimalField(
        **PERCENT,
        required=False,
        allow_null=True,
        help_text=_("A percent. Default: the price list's, else 0."),
    )


class OrderInput(serializers.Serializer):
    customer = serializers.UUIDField()
    warehouse = serializers.UUIDField(help_text=_("estoque's warehouse the goods ship from."))
    order_date = serializers.DateField(required=False, help_text=_("Default: today."))
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    lines = OrderLineInput(many=True, allow_empty=False, max_length=MAX_LINES, help_text=_("1 to 500 lines."))


class OrderPatchInput(OrderInput):
    """Any of the fields; ``lines`` replaces all the lines."""

    customer = serializers.UUIDField(required=False)
    warehouse = serializers.UUIDField(required=False)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    lines = OrderLineInput(
        many=True,
        required=False,
        allow_empty=False,
        max_length=MAX_LINES,
        help_text=_("Replaces every line."),
    )


class CancelInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
