"""``SPIRE_HELPDESK_NOTIFICATION_SERVICE``: the class ``ticket.services.notification`` is.

A project that subclasses ``HelpDeskTicketNotificationService`` (to add a channel, an event,
recipients) names its subclass here, and every ticket event goes through it. The setting is
read at call time, so ``override_settings`` works; system checks ``spire_helpdesk.E003`` and
``E004`` report a path that cannot be used.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .notification_service import HelpDeskTicketNotificationService

SETTING = "SPIRE_HELPDESK_NOTIFICATION_SERVICE"
DEFAULT = "spire_notify.helpdesk.services.notification_service.HelpDeskTicketNotificationService"


class InvalidNotificationService(ImproperlyConfigured):
    """The setting names no usable class; ``check_id`` is the system check that reports it."""

    def __init__(self, message, *, check_id):
        super().__init__(message)
        self.check_id = check_id


def notification_service_class():
    """The configured notification service class; raises ``InvalidNotificationService``."""
    path = getattr(settings, "SPIRE_HELPDESK_NOTIFICATION_SERVICE", DEFAULT)
    try:
        service_class = import_string(path)
    except ImportError as error:
        raise InvalidNotificationService(
            f"{SETTING} = {path!r} cannot be imported: {error}", check_id="E003"
        ) from error
    if not (isinstance(service_class, type) and issubclass(service_class, HelpDeskTicketNotificationService)):
        raise InvalidNotificationService(
            f"{SETTING} = {path!r} is not a subclass of HelpDeskTicketNotificationService.", check_id="E004"
        )
    return service_class
