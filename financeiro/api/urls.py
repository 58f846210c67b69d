from django.urls import path
from rest_framework.routers import SimpleRouter

from financeiro.api import views

router = SimpleRouter(use_regex_path=True)
router.register("accounts", views.AccountViewSet, basename="financeiro-account")
router.register("journal-entries", views.JournalEntryViewSet, basename="financeiro-entry")
router.register("invoices", views.InvoiceViewSet, basename="financeiro-invoice")
router.register("payments", views.PaymentViewSet, basename="financeiro-payment")
router.register("pending-invoices", views.PendingInvoiceViewSet, basename="financeiro-pending-invoice")
router.register("periods", views.PeriodViewSet, basename="financeiro-period")

urlpatterns = [
    path("reports/trial-balance/", views.TrialBalanceReport.as_view(), name="financeiro-trial-balance"),
    path("reports/balance-sheet/", views.BalanceSheetReport.as_view(), name="financeiro-balance-sheet"),
    path(
        "reports/income-statement/", views.IncomeStatementReport.as_view(), name="financeiro-income-statement"
    ),
    path("reports/ar-aging/", views.ArAgingReport.as_view(), name="financeiro-ar-aging"),
    *router.urls,
]
