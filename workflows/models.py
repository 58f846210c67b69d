import uuid

from django.db import models
from django.utils import timezone


class WorkflowRun(models.Model):
    """One run of a definition; rebuilt from here alone (never from memory)."""

    class Status(models.TextChoices):
        RUNNING = "running"
        WAITING = "waiting"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLED = "cancelled"

    FINISHED = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)

    thread_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    definition = models.CharField(max_length=100, db_index=True)
    version = models.PositiveIntegerField(help_text="Pinned at start: the run finishes on this version")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING, db_index=True)
    current_step = models.CharField(max_length=100, blank=True, default="")
    attempt = models.PositiveIntegerField(
        default=1, help_text="Attempt at the current step: 1, then +1 per retry after a failure"
    )
    state = models.JSONField(default=dict)
    waiting_for = models.JSONField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True, db_index=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    started_by = models.UUIDField(null=True, blank=True, help_text="core.User id")
    idempotency_key = models.CharField(
        max_length=255,
        null=True,
        blank=True,
        unique=True,
        help_text="The starter's key: a start repeated with it returns this run",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.definition} v{self.version} {self.thread_id} ({self.status})"


class Checkpoint(models.Model):
    """Append-only: one row per transition, with who did it and with what input."""

    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="checkpoints")
    seq = models.PositiveIntegerField()
    step = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(max_length=16)
    state = models.JSONField(default=dict)
    actor = models.UUIDField(null=True, blank=True, help_text="core.User id; empty for the system")
    input = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="workflows_checkpoint_run_seq")]

    def __str__(self) -> str:
        return f"{self.run_id} #{self.seq} {self.step} {self.status}"
