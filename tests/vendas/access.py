"""vendas' rows of the role × endpoint matrix (tests/erp/test_role_matrix.py), from API.md."""

from erp.access import ANY_ROLE, PUBLIC, Access
from tests.erp.endpoints import SAMPLE_ID

# Everyone reads; sales (and admin) write; warehouse may ship too.
SALES = Access(read=ANY_ROLE, write=("sales",))

EXPECTED = {
    "/api/v1/vendas/": PUBLIC,  # the app's API root
    "/api/v1/vendas/customers/": SALES,
    f"/api/v1/vendas/customers/{SAMPLE_ID}/": SALES,
    "/api/v1/vendas/prices/": SALES,
    f"/api/v1/vendas/prices/{SAMPLE_ID}/": SALES,
    "/api/v1/vendas/orders/": SALES,
    f"/api/v1/vendas/orders/{SAMPLE_ID}/": SALES,
    f"/api/v1/vendas/orders/{SAMPLE_ID}/confirm/": SALES,
    f"/api/v1/vendas/orders/{SAMPLE_ID}/ship/": Access(read=ANY_ROLE, write=("warehouse", "sales")),
    f"/api/v1/vendas/orders/{SAMPLE_ID}/cancel/": SALES,
}
