from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from erp.exceptions import Conflict
from erp.permissions import user_roles
from workflows import registry, services
from workflows.api.serializers import (
    CheckpointSerializer,
    ContinueSerializer,
    DefinitionSerializer,
    RunSerializer,
    RunStatusSerializer,
    StartSerializer,
)
from workflows.contract import (
    InvalidInputError,
    NotAllowedError,
    NotWaitingError,
    UnknownDefinitionError,
)
from workflows.models import WorkflowRun

# Who may start and cancel runs; answering a step is then up to its own roles.
OPERATOR_ROLES = ("sales", "warehouse", "finance", "manager")


def _as_api_error(exc: Exception) -> exceptions.APIException:
    if isinstance(exc, InvalidInputError):
        return exceptions.ValidationError({"input": [e["message"] for e in exc.errors] or [str(exc)]})
    if isinstance(exc, UnknownDefinitionError):
        return exceptions.ValidationError({"definition": [str(exc)]})
    if isinstance(exc, NotAllowedError):
        return exceptions.PermissionDenied(str(exc))
    if isinstance(exc, NotWaitingError):
        return Conflict(str(exc))
    raise exc


@extend_schema(tags=["workflows"])
class DefinitionList(generics.ListAPIView):
    """Registered workflow definitions (every version still registered)."""

    serializer_class = DefinitionSerializer
    pagination_class = None
    filter_backends = ()

    def get_queryset(self):
        return [
            {
                "name": d.name,
                "version": d.version,
                "description": d.description,
                "input_schema": d.input_schema,
            }
            for d in registry.all_definitions()
        ]


@extend_schema(tags=["workflows"])
class RunViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = WorkflowRun.objects.all()
    serializer_class = RunSerializer
    lookup_field = "thread_id"
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    write_roles = OPERATOR_ROLES
    filterset_fields = ["status", "definition"]
    ordering_fields = ["created_at", "updated_at"]

    @extend_schema(request=StartSerializer, responses={202: RunStatusSerializer})
    def create(self, request, *args, **kwargs):
        body = StartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            run = services.run_start(
                definition=body.validated_data["definition"],
                input=body.validated_data["input"],
                started_by=request.user.pk,
            )
        except (InvalidInputError, UnknownDefinitionError) as exc:
            raise _as_api_error(exc) from exc
        return Response(RunStatusSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=ContinueSerializer, responses={202: RunStatusSerializer})
    @action(detail=True, methods=["post"], url_path="continue")
    def continue_run(self, request, thread_id=None, **kwargs):
        body = ContinueSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        self.get_object()  # 404 for an unknown id
        try:
            run = services.run_continue(
                thread_id=thread_id,
                input=body.validated_data["input"],
                step=body.validated_data.get("step"),
                actor_id=request.user.pk,
                actor_roles=user_roles(request.user),
            )
        except (InvalidInputError, NotAllowedError, NotWaitingError) as exc:
            raise _as_api_error(exc) from exc
        return Response(RunStatusSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: RunStatusSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, thread_id=None, **kwargs):
        self.get_object()
        try:
            run = services.run_cancel(thread_id=thread_id, actor_id=request.user.pk)
        except NotWaitingError as exc:
            raise _as_api_error(exc) from exc
        return Response(RunStatusSerializer(run).data)

    @extend_schema(responses={200: CheckpointSerializer(many=True)})
    @action(detail=True, methods=["get"], filter_backends=(), pagination_class=None)
    def history(self, request, thread_id=None, **kwargs):
        run = self.get_object()
        return Response(CheckpointSerializer(run.checkpoints.order_by("seq"), many=True).data)
