from django.apps import AppConfig


class SpireNotifyConfig(AppConfig):
    name = "spire_notify"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers the system checks and the live inbox's checks; the live inbox listens for
        # notifications only while NOTIFY_LIVE_UPDATES is on.
        from spire_notify import checks, live  # noqa: F401

        live.connect_receivers()
