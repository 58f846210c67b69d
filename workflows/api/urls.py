from django.urls import path
from rest_framework.routers import SimpleRouter

from workflows.api import views

router = SimpleRouter(use_regex_path=True)
router.register("", views.RunViewSet, basename="workflow-run")

urlpatterns = [
    path("definitions/", views.DefinitionList.as_view(), name="workflow-definitions"),
    *router.urls,
]
