from django.contrib import admin, messages

from workflows import services
from workflows.contract import RunNotFailedError
from workflows.models import Checkpoint, WorkflowRun


class CheckpointInline(admin.TabularInline):
    model = Checkpoint
    fields = ("seq", "step", "status", "actor", "input", "state", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("seq",)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WorkflowRun)
class WorkflowRunAdmin(admin.ModelAdmin):
    list_display = (
        "thread_id",
        "definition",
        "version",
        "status",
        "current_step",
        "created_at",
        "updated_at",
    )
    list_filter = ("status", "definition")
    search_fields = ("thread_id", "definition")
    readonly_fields = [f.name for f in WorkflowRun._meta.fields]
    inlines = [CheckpointInline]
    actions = ["retry_failed"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Retry the selected failed runs from their last checkpoint")
    def retry_failed(self, request, queryset):
        retried = 0
        for run in queryset.filter(status=WorkflowRun.Status.FAILED):
            try:
                services.run_retry(thread_id=run.thread_id)
                retried += 1
            except RunNotFailedError:  # e.g. failed at a deadline: nothing to re-run
                continue
        self.message_user(request, f"{retried} runs retried.", messages.SUCCESS)
