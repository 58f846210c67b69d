"""The benchmark's database, user and environment; the gunicorn, the requests
and the token come from ``bench.common.web``."""

from __future__ import annotations

import secrets

from bench.common import infra, web
from bench.common.infra import PYTHON
from bench.common.web import Gunicorn, GunicornConfig, obtain_token, request

__all__ = ["Gunicorn", "GunicornConfig", "django_env", "ensure_user", "obtain_token", "request"]

SETTINGS_MODULE = "bench.http_baseline.settings"
HOST = infra.HOST

DATABASE = "erp_bench"
CACHE_URL = "redis://127.0.0.1:6379/5"

USERNAME = "bench"
ROLE = "viewer"


def django_env(*, jwt_access_minutes: int) -> dict[str, str]:
    """The environment for every Django process of the run (``web.django_env``)."""
    return web.django_env(
        database=DATABASE,
        cache_url=CACHE_URL,
        settings_module=SETTINGS_MODULE,
        jwt_access_minutes=jwt_access_minutes,
    )


def ensure_user(env: dict[str, str]) -> tuple[str, str, str]:
    """Create or reuse the benchmark user; return (username, password, message)."""
    password = secrets.token_urlsafe(24)
    out = infra.run_checked(
        [PYTHON, "-m", "bench.http_baseline.ensure_user"],
        {**env, "BENCH_USERNAME": USERNAME, "BENCH_PASSWORD": password, "BENCH_ROLE": ROLE},
        "creating the benchmark user",
    )
    return USERNAME, password, out.strip()
