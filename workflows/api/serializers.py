from rest_framework import serializers

from workflows.models import Checkpoint, WorkflowRun


class DefinitionSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.IntegerField()
    description = serializers.CharField()
    input_schema = serializers.JSONField()


class StartSerializer(serializers.Serializer):
    definition = serializers.CharField(max_length=100)
    input = serializers.JSONField(required=False, default=dict)


class ContinueSerializer(serializers.Serializer):
    input = serializers.JSONField()
    step = serializers.CharField(
        required=False,
        max_length=100,
        help_text="The step being answered (waiting_for.step as the client saw it). If the run has "
        "moved on meanwhile (someone else answered), the answer is refused with 409.",
    )


class WaitingForSerializer(serializers.Serializer):
    step = serializers.CharField()
    prompt = serializers.CharField()
    input_schema = serializers.JSONField()
    roles = serializers.ListField(child=serializers.CharField())


class RunStatusSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkflowRun
        fields = ["thread_id", "status"]


class RunSerializer(serializers.ModelSerializer):
    waiting_for = WaitingForSerializer(allow_null=True)

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


class CheckpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = Checkpoint
        fields = ["seq", "step", "status", "state", "actor", "input", "created_at"]
