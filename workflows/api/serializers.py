from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from workflows.models import Checkpoint, WorkflowRun

JSON_OBJECT = {"type": "object", "additionalProperties": True}
JSON_SCHEMA = {"type": "object", "additionalProperties": True, "description": "A JSON Schema (2020-12)."}


@extend_schema_field(JSON_OBJECT)
class JSONObjectField(serializers.JSONField):
    """Any JSON object (a dict); anything else is 400."""

    default_error_messages = {"not_an_object": _("Must be a JSON object.")}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            self.fail("not_an_object")
        return value


@extend_schema_field({**JSON_OBJECT, "nullable": True})
class NullableJSONObjectField(serializers.JSONField):
    pass


@extend_schema_field(JSON_SCHEMA)
class JSONSchemaField(serializers.JSONField):
    pass


class DefinitionSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.IntegerField()
    description = serializers.CharField()
    input_schema = JSONSchemaField()


class StartSerializer(serializers.Serializer):
    definition = serializers.CharField(max_length=100)
    input = JSONObjectField(required=False, default=dict, help_text="Matches the definition's input_schema.")


class ContinueSerializer(serializers.Serializer):
    input = JSONObjectField(help_text="Matches waiting_for.input_schema.")
    step = serializers.CharField(
        required=False,
        max_length=100,
        help_text="The step being answered (waiting_for.step as the client saw it). If the run has "
        "moved on meanwhile (someone else answered), the answer is refused with 409.",
    )


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=500)


class HumanWaitingForSerializer(serializers.Serializer):
    """A HumanStep: a user holding one of ``roles`` answers with ``POST .../continue/``."""

    step = serializers.CharField()
    prompt = serializers.CharField()
    input_schema = JSONSchemaField()
    roles = serializers.ListField(child=serializers.CharField())


class SignalWaitingForSerializer(serializers.Serializer):
    """A WaitStep: the system delivers ``signal`` (``continue`` answers 409 ``signal_step``)."""

    step = serializers.CharField()
    signal = serializers.CharField()
    input_schema = JSONSchemaField(allow_null=True, help_text="The signal payload's schema, if any.")


WAITING_FOR = PolymorphicProxySerializer(
    component_name="WaitingFor",
    serializers=[HumanWaitingForSerializer, SignalWaitingForSerializer],
    resource_type_field_name=None,
    allow_null=True,
)


class RunStatusSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkflowRun
        fields = ["thread_id", "status"]


class RunSerializer(serializers.ModelSerializer):
    state = JSONObjectField(read_only=True)
    waiting_for = serializers.SerializerMethodField()
    result = NullableJSONObjectField(read_only=True)

    class Meta:
        model = WorkflowRun
        fields = [
            "thread_id",
            "definition",
            "version",
            "status",
            "state",
            "waiting_for",
            "result",
            "error",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(WAITING_FOR)
    def get_waiting_for(self, run: WorkflowRun):
        return run.waiting_for


class CheckpointSerializer(serializers.ModelSerializer):
    state = JSONObjectField(read_only=True)
    input = serializers.JSONField(read_only=True, allow_null=True)

    class Meta:
        model = Checkpoint
        fields = ["seq", "step", "status", "state", "actor", "input", "created_at"]
