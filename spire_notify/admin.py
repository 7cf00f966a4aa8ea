from django.contrib import admin, messages
from django.db import transaction
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.utils.text import Truncator

from .admin_filters import NotificationTypeFilter
from .dispatch import enqueue_delivery
from .models import AppNotification, EmailNotification, Notification, NotificationStatus

# Rows a worker holds ("processing") are its to finish, and "sent" ones would be delivered twice.
RETRYABLE_STATUSES = [NotificationStatus.PENDING, NotificationStatus.ERRORED, NotificationStatus.FAILED]


class AppNotificationInline(admin.StackedInline):
    model = AppNotification
    extra = 0


class EmailNotificationInline(admin.StackedInline):
    model = EmailNotification
    extra = 0


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "user",
        "channel",
        "status",
        "attempts",
        "short_last_error",
        "created_at",
        "sent_at",
    ]
    list_filter = ["channel", "status", NotificationTypeFilter]
    search_fields = ["title", "user__username", "user__email"]
    readonly_fields = [
        "payload",
        "content_type",
        "object_id",
        "claimed_by",
        "lease_expires_at",
        "attempts",
        "last_error",
    ]
    list_select_related = ["user"]
    inlines = [AppNotificationInline, EmailNotificationInline]
    actions = ["retry_delivery"]

    @admin.display(description="last error", ordering="last_error")
    def short_last_error(self, notification):
        return Truncator(notification.last_error).chars(80)

    # Retrying changes rows and sends again: viewing notifications is not enough.
    @admin.action(description="Retry delivery of the selected notifications", permissions=["change"])
    def retry_delivery(self, request, queryset):
        now = timezone.now()
        retried = queryset.filter(status__in=RETRYABLE_STATUSES).update(
            status=NotificationStatus.PENDING, next_attempt_at=now
        )
        skipped = queryset.count() - retried
        if retried:
            transaction.on_commit(enqueue_delivery)
        self.message_user(request, f"{_count(retried)} queued for delivery.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{_count(skipped)} skipped: sent or being delivered.", messages.WARNING
            )


def _count(number):
    return f"{number} notification{pluralize(number)}"
