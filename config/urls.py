from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from erp import health

api_v1 = [
    path("auth/", include("core.api.auth_urls")),
    path("core/", include("core.api.urls")),
    path("workflows/", include("workflows.api.urls")),
]

urlpatterns = [
    re_path(r"^api/(?P<version>v1)/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(api_version="v1"), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include("django_prometheus.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "erp.views.not_found"
handler500 = "erp.views.server_error"
