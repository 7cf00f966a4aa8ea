from django.contrib import admin

from .models import HelpDeskTicket


@admin.register(HelpDeskTicket)
class HelpDeskTicketAdmin(admin.ModelAdmin):
    list_display = ["id", "priority", "purpose", "status", "created_by", "created_at"]
    list_filter = ["status", "priority", "purpose"]
    search_fields = ["description", "created_by__username"]
    list_select_related = ["created_by"]
    readonly_fields = ["created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # New tickets go through the service layer so that they notify like any other.
        fields = {name: form.cleaned_data[name] for name in form.cleaned_data if name != "created_by"}
        obj.services.create(created_by=form.cleaned_data.get("created_by") or request.user, **fields)
