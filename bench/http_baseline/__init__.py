"""HTTP baseline: a bare Django view against an authenticated DRF endpoint.

Run ``python -m bench.http_baseline --help``; see ``bench/README.md``.
"""
