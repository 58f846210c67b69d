from django.db import models
from django.utils import timezone


class IdempotencyRecord(models.Model):
    """The stored response of a POST made with an Idempotency-Key, per user."""

    user_id = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body")
    status_code = models.PositiveSmallIntegerField()
    headers = models.JSONField(default=dict)
    body = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "key"], name="erp_idempotency_user_key"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key} → {self.status_code}"


class OutboxEvent(models.Model):
    """A domain event, written in the same transaction (and database) as the change
    that caused it. Never updated: delivery state lives in :class:`Delivery`."""

    id = models.UUIDField(primary_key=True, editable=False)
    event_type = models.CharField(max_length=200, db_index=True)
    version = models.PositiveSmallIntegerField()
    occurred_at = models.DateTimeField()
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.id}"


class Delivery(models.Model):
    """One event to one subscriber: the unit that is enqueued, retried and
    dead-lettered. The subscriber's inbox, not this row, guards against a second
    effect."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        DELIVERED = "delivered", "delivered"
        DEAD = "dead", "dead-lettered"

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    enqueued_at = models.DateTimeField(null=True, blank=True, help_text="Last hand-over to the broker")
    next_attempt_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Start of the attempt in progress, committed before the subscriber runs; still set "
        "when a later attempt begins means that attempt's process died",
    )
    crashes = models.PositiveIntegerField(default=0, help_text="Attempts that ended with their process dying")
    outage_since = models.DateTimeField(
        null=True, blank=True, help_text="First failed attempt of the current database or broker outage"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "subscriber"], name="erp_delivery_event_subscriber"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="erp_delivery_due")]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.event_id} → {self.subscriber} ({self.status})"


class InboxRecord(models.Model):
    """Written in the subscriber's own transaction: its presence means the effect
    of (event, subscriber) is committed, so a redelivery is skipped."""

    event_id = models.UUIDField()
    subscriber = models.CharField(max_length=200)
    processed_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event_id", "subscriber"], name="erp_inbox_event_subscriber"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} ✓ {self.subscriber}"
