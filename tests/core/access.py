"""core's rows of the role × endpoint matrix (tests/erp/test_role_matrix.py), from API.md."""

from erp.access import ANY_ROLE, AUTHENTICATED, PUBLIC, Access
from tests.erp.endpoints import SAMPLE_ID

ADMINS = ("admin",)

EXPECTED = {
    "/api/v1/auth/": PUBLIC,  # API roots: what each prefix holds, no token needed
    "/api/v1/core/": PUBLIC,
    "/api/v1/auth/token/": PUBLIC,
    "/api/v1/auth/token/refresh/": PUBLIC,
    "/api/v1/auth/logout/": PUBLIC,
    "/api/v1/auth/logout/everywhere/": AUTHENTICATED,
    "/api/v1/auth/me/": AUTHENTICATED,
    "/api/v1/core/company/": Access(read=ANY_ROLE, write=ADMINS),
    "/api/v1/core/users/": Access(read=ADMINS, write=ADMINS),
    f"/api/v1/core/users/{SAMPLE_ID}/": Access(read=ADMINS, write=ADMINS),
}
