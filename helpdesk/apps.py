from django.apps import AppConfig


class HelpDeskConfig(AppConfig):
    name = "spire_notify.helpdesk"
    label = "spire_helpdesk"
    verbose_name = "Help desk"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
        from .notification_types import register_types

        register_types()
