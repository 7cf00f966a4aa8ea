from django.contrib import admin

from .models import HelpDeskTicket, HelpDeskTicketComment


class HelpDeskTicketCommentInline(admin.TabularInline):
    model = HelpDeskTicketComment
    extra = 0
    fields = ["author", "body", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        # Comments are added on the ticket page, through the service that notifies participants.
        return False


@admin.register(HelpDeskTicket)
class HelpDeskTicketAdmin(admin.ModelAdmin):
    list_display = ["id", "priority", "purpose", "status", "created_by", "created_at"]
    list_filter = ["status", "priority", "purpose"]
    search_fields = ["description", "created_by__username"]
    list_select_related = ["created_by"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [HelpDeskTicketCommentInline]

    def save_model(self, request, obj, form, change):
        if not change:
            # New tickets go through the service layer so that they notify like any other.
            fields = {name: form.cleaned_data[name] for name in form.cleaned_data if name != "created_by"}
            obj.services.create(created_by=form.cleaned_data.get("created_by") or request.user, **fields)
            return
        if "status" not in form.changed_data:
            super().save_model(request, obj, form, change)
            return
        # A status changed here tells the creator, as it does on the ticket page.
        new_status, obj.status = obj.status, form.initial["status"]
        super().save_model(request, obj, form, change)
        obj.services.change_status(new_status, changed_by=request.user)
