"""System checks of the help desk: IDs ``spire_helpdesk.*``, each listed in docs/reference.md."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.urls import NoReverseMatch, reverse

from .recipients import admin_address
from .services.notification_setting import InvalidNotificationService, notification_service_class

ADMINS_HINT = 'List addresses: ADMINS = ["dev@example.com"].'


@register(Tags.compatibility)
def check_admins(app_configs=None, **kwargs):
    """Developers are found by their address in ADMINS: a malformed entry silently drops one."""
    admins = getattr(settings, "ADMINS", [])
    if not isinstance(admins, (list, tuple)):
        # A bare string would be read character by character, and match nobody.
        return [
            Error(
                f"ADMINS is {admins!r}, which is not a list; no developer gets help desk notifications.",
                hint=ADMINS_HINT,
                id="spire_helpdesk.E002",
            )
        ]
    errors = []
    for index, entry in enumerate(admins):
        if not _is_valid_address(admin_address(entry)):
            errors.append(
                Error(
                    f"ADMINS[{index}] is {entry!r}, which is neither an email address nor a "
                    "(name, address) pair; that developer gets no help desk notifications.",
                    hint=ADMINS_HINT,
                    id="spire_helpdesk.E001",
                )
            )
    return errors


def _is_valid_address(address):
    if address is None:
        return False
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


NOTIFICATION_SERVICE_HINTS = {
    "E003": "Check the dotted path and that its module imports, or remove the setting.",
    "E004": "Subclass spire_notify.helpdesk.services.notification_service.HelpDeskTicketNotificationService.",
}


@register(Tags.compatibility)
def check_notification_service(app_configs=None, **kwargs):
    """Every ticket event goes through this class: a wrong path fails at the first ticket."""
    try:
        notification_service_class()
    except InvalidNotificationService as error:
        return [
            Error(
                str(error),
                hint=NOTIFICATION_SERVICE_HINTS[error.check_id],
                id=f"spire_helpdesk.{error.check_id}",
            )
        ]
    return []


@register(Tags.compatibility)
def check_channels(app_configs=None, **kwargs):
    """The channels of the configured notification service that NOTIFY_BACKENDS lacks."""
    from spire_notify import conf

    configured = conf.backend_settings()
    if not isinstance(configured, dict):
        return []  # spire_notify.E001 says what is wrong with it
    try:
        service_class = notification_service_class()
    except InvalidNotificationService:
        return []  # check_notification_service says what is wrong with it
    missing = sorted(service_class.channels() - set(configured))
    return [
        Warning(
            f"NOTIFY_BACKENDS has no {channel!r} channel, so help desk notifications meant "
            f"for it are not sent.",
            hint=f"Configure NOTIFY_BACKENDS[{channel!r}], or accept that nobody is notified on it.",
            id="spire_helpdesk.W001",
        )
        for channel in missing
    ]


@register(Tags.urls)
def check_urls_included(app_configs=None, **kwargs):
    """Every notification links to its ticket's page: without the help desk's URLs, creating a
    ticket fails (``NoReverseMatch``) and rolls the ticket back."""
    try:
        reverse("spire_helpdesk:ticket_detail", args=[1])
    except NoReverseMatch:
        return [
            Warning(
                "The help desk's URLs are not included in ROOT_URLCONF, so creating a ticket fails: "
                "its notifications link to the ticket's page.",
                hint='Add path("help_desk/", include("spire_notify.helpdesk.urls")) to your urlpatterns.',
                id="spire_helpdesk.W002",
            )
        ]
    return []
