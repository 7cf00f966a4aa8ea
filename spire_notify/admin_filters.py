"""The admin's filter of notifications by type: the registered types, by their names."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from spire_notify.types import all_types


class NotificationTypeFilter(admin.SimpleListFilter):
    title = _("type")
    parameter_name = "event"

    def lookups(self, request, model_admin):
        return [(notification_type.key, notification_type.name) for notification_type in all_types()]

    def queryset(self, request, queryset):
        return queryset.filter(event=self.value()) if self.value() else queryset
