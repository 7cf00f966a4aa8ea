from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

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


@register(Tags.compatibility)
def check_channels(app_configs=None, **kwargs):
    from spire_notify import conf

    from .services.notification_service import HelpDeskTicketNotificationService

    configured = conf.backend_settings()
    if not isinstance(configured, dict):
        return []  # spire_notify.E001 says what is wrong with it
    missing = sorted(HelpDeskTicketNotificationService.channels() - set(configured))
    return [
        Warning(
            f"NOTIFY_BACKENDS has no {channel!r} channel, so help desk notifications meant "
            f"for it are not sent.",
            hint=f"Configure NOTIFY_BACKENDS[{channel!r}], or accept that nobody is notified on it.",
            id="spire_helpdesk.W001",
        )
        for channel in missing
    ]
