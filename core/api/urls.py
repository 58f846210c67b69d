from django.urls import path
from rest_framework.routers import SimpleRouter

from core.api import views

router = SimpleRouter(use_regex_path=True)
router.register("users", views.UserViewSet, basename="user")

urlpatterns = [
    path("company/", views.CompanyView.as_view(), name="company"),
    *router.urls,
]
