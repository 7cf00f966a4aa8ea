from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class SpireNotifyConfig(AppConfig):
    name = "spire_notify"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The system checks register on import; the worker's task module answers the store's
        # requests for delivery (spire_notify.store.enqueue) by enqueueing its task.
        from spire_notify import checks  # noqa: F401
        from spire_notify.notifier import checks as notifier_checks  # noqa: F401
        from spire_notify.worker import tasks  # noqa: F401

        # Each installed app's Notifiers declare their types as their classes are created, as
        # admin.py registers models: nothing goes in ready().
        autodiscover_modules("notifiers")
