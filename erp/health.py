"""Ops endpoints: liveness, readiness (database, cache, broker), outside DRF so
they need no token and are never throttled."""

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import JsonResponse

from erp.problems import problem_response


def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_databases() -> str | None:
    for alias in connections:
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return f"database {alias}: {exc.__class__.__name__}"
    return None


def _check_cache() -> str | None:
    try:
        cache.get("readyz-probe")
    except Exception as exc:  # noqa: BLE001
        return f"cache: {exc.__class__.__name__}"
    return None


def _check_broker() -> str | None:
    if not settings.CELERY_BROKER_URL:
        return None  # eager mode: there is no broker to reach
    try:
        with current_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001
        return f"broker: {exc.__class__.__name__}"
    return None


def readyz(request):
    checks = {"database": _check_databases(), "cache": _check_cache(), "broker": _check_broker()}
    down = {name: problem for name, problem in checks.items() if problem}
    if down:
        return problem_response(
            503, "not_ready", "Not ready: " + "; ".join(down.values()), checks={n: "down" for n in down}
        )
    return JsonResponse({"status": "ok", "checks": {name: "ok" for name in checks}})
