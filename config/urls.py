import importlib.util

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from config.domain_apps import DOMAIN_APPS
from erp.views import ApiIndex, ApiRoot, api_not_found, has_root_view

# API root name -> the URLconf mounted at /api/v1/<name>/: auth, then every app of
# the one list (config/domain_apps.py) that has an api/urls.py.
API_APPS = {
    "auth": "core.api.auth_urls",
    **{app: f"{app}.api.urls" for app in DOMAIN_APPS if importlib.util.find_spec(f"{app}.api") is not None},
}

api_v1 = [path("", ApiIndex.as_view(apis=tuple(API_APPS)), name="api-index")]
for _app, _urlconf in API_APPS.items():
    api_v1.append(path(f"{_app}/", include(_urlconf)))
    if not has_root_view(_urlconf):  # else the app's own root view is its API root
        api_v1.append(path(f"{_app}/", ApiRoot.as_view(app=_app), name=f"api-root-{_app}"))

# The same index, unversioned; the schema documents it once, at /api/v1/.
index_alias = ApiIndex.as_view(apis=tuple(API_APPS), schema=None)

# /healthz, /readyz and /metrics are served by erp.middleware.OpsEndpointsMiddleware,
# before host validation and HTTPS redirects (probes call pods by IP over HTTP).
urlpatterns = [
    path("", index_alias, name="index"),
    path("api/", index_alias, name="api-index-unversioned"),
    re_path(r"^api/(?P<version>v1)/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(api_version="v1"), name="schema"),
    # Both load only from this host, with no inline script (CONTENT_SECURITY_POLICY):
    # Swagger UI's set-up script comes from its own URL (?script).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="schema", template_name="erp/redoc.html"),
        name="redoc",
    ),
    # Any other /api/ path: a problem+json 404, with DEBUG on too.
    re_path(r"^api/", api_not_found),
    path("admin/", admin.site.urls),
]

handler400 = "erp.views.bad_request"
handler404 = "erp.views.not_found"
handler500 = "erp.views.server_error"
