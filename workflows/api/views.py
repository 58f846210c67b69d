"""Thin views: each calls a service and lets its errors propagate (the kernel's
exception handler maps the contract's errors to 400/403/404/409)."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from erp.access import ANY_ROLE, Access
from erp.permissions import user_roles
from workflows import registry, services
from workflows.api.serializers import (
    CancelSerializer,
    CheckpointSerializer,
    ContinueSerializer,
    DefinitionSerializer,
    RunSerializer,
    RunStatusSerializer,
    StartSerializer,
)
from workflows.models import WorkflowRun

# Who may start and cancel runs; answering a step is then up to its own roles.
OPERATOR_ROLES = ("sales", "warehouse", "finance", "manager")


@extend_schema(tags=["workflows"], summary="List registered workflow definitions")
class DefinitionList(generics.ListAPIView):
    """Registered workflow definitions (every version still registered)."""

    access = Access(read=ANY_ROLE)
    serializer_class = DefinitionSerializer
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
@extend_schema_view(
    list=extend_schema(summary="List workflow runs"),
    retrieve=extend_schema(summary="Read a workflow run"),
)
class RunViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = WorkflowRun.objects.all()
    serializer_class = RunSerializer
    lookup_field = "thread_id"
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    access = Access(read=ANY_ROLE, write=OPERATOR_ROLES)
    filterset_fields = ["status", "definition"]
    ordering_fields = ["created_at", "updated_at"]

    @extend_schema(
        summary="Start a workflow run",
        request=StartSerializer,
        responses={202: RunStatusSerializer},
    )
    def create(self, request, *args, **kwargs):
        body = StartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = services.run_start(
            definition=body.validated_data["definition"],
            input=body.validated_data["input"],
            started_by=request.user.pk,
        )
        return Response(RunStatusSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Answer the human step a run waits at",
        request=ContinueSerializer,
        responses={202: RunStatusSerializer},
    )
    @action(detail=True, methods=["post"], url_path="continue")
    def continue_run(self, request, thread_id=None, **kwargs):
        body = ContinueSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = services.run_continue(
            thread_id=thread_id,
            input=body.validated_data["input"],
            step=body.validated_data.get("step"),
            actor_id=request.user.pk,
            actor_roles=user_roles(request.user),
        )
        return Response(RunStatusSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Cancel a running or waiting run",
        request=CancelSerializer,
        responses={200: RunStatusSerializer},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, thread_id=None, **kwargs):
        body = CancelSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = services.run_cancel(
            thread_id=thread_id, actor_id=request.user.pk, reason=body.validated_data["reason"]
        )
        return Response(RunStatusSerializer(run).data)

    @extend_schema(summary="List the checkpoints of a run", responses={200: CheckpointSerializer(many=True)})
    @action(detail=True, methods=["get"], filter_backends=())
    def history(self, request, thread_id=None, **kwargs):
        run = self.get_object()
        page = self.paginate_queryset(run.checkpoints.order_by("seq"))
        return self.get_paginated_response(CheckpointSerializer(page, many=True).data)
