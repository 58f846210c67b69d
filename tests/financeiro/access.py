"""financeiro's rows of the role × endpoint matrix (tests/erp/test_role_matrix.py), from API.md."""

from erp.access import ANY_ROLE, PUBLIC, Access
from tests.erp.endpoints import SAMPLE_ID

# Everyone reads; finance (and admin) write.
FINANCE = Access(read=ANY_ROLE, write=("finance",))
READ_ONLY = Access(read=ANY_ROLE)

EXPECTED = {
    "/api/v1/financeiro/": PUBLIC,  # the app's API root
    "/api/v1/financeiro/accounts/": FINANCE,
    f"/api/v1/financeiro/accounts/{SAMPLE_ID}/": FINANCE,
    "/api/v1/financeiro/journal-entries/": FINANCE,
    f"/api/v1/financeiro/journal-entries/{SAMPLE_ID}/": FINANCE,
    f"/api/v1/financeiro/journal-entries/{SAMPLE_ID}/reverse/": FINANCE,
    "/api/v1/financeiro/invoices/": READ_ONLY,
    f"/api/v1/financeiro/invoices/{SAMPLE_ID}/": READ_ONLY,
    "/api/v1/financeiro/pending-invoices/": READ_ONLY,
    f"/api/v1/financeiro/pending-invoices/{SAMPLE_ID}/": READ_ONLY,
    "/api/v1/financeiro/payments/": FINANCE,
    f"/api/v1/financeiro/payments/{SAMPLE_ID}/": FINANCE,
    "/api/v1/financeiro/periods/": READ_ONLY,
    f"/api/v1/financeiro/periods/{SAMPLE_ID}/": READ_ONLY,
    f"/api/v1/financeiro/periods/{SAMPLE_ID}/close/": Access(read=ANY_ROLE, write=("finance",)),
    "/api/v1/financeiro/reports/trial-balance/": READ_ONLY,
    "/api/v1/financeiro/reports/balance-sheet/": READ_ONLY,
    "/api/v1/financeiro/reports/income-statement/": READ_ONLY,
    "/api/v1/financeiro/reports/ar-aging/": READ_ONLY,
}
