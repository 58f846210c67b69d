"""financeiro in the Django admin.

Accounts are edited here but written by the services, so the admin keeps the
API's rules: the form asks the service first (in a savepoint rolled back at
once) and shows what it refuses as form errors; the save and the delete then
call the service for real. (The same pattern as estoque/admin.py, kept here
because apps never import each other.) Posting accounts say which account an
automatic posting uses; fiscal periods are added here and closed by an action
that calls the service.

The journal, invoices, payments and the shipments kept for month-end billing
are facts the services recorded: read-only (corrections are reversals, through
the API), with the searches and filters an accountant works with; every
changelist joins what its rows show, so a page costs the same queries whatever
its length.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from erp import adminforms
from erp.db import alias
from financeiro import reconciliation, services
from financeiro.contract import LedgerError
from financeiro.models import (
    Account,
    FiscalPeriod,
    Invoice,
    InvoiceLine,
    JournalEntry,
    JournalLine,
    Payment,
    PaymentAllocation,
    PendingInvoice,
    PostingAccount,
)

APP = "financeiro"


# --- Accounts: written by the services -------------------------------------------------


class AccountForm(adminforms.ServiceForm):
    app, error = APP, LedgerError
    create = staticmethod(services.account_create)
    update = staticmethod(services.account_update)

    class Meta:
        model = Account
        fields = services.ACCOUNT_FIELDS


@admin.register(Account)
class AccountAdmin(adminforms.ServiceAdmin):
    app, error = APP, LedgerError
    delete_service = staticmethod(services.account_delete)
    form = AccountForm
    list_display = ("code", "name", "type", "parent", "is_active")
    list_filter = ("type", "is_active")
    search_fields = ("code", "name")
    list_select_related = ("parent",)
    ordering = ("code",)


@admin.register(PostingAccount)
class PostingAccountAdmin(admin.ModelAdmin):
    """Which account each automatic posting uses. Not deletable: a purpose
    without an account stops the postings that need it."""

    list_display = ("purpose", "account")
    list_select_related = ("account",)
    search_fields = ("purpose", "account__code", "account__name")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "account":
            kwargs["queryset"] = Account.objects.using(alias(APP)).filter(is_active=True).order_by("code")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = services.posting_account_set(purpose=obj.purpose, account=obj.account)
        obj.pk, obj._state.adding = saved.pk, False


# --- Fiscal periods: added here, closed by the service -----------------------------------


class FiscalPeriodForm(forms.ModelForm):
    year = forms.IntegerField(label=gettext_lazy("year"), min_value=1900, max_value=9999)
    month = forms.IntegerField(label=gettext_lazy("month"), min_value=1, max_value=12)

    class Meta:
        model = FiscalPeriod
        fields = ("year", "month")


@admin.register(FiscalPeriod)
class FiscalPeriodAdmin(admin.ModelAdmin):
    form = FiscalPeriodForm
    list_display = ("__str__", "year", "month", "status", "workflow", "closed_at")
    list_filter = ("status", "year")
    ordering = ("-year", "-month")
    actions = ("close_selected",)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:  # adding: a new period starts open
            return ()
        return ("year", "month", "status", "workflow", "closed_at", "closed_by")

    def get_fields(self, request, obj=None):
        return ("year", "month") if obj is None else self.get_readonly_fields(request, obj)

    def has_change_permission(self, request, obj=None):
        # A period changes status through the services only (the action below):
        # its page is view-only, while the changelist keeps the action.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = services.period_create(year=obj.year, month=obj.month)
        obj.pk, obj.status, obj._state.adding = saved.pk, saved.status, False

    @admin.action(description=gettext_lazy("Close selected periods"), permissions=["change"])
    def close_selected(self, request, queryset):
        # The close_period command's guard: a month never closes over books that disagree.
        differences = reconciliation.ledger_differences()
        if differences:
            for difference in differences:
                self.message_user(request, str(difference), messages.ERROR)
            self.message_user(
                request,
                _("Nothing closed: fix the differences above first (manage.py ledger_check)."),
                messages.ERROR,
            )
            return
        # Oldest first, each its own transaction: closing January and February
        # together works, and a refusal keeps what closed before it.
        for period in queryset.order_by("year", "month"):
            try:
                services.close_period(year=period.year, month=period.month, actor_id=request.user.pk)
            except LedgerError as error:
                self.message_user(request, f"{period}: {error.message}", messages.ERROR)
            else:
                self.message_user(
                    request, _("Period %(period)s closed.") % {"period": period}, messages.SUCCESS
                )


# --- The journal, invoices and payments: read-only ----------------------------------------


class BooksAdmin(adminforms.ReadOnlyAdmin):
    show_full_result_count = False  # the books grow without end: no second COUNT(*) per page


class JournalLineInline(adminforms.ReadOnlyInline):
    model = JournalLine
    fields = ("account", "debit", "credit", "description")
    readonly_fields = fields
    select_related = ("account",)


@admin.register(JournalEntry)
class JournalEntryAdmin(BooksAdmin):
    list_display = ("number", "date", "period", "source", "source_ref", "memo", "reverses", "posted_at")
    list_filter = ("source", "date", "period__status")
    search_fields = ("number", "memo", "source_ref")
    date_hierarchy = "date"
    list_select_related = ("period", "reverses")
    inlines = [JournalLineInline]


class InvoiceLineInline(adminforms.ReadOnlyInline):
    model = InvoiceLine
    fields = ("sku", "description", "quantity", "unit_price", "discount", "tax_rate", "tax", "total")
    readonly_fields = fields


class InvoiceAllocationInline(adminforms.ReadOnlyInline):
    model = PaymentAllocation
    fk_name = "invoice"
    fields = ("payment", "amount")
    readonly_fields = fields
    select_related = ("payment",)
    verbose_name_plural = gettext_lazy("payments allocated")


@admin.register(Invoice)
class InvoiceAdmin(BooksAdmin):
    list_display = (
        "number",
        "customer_name",
        "issue_date",
        "due_date",
        "total",
        "amount_paid",
        "balance",
        "status",
        "order_number",
        "entry",
    )
    list_filter = ("status", "issue_date", "due_date")
    search_fields = ("number", "customer_name", "customer_code", "order_number", "entry__number")
    date_hierarchy = "issue_date"
    list_select_related = ("entry",)
    inlines = [InvoiceLineInline, InvoiceAllocationInline]

    @admin.display(description=gettext_lazy("balance"))
    def balance(self, invoice):
        return invoice.balance


class PaymentAllocationInline(adminforms.ReadOnlyInline):
    model = PaymentAllocation
    fk_name = "payment"
    fields = ("invoice", "amount")
    readonly_fields = fields
    select_related = ("invoice",)


@admin.register(Payment)
class PaymentAdmin(BooksAdmin):
    list_display = ("date", "amount", "method", "reference", "customer_id", "entry", "created_at")
    list_filter = ("method", "date")
    search_fields = ("reference", "entry__number")
    date_hierarchy = "date"
    list_select_related = ("entry",)
    inlines = [PaymentAllocationInline]


@admin.register(PendingInvoice)
class PendingInvoiceAdmin(BooksAdmin):
    """Shipments of customers invoiced at month end: billed by beat's hourly
    task (or manage.py bill_month_end) once their month has ended."""

    list_display = (
        "order_number",
        "customer_name",
        "shipped_on",
        "bills_on",
        "total",
        "tax_total",
        "invoice",
        "billed_at",
    )
    list_filter = (("billed_at", admin.EmptyFieldListFilter), "shipped_on")
    search_fields = ("order_number", "customer_name", "customer_code", "invoice__number")
    date_hierarchy = "shipped_on"
    list_select_related = ("invoice",)
    exclude = ("lines",)
    readonly_fields = ("bills_on", "invoice_lines")

    @admin.display(description=gettext_lazy("bills on"))
    def bills_on(self, pending):
        return pending.bills_on

    @admin.display(description=gettext_lazy("lines"))
    def invoice_lines(self, pending):
        return "; ".join(
            f"{line['quantity']} × {line['sku'] or line['description']} @ {line['unit_price']}"
            for line in pending.lines
        )
