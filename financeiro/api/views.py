"""Thin views: parse with an input serializer, call financeiro.services, render.
Errors propagate: the kernel's handler maps the contract's errors to problem+json
(400 with per-field ``errors`` and the ``difference`` of an unbalanced entry,
404, 409 for a closed period)."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from erp.access import ANY_ROLE, Access
from erp.filters import BooleanFilter
from erp.rest import UUID_PATH, ServiceWrittenViewSet, valid_input, valid_query
from financeiro import period_close, selectors, services
from financeiro.api import serializers as s
from financeiro.contract import AllocationInput, EntryLineInput
from financeiro.models import Account, Invoice, JournalEntry, Payment, PendingInvoice

FINANCE = Access(read=ANY_ROLE, write=("finance",))
TAGS = ["financeiro"]


# --- Chart of accounts ------------------------------------------------------------------


class AccountFilter(filters.FilterSet):
    is_active = BooleanFilter()
    type = filters.ChoiceFilter(choices=Account.Type.choices)

    class Meta:
        model = Account
        fields = ["code", "type", "is_active"]


@extend_schema(tags=TAGS)
@extend_schema_view(
    list=extend_schema(summary="List the chart of accounts"),
    create=extend_schema(summary="Create an account", description="A taken code is a 400 on `code`."),
    retrieve=extend_schema(summary="Get an account"),
    update=extend_schema(summary="Replace an account"),
    partial_update=extend_schema(
        summary="Change an account",
        description="The type of an account with postings cannot change (409 `account_in_use`).",
    ),
    destroy=extend_schema(
        summary="Delete an account",
        description="Only an account without postings that no automatic posting uses; otherwise 409 "
        "`account_in_use` (deactivate it instead).",
    ),
)
class AccountViewSet(ServiceWrittenViewSet):
    queryset = selectors.accounts()
    serializer_class = s.AccountSerializer
    lookup_value_regex = UUID_PATH
    access = FINANCE
    filterset_class = AccountFilter
    search_fields = ["code", "name"]
    ordering_fields = ["code", "name", "type"]
    ordering = ["code"]
    create_service = staticmethod(services.account_create)
    update_service = staticmethod(services.account_update)
    delete_service = staticmethod(services.account_delete)


# --- Journal entries ---------------------------------------------------------------------


class EntryFilter(filters.FilterSet):
    source = filters.CharFilter()
    source_ref = filters.CharFilter()
    date_from = filters.DateFilter(field_name="date", lookup_expr="gte", label=_("Dated on or after."))
    date_to = filters.DateFilter(field_name="date", lookup_expr="lte", label=_("Dated on or before."))
    account = filters.UUIDFilter(
        field_name="lines__account", distinct=True, label=_("Has a line on this account.")
    )

    class Meta:
        model = JournalEntry
        fields = ["source", "source_ref", "date_from", "date_to", "account"]


def _entry_response(entry_id, code=status.HTTP_201_CREATED) -> Response:
    return Response(s.EntrySerializer(selectors.entries().get(pk=entry_id)).data, status=code)


@extend_schema(tags=TAGS)
@extend_schema_view(
    list=extend_schema(summary="List journal entries"),
    retrieve=extend_schema(summary="Get a journal entry"),
)
class JournalEntryViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Posted entries are immutable: no update or delete (405); a correction is a reversal."""

    queryset = selectors.entries()
    serializer_class = s.EntrySerializer
    lookup_value_regex = UUID_PATH
    access = FINANCE
    filterset_class = EntryFilter
    search_fields = ["number", "memo", "source_ref"]
    ordering_fields = ["date", "number", "posted_at"]
    ordering = ["-date", "-number"]

    @extend_schema(
        summary="Post a manual journal entry",
        description="At least two lines, each a positive debit or a positive credit on an active account; "
        "debits must equal credits (else 400 `unbalanced` with `difference`); a date in a closed or "
        "closing period is 409 `period_closed`.",
        request=s.EntryInput,
        responses={201: s.EntrySerializer},
    )
    def create(self, request, *args, **kwargs):
        data = valid_input(s.EntryInput, request)
        entry = services.post_entry(
            date=data["date"],
            memo=data["memo"],
            lines=[
                EntryLineInput(
                    account_id=line["account"],
                    debit=line["debit"],
                    credit=line["credit"],
                    description=line["description"],
                )
                for line in data["lines"]
            ],
            actor_id=request.user.pk,
        )
        return _entry_response(entry.id)

    @extend_schema(
        summary="Reverse a journal entry",
        description="Posts the mirror entry (debits and credits swapped) on `date` (default the original's). "
        "An entry is reversed once (409 `already_reversed`); a closed period is 409 `period_closed`.",
        request=s.ReverseInput,
        responses={201: s.EntrySerializer},
    )
    @action(detail=True, methods=["post"])
    def reverse(self, request, *args, pk=None, **kwargs):
        data = valid_input(s.ReverseInput, request)
        reversal = services.reverse_entry(
            entry_id=pk, date=data.get("date"), memo=data["memo"], actor_id=request.user.pk
        )
        return _entry_response(reversal.id)


