"""financeiro's API shapes. Input serializers check shape and type only (UUIDs,
decimal strings with at most 2 places, dates, lengths, 1 to 1000 lines);
financeiro.services checks the rest (balance, one positive side per line, active
accounts, open periods, allocations) and names the same field paths
(``lines.0.debit``). Output serializers render rows and the services' results."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from erp.rest import DecimalField
from financeiro.models import Account, FiscalPeriod, Invoice, Payment, PendingInvoice

MAX_LINES = 1000
MONEY = {"max_digits": 18, "decimal_places": 2}
NATURAL = _("On the type's natural side: assets and expenses debit − credit, the others credit − debit.")


# --- Chart of accounts ----------------------------------------------------------------


class AccountSerializer(serializers.ModelSerializer):
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Account.objects.all(),
        allow_null=True,
        required=False,
        help_text=_("An account of the same type."),
    )

    class Meta:
        model = Account
        fields = ["id", "code", "name", "type", "parent", "is_active"]
        read_only_fields = ["id"]
        extra_kwargs = {"code": {"validators": []}}  # a taken code: 400 on code, from the service


# --- Journal entries ------------------------------------------------------------------


class LineSerializer(serializers.Serializer):
    account = serializers.UUIDField(source="account_id")
    account_code = serializers.CharField(source="account.code")
    debit = serializers.DecimalField(**MONEY)
    credit = serializers.DecimalField(**MONEY)
    description = serializers.CharField()


class EntrySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    number = serializers.CharField(help_text=_("JE-00000001: unique, from a sequence (gaps possible)."))
    date = serializers.DateField()
    period = serializers.CharField(source="period.__str__", help_text=_("YYYY-MM."))
    memo = serializers.CharField()
    source = serializers.CharField(help_text=_("manual, invoice, payment, reversal, estoque.receipt, ..."))
    source_ref = serializers.CharField(
        help_text=_("The source document's reference (empty for manual entries).")
    )
    reverses = serializers.UUIDField(source="reverses_id", allow_null=True)
    reversed_by = serializers.SerializerMethodField()
    created_by = serializers.UUIDField(allow_null=True, help_text=_("The user's id."))
    posted_at = serializers.DateTimeField()
    lines = LineSerializer(many=True)

    def get_reversed_by(self, entry) -> str | None:
        reversal = getattr(entry, "reversed_by", None)
        return str(reversal.id) if reversal else None


class LineInput(serializers.Serializer):
    account = serializers.UUIDField()
    debit = DecimalField(
        **MONEY, required=False, default="0", help_text=_("Positive, or 0 on a credit line.")
    )
    credit = DecimalField(
        **MONEY, required=False, default="0", help_text=_("Positive, or 0 on a debit line.")
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class EntryInput(serializers.Serializer):
    date = serializers.DateField()
    memo = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    lines = LineInput(many=True, min_length=2, max_length=MAX_LINES, help_text=_("2 to 1000 lines."))


class ReverseInput(serializers.Serializer):
    date = serializers.DateField(required=False, help_text=_("Default: the original entry's date."))
    memo = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


# --- Invoices and payments ------------------------------------------------------------


class InvoiceLineSerializer(serializers.Serializer):
    product = serializers.UUIDField(source="product_id", allow_null=True)
    sku = serializers.CharField()
    description = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=18, decimal_places=3)
    unit_price = serializers.DecimalField(max_digits=18, decimal_places=4)
    discount_percent = serializers.DecimalField(max_digits=5, decimal_places=2)
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=2, help_text=_("Percent."))
    discount = serializers.DecimalField(**MONEY)
    subtotal = serializers.DecimalField(**MONEY)
    tax = serializers.DecimalField(**MONEY)
    total = serializers.DecimalField(**MONEY)


class InvoiceSerializer(serializers.ModelSerializer):
    customer = serializers.UUIDField(source="customer_id")
    order = serializers.UUIDField(source="order_id", allow_null=True)
    balance = serializers.DecimalField(**MONEY, help_text=_("total − amount_paid."))
    entry = serializers.UUIDField(source="entry_id", help_text=_("The journal entry that posted it."))
    lines = InvoiceLineSerializer(many=True)

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "customer",
            "customer_code",
            "customer_name",
            "customer_tax_id",
            "order",
            "order_number",
            "currency",
            "issue_date",
            "due_date",
            "subtotal",
            "discount_total",
            "tax_total",
            "total",
            "amount_paid",
            "balance",
            "status",
            "entry",
            "lines",
        ]


class PendingInvoiceSerializer(serializers.ModelSerializer):
    order = serializers.UUIDField(source="order_id", help_text=_("vendas' order id."))
    customer = serializers.UUIDField(source="customer_id")
    bills_on = serializers.DateField(
        read_only=True, help_text=_("The invoice's issue date: the last day of the shipping month.")
    )
    invoice = serializers.UUIDField(
        source="invoice_id", allow_null=True, help_text=_("The invoice issued for it; null until billed.")
    )

    class Meta:
        model = PendingInvoice
        fields = [
            "id",
            "order",
            "order_number",
            "customer",
            "customer_name",
            "shipped_on",
            "bills_on",
            "total",
            "tax_total",
            "invoice",
            "billed_at",
        ]
        extra_kwargs = {"billed_at": {"help_text": _("When month-end billing invoiced it; null until then.")}}


class AllocationSerializer(serializers.Serializer):
    invoice = serializers.UUIDField(source="invoice_id")
    invoice_number = serializers.CharField(source="invoice.number")
    amount = serializers.DecimalField(**MONEY)


class PaymentSerializer(serializers.ModelSerializer):
    customer = serializers.UUIDField(source="customer_id")
    allocations = AllocationSerializer(many=True)
    unallocated = serializers.DecimalField(
        **MONEY, help_text=_("What no invoice took: a credit of the customer's.")
    )
    entry = serializers.UUIDField(source="entry_id")

    class Meta:
        model = Payment
        fields = [
            "id",
            "customer",
            "date",
            "amount",
            "method",
            "reference",
            "allocations",
            "unallocated",
            "entry",
        ]


class AllocationInput(serializers.Serializer):
    invoice = serializers.UUIDField()
    amount = DecimalField(**MONEY, help_text=_("Greater than zero; at most the invoice's balance."))


class PaymentInput(serializers.Serializer):
    customer = serializers.UUIDField()
    date = serializers.DateField()
    amount = DecimalField(**MONEY, help_text=_("Greater than zero."))
    method = serializers.ChoiceField(choices=Payment.Method.choices, required=False, default="bank_transfer")
    reference = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    allocations = AllocationInput(
        many=True, required=False, max_length=MAX_LINES, help_text=_("Together at most the payment's amount.")
    )


# --- Periods --------------------------------------------------------------------------


class PeriodSerializer(serializers.ModelSerializer):
    class Meta:
        model = FiscalPeriod
        fields = ["id", "year", "month", "status", "workflow", "closed_at", "closed_by"]
        extra_kwargs = {"workflow": {"help_text": _("The thread_id of the period_close run, once started.")}}


class CloseStarted(serializers.Serializer):
    thread_id = serializers.UUIDField()
    status = serializers.CharField(help_text=_("The run's status (running, waiting, ...)."))


# --- Reports --------------------------------------------------------------------------


class AsOfQuery(serializers.Serializer):
    as_of = serializers.DateField(required=False, help_text=_("Default: today."))


class WindowQuery(serializers.Serializer):
    date_from = serializers.DateField(help_text=_("First day, included."))
    date_to = serializers.DateField(help_text=_("Last day, included."))


class TrialBalanceRowSerializer(serializers.Serializer):
    account = serializers.UUIDField(source="account_id")
    code = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()
    debit = serializers.DecimalField(**MONEY)
    credit = serializers.DecimalField(**MONEY)
    balance = serializers.DecimalField(**MONEY, help_text=_("debit − credit."))


class TrialBalanceSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    rows = TrialBalanceRowSerializer(many=True)
    total_debit = serializers.DecimalField(**MONEY)
    total_credit = serializers.DecimalField(**MONEY)


class StatementLineSerializer(serializers.Serializer):
    account = serializers.UUIDField(source="account_id")
    code = serializers.CharField()
    name = serializers.CharField()
    amount = serializers.DecimalField(**MONEY, help_text=NATURAL)


class BalanceSheetSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    assets = StatementLineSerializer(many=True)
    liabilities = StatementLineSerializer(many=True)
    equity = StatementLineSerializer(many=True)
    current_earnings = serializers.DecimalField(
        **MONEY, help_text=_("Income − expenses not closed into equity.")
    )
    total_assets = serializers.DecimalField(**MONEY)
    total_liabilities = serializers.DecimalField(**MONEY)
    total_equity = serializers.DecimalField(**MONEY, help_text=_("Equity accounts + current earnings."))


class IncomeStatementSerializer(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    income = StatementLineSerializer(many=True)
    expenses = StatementLineSerializer(many=True)
    total_income = serializers.DecimalField(**MONEY)
    total_expenses = serializers.DecimalField(**MONEY)
    net = serializers.DecimalField(**MONEY)


class AgingBuckets(serializers.Serializer):
    current = serializers.DecimalField(**MONEY, help_text=_("Not yet due."))
    days_1_30 = serializers.DecimalField(**MONEY)
    days_31_60 = serializers.DecimalField(**MONEY)
    days_61_90 = serializers.DecimalField(**MONEY)
    over_90 = serializers.DecimalField(**MONEY)
    total = serializers.DecimalField(**MONEY)


class AgingRowSerializer(AgingBuckets):
    customer = serializers.UUIDField(source="customer_id")
    customer_name = serializers.CharField()


class ArAgingSerializer(AgingBuckets):
    as_of = serializers.DateField()
    rows = AgingRowSerializer(many=True)
