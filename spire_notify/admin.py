from django.contrib import admin

from .models import AppNotification, EmailNotification, Notification


class AppNotificationInline(admin.StackedInline):
    model = AppNotification
    extra = 0


class EmailNotificationInline(admin.StackedInline):
    model = EmailNotification
    extra = 0


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["title", "user", "channel", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["channel", "status", "event"]
    search_fields = ["title", "user__username", "user__email"]
    readonly_fields = ["payload", "content_type", "object_id", "claimed_by", "lease_expires_at"]
    list_select_related = ["user"]
    inlines = [AppNotificationInline, EmailNotificationInline]
