"""System checks of the help desk: IDs ``spire_helpdesk.*``, each listed in docs/reference.md."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.urls import NoReverseMatch, reverse

from .recipients import admin_address

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


# A setting the help desk no longer reads: its Notifiers decide who hears of a ticket now.
RETIRED_SERVICE_SETTING = "SPIRE_HELPDESK_NOTIFICATION_SERVICE"
NOTIFIER_OF_EVENT = (
    ("new tickets", "helpdesk.ticket.new", "TicketCreated"),
    ("status changes", "helpdesk.ticket.update", "TicketStatusChanged"),
    ("comments", "helpdesk.ticket.comment", "TicketCommented"),
)


@register(Tags.compatibility)
def check_notification_service_setting(app_configs=None, **kwargs):
    """A project that set the service class meant to change who hears of tickets, on which
    channels: ignoring it silently would notify others than it chose."""
    if not hasattr(settings, RETIRED_SERVICE_SETTING):
        return []
    path = getattr(settings, RETIRED_SERVICE_SETTING)
    notifiers = ", ".join(f"{name} ({what}, {key!r})" for what, key, name in NOTIFIER_OF_EVENT)
    return [
        Error(
            f"{RETIRED_SERVICE_SETTING} = {path!r} is no longer read: the help desk's Notifiers "
            "decide who hears of a ticket, on which channels and when, and a subclass of "
            "HelpDeskTicketNotificationService changes none of it.",
            hint=f"Subclass the Notifier of the event in spire_notify.helpdesk.notifiers: {notifiers}; "
            'name the subclass in NOTIFY_NOTIFIERS = {"helpdesk.ticket.new": '
            '"myproject.notifiers.OurTicketCreated"}, and remove '
            f"{RETIRED_SERVICE_SETTING}.",
            id="spire_helpdesk.E005",
        )
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
