"""Event relay in admin: dead letters visible and filterable, replayable."""

from django.contrib import admin, messages

from erp import relay
from erp.models import Delivery, OutboxEvent


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = ("subscriber", "status", "attempts", "next_attempt_at", "delivered_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ("id", "event_type", "version", "occurred_at", "created_at")
    list_filter = ("event_type",)
    search_fields = ("id", "event_type")
    readonly_fields = ("id", "event_type", "version", "occurred_at", "created_at", "payload")
    inlines = [DeliveryInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # events are facts: never edited


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "event",
        "event_type",
        "subscriber",
        "status",
        "attempts",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status", "subscriber", "event__event_type")
    search_fields = ("event__id", "subscriber", "last_error")
    readonly_fields = [f.name for f in Delivery._meta.fields]
    list_select_related = ("event",)
    actions = ["replay_selected"]

    @admin.display(description="event type", ordering="event__event_type")
    def event_type(self, delivery):
        return delivery.event.event_type

    def has_add_permission(self, request):
        return False

    @admin.action(description="Replay the selected deliveries (after fixing the cause)")
    def replay_selected(self, request, queryset):
        alias = queryset.db
        count = sum(
            relay.replay(alias=alias, event_id=d.event_id, subscriber=d.subscriber)
            for d in queryset.exclude(status=Delivery.Status.DELIVERED)
        )
        self.message_user(request, f"{count} deliveries queued again.", messages.SUCCESS)
