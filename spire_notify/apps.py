from django.apps import AppConfig


class SpireNotifyConfig(AppConfig):
    name = "spire_notify"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The system checks register on import; the worker's task module answers the store's
        # requests for delivery (spire_notify.store.enqueue) by enqueueing its task.
        from spire_notify import checks  # noqa: F401
        from spire_notify.worker import tasks  # noqa: F401
