from django.urls import path
from rest_framework.routers import DefaultRouter

from core.api import views

router = DefaultRouter(use_regex_path=True)
router.include_root_view = False
router.register("users", views.UserViewSet, basename="user")

urlpatterns = [
    path("company/", views.CompanyView.as_view(), name="company"),
    *router.urls,
]
