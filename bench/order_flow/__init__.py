"""Sales orders created, confirmed and shipped over HTTP next to GET /api/v1/auth/me/.

Run ``python -m bench.order_flow --help``; see ``bench/README.md``.
"""
