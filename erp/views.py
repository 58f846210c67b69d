"""Django-level error pages as problem+json (paths no DRF view handled), and the
API's index: what a client (or a person with a browser) finds at ``/``,
``/api/`` and ``/api/v1/``."""

from django.conf import settings
from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.http import HttpResponsePermanentRedirect
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from erp.access import API_PREFIX, PUBLIC, api_routes
from erp.exceptions import body_too_large
from erp.problems import problem_response

API_VERSION = "v1"
# Link name -> URL name; the ops endpoints are plain paths served by middleware.
_LINKS = {
    "docs": "swagger-ui",
    "redoc": "redoc",
    "schema": "schema",
    "admin": "admin:index",
}
_OPS_LINKS = {"healthz": "/healthz", "readyz": "/readyz", "metrics": "/metrics"}


def bad_request(request, exception=None):
    """What Django itself refuses before any view: a body past
    DATA_UPLOAD_MAX_MEMORY_SIZE (413), a Host not in ALLOWED_HOSTS, and other
    suspicious requests (400)."""
    if isinstance(exception, RequestDataTooBig):
        return problem_response(413, "too_large", str(body_too_large().detail))
    if isinstance(exception, DisallowedHost):
        return problem_response(400, "disallowed_host", _("This server does not serve that host name."))
    return problem_response(400, "bad_request", _("The request could not be understood."))


def not_found(request, exception=None):
    return problem_response(404, "not_found", _("No resource at this path."))


def server_error(request):
    return problem_response(500, "server_error", _("Internal error; it has been logged."))


@csrf_exempt  # an API client's POST to a wrong path is a 404, not a CSRF page
def api_not_found(request, *args, **kwargs):
    """Every /api/ path no view matched: a problem+json 404 even with DEBUG on
    (Django answers those with its HTML debug page, bypassing handler404)."""
    path = request.path_info
    if settings.APPEND_SLASH and not path.endswith("/") and _has_view(path + "/"):
        if request.method in ("GET", "HEAD"):
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
        # A redirect would lose the body: say where the resource is instead.
        return problem_response(
            404, "not_found", _("No resource at this path; did you mean %(path)s?") % {"path": path + "/"}
        )
    return problem_response(404, "not_found", _("No resource at this path."))


def _has_view(path: str) -> bool:
    try:
        return resolve(path).func is not api_not_found
    except Resolver404:
        return False


INDEX_SCHEMA = inline_serializer(
    "ApiIndex",
    {
        "title": serializers.CharField(),
        "version": serializers.CharField(),
        "links": serializers.DictField(
            child=serializers.CharField(), help_text="docs, redoc, schema, admin, healthz, readyz, metrics"
        ),
        "apis": serializers.DictField(
            child=serializers.CharField(), help_text="Each app's API root, by app."
        ),
    },
)
APP_ROOT_SCHEMA = inline_serializer(
    "ApiRoot",
    {
        "app": serializers.CharField(),
        "endpoints": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            help_text="Path (with {placeholders}) -> the HTTP methods it answers.",
        ),
    },
)


class ApiIndex(APIView):
    """Where everything is: documentation, schema, admin, probes and the app APIs.
    ``apis`` (app names) is given by the URLconf, which knows the apps."""

    authentication_classes = ()
    access = PUBLIC
    http_method_names = ["get", "head", "options"]
    apis: tuple[str, ...] = ()

    @extend_schema(
        tags=["index"],
        summary="API index",
        description="Links to the documentation, the schema, the admin, the health endpoints and "
        "each app's API root. No token needed; `/` and `/api/` answer the same.",
        responses={200: INDEX_SCHEMA},
    )
    def get(self, request, *args, **kwargs):
        links = {name: reverse(url_name) for name, url_name in _LINKS.items()}
        return Response(
            {
                "title": spectacular_settings.TITLE,
                "version": API_VERSION,
                "links": {**links, **_OPS_LINKS},
                "apis": {app: app_root_path(app) for app in self.apis},
            }
        )


def app_root_path(app: str) -> str:
    return f"{API_PREFIX}{app}/"  # where config/urls.py mounts each app


def has_root_view(urlconf: str) -> bool:
    """Whether an app's URLconf answers its own root (then no ApiRoot is mounted)."""
    try:
        resolve("/", urlconf=urlconf)
    except Resolver404:
        return False
    return True


class ApiRoot(APIView):
    """One app's API root: its endpoints and the methods each answers."""

    authentication_classes = ()
    access = PUBLIC
    http_method_names = ["get", "head", "options"]
    app = ""

    @extend_schema(
        tags=["index"],
        summary="An app's API root",
        description="The app's endpoints and the methods each answers. No token needed.",
        responses={200: APP_ROOT_SCHEMA},
    )
    def get(self, request, *args, **kwargs):
        root = app_root_path(self.app)
        endpoints: dict[str, list[str]] = {}
        for route in api_routes():
            if route.path.startswith(root) and route.path != root:
                methods = endpoints.setdefault(route.path, [])
                methods.extend(m.upper() for m in route.methods if m.upper() not in methods)
        return Response({"app": self.app, "endpoints": endpoints})
