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


# A check's state when it passes without reaching anything: no broker to reach
# (CELERY_BROKER_URL empty, tasks run eagerly in the web process).
EAGER = "eager"


def _check_broker() -> str | None:
    if not settings.CELERY_BROKER_URL:
        return None  # eager mode: there is no broker to reach
    try:
        # The URL from the settings, with the app's transport and TLS options.
        with current_app.connection_for_write(url=settings.CELERY_BROKER_URL) as connection:
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
    states = {name: "ok" for name in checks}
    if not settings.CELERY_BROKER_URL:
        states["broker"] = EAGER
    return JsonResponse({"status": "ok", "checks": states})
