from django.apps import AppConfig


class HelpDeskConfig(AppConfig):
    name = "spire_notify.helpdesk"
    label = "spire_helpdesk"
    verbose_name = "Help desk"
    default_auto_field = "django.db.models.BigAutoField"
    # Its links in the navigation of spire-notify's pages (spire_notify.channel_apps.PageParts).
    notify_pages = "spire_notify.helpdesk.pages.HelpDeskPages"

    def ready(self):
        # The system checks register on import. The Notifiers (notifiers.py) declare the
        # notification types as spire_notify imports them, as it imports every app's.
        from . import checks  # noqa: F401