# --- Invoices and payments -----------------------------------------------------------------


class InvoiceFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Invoice.Status.choices)
    customer = filters.UUIDFilter(field_name="customer_id")
    order = filters.UUIDFilter(field_name="order_id")
    due_before = filters.DateFilter(field_name="due_date", lookup_expr="lt", label=_("Due before this date."))

    class Meta:
        model = Invoice
        fields = ["status", "customer", "order", "due_before"]


@extend_schema(tags=TAGS)
@extend_schema_view(
    list=extend_schema(
        summary="List invoices",
        description="Issued when an order ships (vendas.OrderShipped), or for a customer invoiced at month "
        "end once the shipping month has ended (see `pending-invoices/`).",
    ),
    retrieve=extend_schema(summary="Get an invoice"),
)
class InvoiceViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = selectors.invoices()
    serializer_class = s.InvoiceSerializer
    lookup_value_regex = UUID_PATH
    access = Access(read=ANY_ROLE)
    filterset_class = InvoiceFilter
    search_fields = ["number", "customer_name", "order_number"]
    ordering_fields = ["issue_date", "due_date", "number", "total", "balance_due"]
    ordering = ["-issue_date", "-number"]


class PendingInvoiceFilter(filters.FilterSet):
    customer = filters.UUIDFilter(field_name="customer_id")
    billed = BooleanFilter(
        field_name="billed_at",
        lookup_expr="isnull",
        exclude=True,
        label=_("true: already invoiced; false: still waiting for month-end billing."),
    )

    class Meta:
        model = PendingInvoice
        fields = ["customer", "billed"]


@extend_schema(tags=TAGS)
@extend_schema_view(
    list=extend_schema(
        summary="List shipments billed at month end",
        description="Shipments of customers invoiced at month end (`invoicing: month_end`): each waits until "
        "its month has ended, then beat's hourly `financeiro.bill_month_end` (or `manage.py bill_month_end`) "
        "issues its invoice on `bills_on`, the month's last day, and sets `invoice` and `billed_at`. A month "
        "does not close while shipments of it wait.",
    ),
    retrieve=extend_schema(summary="Get a shipment billed at month end"),
)
class PendingInvoiceViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = selectors.pending_invoices()
    serializer_class = s.PendingInvoiceSerializer
    lookup_value_regex = UUID_PATH
    access = Access(read=ANY_ROLE)
    filterset_class = PendingInvoiceFilter
    search_fields = ["order_number", "customer_name", "customer_code"]
    ordering_fields = ["shipped_on", "order_number", "total", "billed_at"]
    ordering = ["shipped_on", "order_number", "id"]


class PaymentFilter(filters.FilterSet):
    customer = filters.UUIDFilter(field_name="customer_id")
    method = filters.ChoiceFilter(choices=Payment.Method.choices)
    date_from = filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = filters.DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = Payment
        fields = ["customer", "method", "date_from", "date_to"]


@extend_schema(tags=TAGS)
@extend_schema_view(
    list=extend_schema(summary="List payments"), retrieve=extend_schema(summary="Get a payment")
)
class PaymentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    queryset = selectors.payments()
    serializer_class = s.PaymentSerializer
    lookup_value_regex = UUID_PATH
    access = FINANCE
    filterset_class = PaymentFilter
    search_fields = ["reference"]
    ordering_fields = ["date", "amount"]
    ordering = ["-date", "-created_at"]

    @extend_schema(
        summary="Record a customer payment",
        description="Posts Dr cash (method `cash`) or bank / Cr receivables, allocated to the customer's "
        "invoices (their status follows). Allocating more than an invoice's balance or, together, more "
        "than the payment is 400 `over_allocation`; what is not allocated stays a credit of the customer's.",
        request=s.PaymentInput,
        responses={201: s.PaymentSerializer},
    )
    def create(self, request, *args, **kwargs):
        data = valid_input(s.PaymentInput, request)
        payment = services.record_payment(
            customer_id=data["customer"],
            date=data["date"],
            amount=data["amount"],
            method=data["method"],
            reference=data["reference"],
            allocations=[
                AllocationInput(invoice_id=a["invoice"], amount=a["amount"])
                for a in data.get("allocations", [])
            ],
            actor_id=request.user.pk,
        )
        body = s.PaymentSerializer(selectors.payments().get(pk=payment.id)).data
        return Response(body, status=status.HTTP_201_CREATED)


