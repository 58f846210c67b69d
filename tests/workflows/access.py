"""workflows' rows of the role × endpoint matrix (tests/erp/test_role_matrix.py), from API.md."""

from erp.access import ANY_ROLE, Access
from tests.erp.endpoints import SAMPLE_ID

# Anyone but a viewer starts, answers (then the step's own roles decide) and cancels.
OPERATORS = ("admin", "sales", "warehouse", "finance", "manager")
RUNS = Access(read=ANY_ROLE, write=OPERATORS)

EXPECTED = {
    "/api/v1/workflows/definitions/": Access(read=ANY_ROLE),
    "/api/v1/workflows/": RUNS,
    f"/api/v1/workflows/{SAMPLE_ID}/": RUNS,
    f"/api/v1/workflows/{SAMPLE_ID}/continue/": RUNS,
    f"/api/v1/workflows/{SAMPLE_ID}/cancel/": RUNS,
    f"/api/v1/workflows/{SAMPLE_ID}/history/": RUNS,
}
