"""The kernel's rows of the role × endpoint matrix (tests/erp/test_role_matrix.py)."""

from erp.access import PUBLIC

EXPECTED = {
    "/api/v1/": PUBLIC,  # the API index: links to the docs and to every app's API root
}