# --- Periods --------------------------------------------------------------------------------


@extend_schema(tags=TAGS)
@extend_schema_view(
    list=extend_schema(summary="List fiscal periods"), retrieve=extend_schema(summary="Get a period")
)
class PeriodViewSet(viewsets.ReadOnlyModelViewSet):
    """Months open on first posting; closed through the `period_close` workflow."""

    queryset = selectors.periods()
    serializer_class = s.PeriodSerializer
    lookup_value_regex = UUID_PATH
    access = Access(read=ANY_ROLE, actions={"close": ("finance",)})
    filterset_fields = ["year", "month", "status"]
    ordering_fields = ["year", "month"]

    @extend_schema(
        summary="Start closing a period",
        description="Starts the `period_close` workflow: checks (ledger balanced, trial balance, inventory "
        "account = stock value, no shipment of the month awaiting month-end billing), then a finance user other than the one who started it confirms at "
        "`/api/v1/workflows/{thread_id}/continue/`. Postings into the period are refused meanwhile. "
        "Already closed or closing, or an earlier period still open: 409.",
        request=None,
        responses={202: s.CloseStarted},
    )
    @action(detail=True, methods=["post"])
    def close(self, request, *args, pk=None, **kwargs):
        run = period_close.start(period_id=pk, actor_id=request.user.pk)
        return Response({"thread_id": run.thread_id, "status": run.status}, status=status.HTTP_202_ACCEPTED)


# --- Reports --------------------------------------------------------------------------------

AS_OF = OpenApiParameter("as_of", str, description="YYYY-MM-DD (default today).", required=False)
READ_ANYONE = Access(read=ANY_ROLE)


def _as_of(request):
    return valid_query(s.AsOfQuery, request).get("as_of") or timezone.localdate()


class TrialBalanceReport(APIView):
    access = READ_ANYONE

    @extend_schema(
        tags=TAGS,
        summary="Trial balance",
        description="Per account with postings up to `as_of`: debit, credit, balance (debit − credit); "
        "the totals are equal.",
        parameters=[AS_OF],
        responses={200: s.TrialBalanceSerializer},
    )
    def get(self, request, *args, **kwargs):
        return Response(s.TrialBalanceSerializer(services.trial_balance(as_of=_as_of(request))).data)


class BalanceSheetReport(APIView):
    access = READ_ANYONE

    @extend_schema(
        tags=TAGS,
        summary="Balance sheet",
        description="Assets = liabilities + equity + current earnings, as of `as_of`.",
        parameters=[AS_OF],
        responses={200: s.BalanceSheetSerializer},
    )
    def get(self, request, *args, **kwargs):
        return Response(s.BalanceSheetSerializer(services.balance_sheet(as_of=_as_of(request))).data)


class IncomeStatementReport(APIView):
    access = READ_ANYONE

    @extend_schema(
        tags=TAGS,
        summary="Income statement",
        description="Income and expenses between `date_from` and `date_to` (both included), and the net.",
        parameters=[
            OpenApiParameter("date_from", str, description="YYYY-MM-DD.", required=True),
            OpenApiParameter("date_to", str, description="YYYY-MM-DD.", required=True),
        ],
        responses={200: s.IncomeStatementSerializer},
    )
    def get(self, request, *args, **kwargs):
        window = valid_query(s.WindowQuery, request)
        statement = services.income_statement(date_from=window["date_from"], date_to=window["date_to"])
        return Response(s.IncomeStatementSerializer(statement).data)


class ArAgingReport(APIView):
    access = READ_ANYONE

    @extend_schema(
        tags=TAGS,
        summary="Accounts receivable aging",
        description="Per customer, what is owed as of `as_of` by days past due: current (not yet due), "
        "1-30, 31-60, 61-90, over 90.",
        parameters=[AS_OF],
        responses={200: s.ArAgingSerializer},
    )
    def get(self, request, *args, **kwargs):
        return Response(s.ArAgingSerializer(services.ar_aging(as_of=_as_of(request))).data)
