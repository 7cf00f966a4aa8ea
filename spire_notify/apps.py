from django.apps import AppConfig


class SpireNotifyConfig(AppConfig):
    name = "spire_notify"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
