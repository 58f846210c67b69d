"""estoque's rows of the role × endpoint matrix (tests/erp/test_role_matrix.py), from API.md."""

from erp.access import ANY_ROLE, PUBLIC, Access
from tests.erp.endpoints import SAMPLE_ID

# Everyone reads; warehouse staff (and admin) write.
WAREHOUSE_STAFF = Access(read=ANY_ROLE, write=("warehouse",))
READ_ONLY = Access(read=ANY_ROLE)

EXPECTED = {
    "/api/v1/estoque/": PUBLIC,  # the app's API root
    "/api/v1/estoque/products/": WAREHOUSE_STAFF,
    f"/api/v1/estoque/products/{SAMPLE_ID}/": WAREHOUSE_STAFF,
    "/api/v1/estoque/products/import/": WAREHOUSE_STAFF,
    "/api/v1/estoque/warehouses/": WAREHOUSE_STAFF,
    f"/api/v1/estoque/warehouses/{SAMPLE_ID}/": WAREHOUSE_STAFF,
    "/api/v1/estoque/stock/": READ_ONLY,
    "/api/v1/estoque/moves/": READ_ONLY,
    "/api/v1/estoque/reservations/": READ_ONLY,
    "/api/v1/estoque/receipts/": WAREHOUSE_STAFF,
    "/api/v1/estoque/adjustments/": WAREHOUSE_STAFF,
    "/api/v1/estoque/transfers/": WAREHOUSE_STAFF,
}
