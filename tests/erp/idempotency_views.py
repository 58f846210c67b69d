"""Test-only views owned by ``workflows`` (declared: they live outside the app),
so the Idempotency-Key tests exercise an app whose database moves in the split
run. They write through the apps' own services, as a real view would."""

from django.urls import include, path, re_path
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core import services as core_services
from workflows import services as workflow_services
from workflows.contract import HumanStep, WorkflowDefinition


class IdempotencyProbe(WorkflowDefinition):
    name, version, start = "test_idempotency_probe", 1, "wait"
    steps = (
        HumanStep("wait", prompt="Wait for a person", input_schema={"type": "object"}, roles=("manager",)),
    )


class _WorkflowsView(APIView):
    app_label = "workflows"
    permission_classes = (IsAuthenticated,)


class StartRun(_WorkflowsView):
    """Starts a run (an effect on the workflows database) and answers 201,
    or, with ``refuse``, answers 409 after the effect."""

    def post(self, request, version=None):
        run = workflow_services.run_start(
            definition=IdempotencyProbe.name, input={"note": request.data.get("note", "")}, started_by=None
        )
        code = status.HTTP_409_CONFLICT if request.data.get("refuse") else status.HTTP_201_CREATED
        return Response({"thread_id": str(run.thread_id)}, status=code)


class CallCoreThenRefuse(_WorkflowsView):
    """Asks another app (core) to create a user, then starts a run and refuses:
    the view's own effect rolls back, the other app's has committed on its own."""

    def post(self, request, version=None):
        core_services.user_create(username=request.data["username"], password="Str0ng-Pass-1")
        workflow_services.run_start(definition=IdempotencyProbe.name, input={}, started_by=None)
        return Response({"refused": True}, status=status.HTTP_400_BAD_REQUEST)


urlpatterns = [
    re_path(
        r"^api/(?P<version>v1)/test-idempotency/",
        include([path("start/", StartRun.as_view()), path("call-core/", CallCoreThenRefuse.as_view())]),
    ),
    path("", include("config.urls")),
]
