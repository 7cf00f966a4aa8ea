import functools

from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.template.defaultfilters import pluralize
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from spire_notify import clock
from spire_notify.handler import notify_backends
from spire_notify.notification_types import all_types
from spire_notify.store.enqueue import request_delivery
from spire_notify.store.models import Notification, NotificationStatus

# Rows a worker holds ("processing") are its to finish, and "sent" ones would be delivered twice.
RETRYABLE_STATUSES = [NotificationStatus.PENDING, NotificationStatus.ERRORED, NotificationStatus.FAILED]


class NotificationTypeFilter(admin.SimpleListFilter):
    title = _("type")
    parameter_name = "event"

    def lookups(self, request, model_admin):
        return [(notification_type.key, notification_type.name) for notification_type in all_types()]

    def queryset(self, request, queryset):
        return queryset.filter(event=self.value()) if self.value() else queryset


@functools.cache
def detail_inline(backend_class):
    """The admin inline of a backend's detail rows: the one it names in ``admin_inline``, or
    a plain stacked inline of its ``detail_model``."""
    if backend_class.admin_inline is not None:
        return backend_class.admin_inline
    model = backend_class.get_detail_model()
    if model is None:
        return None
    return type(f"{model.__name__}Inline", (admin.StackedInline,), {"model": model, "extra": 0})


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
        # Links of issue 12 (escalation, digests): shown, never a select of every row.
        "unless_read",
        "digest",
    ]
    list_select_related = ["user"]
    actions = ["retry_delivery"]

    def get_inlines(self, request, obj):
        # The detail rows of the notification's channel, as its backend declares them: the
        # admin names no channel itself.
        if obj is None or obj.channel not in notify_backends:
            return []
        try:
            inline = detail_inline(type(notify_backends[obj.channel]))
        except ImproperlyConfigured:
            return []  # the system checks report the broken entry
        return [inline] if inline is not None else []

    @admin.display(description="last error", ordering="last_error")
    def short_last_error(self, notification):
        return Truncator(notification.last_error).chars(80)

    # Retrying changes rows and sends again: viewing notifications is not enough.
    @admin.action(description="Retry delivery of the selected notifications", permissions=["change"])
    def retry_delivery(self, request, queryset):
        now = clock.now()
        retried = queryset.filter(status__in=RETRYABLE_STATUSES).update(
            status=NotificationStatus.PENDING, next_attempt_at=now
        )
        skipped = queryset.count() - retried
        if retried:
            transaction.on_commit(request_delivery)
        self.message_user(request, f"{_count(retried)} queued for delivery.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{_count(skipped)} skipped: sent or being delivered.", messages.WARNING
            )


def _count(number):
    return f"{number} notification{pluralize(number)}"
